"""Score a job's saved renders with its protocol and write the result file."""

from __future__ import annotations

import contextlib

from hwp_bench.methods.config import SEED_KEY
from hwp_bench.runner.job import dataset_id, dataset_revision


def score_renders(
    protocol, test_frames, renders_dir, metrics=None
) -> tuple[dict[int, dict], str, str]:
    """Score the saved renders (as a re-scorer would read them) against the frames.

    Returns per-frame metrics keyed by frame index and the SHA-256 of predictions and ground
    truth (:mod:`hwp_bench.results.hashing`).
    """
    import torch

    from hwp_bench.metrics.parallel import iter_scores
    from hwp_bench.results import hash_ground_truth, hash_predictions
    from hwp_bench.runner.renders import read_frame

    items, to_score = [], []
    for frame in test_frames:
        color, alpha = read_frame(renders_dir, frame.index)
        items.append((frame.index, color, alpha))
        to_score.append((color, alpha, frame, None))
    # Chunks of frames on as many processes as the job has threads (1: in this process).
    scored = iter_scores(protocol, to_score, metrics=metrics, workers=torch.get_num_threads())
    per_frame = {
        int(frame.index): {k: float(v) for k, v in scores.items()}
        for frame, scores in zip(test_frames, scored, strict=True)
    }
    return per_frame, hash_predictions(items), hash_ground_truth(test_frames)


def score_job(
    job, info, config, chash, test_frames, renders_dir, render_info, logger, unscored=None
):
    """Score ``test_frames`` (the scorable ones) and write the result; ``unscored`` lists
    the test frames left out (:func:`hwp_bench.metrics.split_scorable`)."""
    from hwp_bench.metrics import get_protocol
    from hwp_bench.results import build_result, write_result

    protocol = get_protocol(job.protocol)
    per_frame, pred_sha, gt_sha = score_renders(protocol, test_frames, renders_dir, job.metrics)
    fit = render_info.get("fit") or {}
    timings = {"render_s_per_frame": render_info["render_seconds_per_frame"]}
    if fit.get("fit_seconds") is not None:
        timings["fit_s"] = fit["fit_seconds"]
    method_config = {k: v for k, v in config.items() if k != SEED_KEY}
    record = build_result(
        dataset={
            "id": dataset_id(job.dataset),
            "revision": dataset_revision(job),
            "config": job.capture,
            "capture": job.capture,
            "split": "test",
            "hand_type": test_frames[0].hand_type,
            # The test-pose track the renders were made from, and a digest of those poses.
            "test_poses": job.test_poses,
            "test_poses_sha256": render_info.get("test_poses_sha256"),
            **_producer(job.test_poses),
        },
        method={
            "id": info.id,
            "name": info.name,
            "version": info.version,
            "implementation_status": info.implementation_status,
            "preset": job.preset,
            "overrides": list(job.overrides),
            "config": method_config,
        },
        seed=job.seed,
        protocol=protocol,
        frames=per_frame,
        predictions_sha256=pred_sha,
        ground_truth_sha256=gt_sha,
        frame_tags={int(f.index): list(f.tags or []) for f in test_frames},
        frames_expected=len(test_frames),
        timings=timings,
        metrics=job.metrics,
        peak_memory=_peak_memory(),
        unscored=unscored,
        extra={
            "run": job.run_name(),
            "run_hash": chash,
            "fit_iterations": fit.get("iterations"),
            "resumed_from_step": fit.get("resumed_from_step"),
            "diagnostics": render_info.get("diagnostics", {}),
        },
    )
    write_result(job.result_path(), record)
    logger.info("scored with %s on %s: %s", job.protocol, job.test_poses, record["means"])
    return record


def _producer(track: str) -> dict[str, str]:
    """``{"test_poses_producer": ...}`` for a track made by the toolkit (aligned), else {}."""
    from hwp_bench.tracks import track_producer

    producer = track_producer(track)
    return {} if producer is None else {"test_poses_producer": producer}


def _peak_memory() -> dict[str, int]:
    """Peak resident memory of this process (one job per process locally) and of the GPU."""
    import resource

    out = {"cpu_rss_bytes": int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024}
    with contextlib.suppress(Exception):
        import torch

        if torch.cuda.is_available():
            out["gpu_bytes"] = int(torch.cuda.max_memory_allocated())
    return out
