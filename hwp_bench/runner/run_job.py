"""Run one job: fit, render and score a method on one (capture, seed), resumably.

One :class:`Job` is one (method, preset, config, dataset, capture, seed). :func:`run_job` does
all of its work in the calling process and is what every executor runs (local processes, Ray
workers, or inline). Its output lives under ``<out>/<run>/`` where ``<run>`` names the method,
preset, dataset, seed and the config hash::

    run.json                                   what this run is (method, config, hash, dataset)
    logs/<capture>.log                         per-job log (losses, checkpoints, errors)
    checkpoints/<capture>/                     method.save() + runner_state.json (step)
    renders/<track>/<capture>/<index:05d>.npy|.png|.alpha.npy
    status/<capture>.<track>.renders.json      the render folder is complete (timings, digest)
    status/<capture>.failed.json               the last failure, with its traceback
    results/<capture>.<protocol>.<track>.json  the result file (docs/design.md: 'Result file')

``<track>`` is the test-pose track (:mod:`hwp_bench.tracks`): which hand parameters the test
frames are rendered from. Fitting does not depend on it, so a second track only re-renders
and re-scores. Folders from before tracks (``renders/<capture>/``, ``results/<capture>.
<protocol>.json``) are read as the ``estimated`` track.

Idempotence falls out of that layout: a job whose result file exists is skipped; one whose
renders are complete is only re-scored (a new protocol costs no fitting, a new track no
fitting either); one whose final
checkpoint exists is only rendered; one with a partial checkpoint resumes training from the
saved step. Every file is written atomically, so a killed job leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import logging
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from hwp_bench.io import atomic_write_json
from hwp_bench.runner.diagnostics import save_diagnostics
from hwp_bench.runner.fit_loop import fit_method
from hwp_bench.runner.frames import load_split
from hwp_bench.runner.job import Job, dataset_id, job_is_done, read_json
from hwp_bench.runner.locking import job_lock
from hwp_bench.runner.scoring import score_job
from hwp_bench.tracks import frames_for_track, hands_digest


class UnsupportedCapture(Exception):
    """The method does not handle this capture's hand type (reported, not a failure)."""


def _job_logger(job: Job, run_dir: Path) -> logging.Logger:
    log_dir = run_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"hwp_bench.runner.{run_dir.name}.{job.capture}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    handler = logging.FileHandler(log_dir / f"{job.capture}.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    return logger


def _write_run_json(job: Job, run_dir: Path, config: dict, chash: str, info) -> None:
    path = run_dir / "run.json"
    if path.is_file():
        return
    body = {
        "run": run_dir.name,
        "method": info.to_dict(),
        "preset": job.preset,
        "overrides": list(job.overrides),
        "config": config,
        "config_hash": chash,
        "dataset": dataset_id(job.dataset),
        "seed": job.seed,
    }
    with contextlib.suppress(FileExistsError):
        atomic_write_json(path, body)


def run_job(job: Job) -> dict[str, Any]:
    """Do (or finish, or skip) one job; never raises: the outcome says what happened."""
    t0 = time.perf_counter()
    outcome: dict[str, Any] = {"method": job.method, "capture": job.capture, "seed": job.seed}
    try:
        run_dir = job.run_dir()
    except Exception as exc:  # unknown method, bad override: nothing to log into
        return {**outcome, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    outcome.update(run=run_dir.name, result=str(job.existing_result_path()))
    if job_is_done(job):
        return {**outcome, "status": "skipped", "seconds": time.perf_counter() - t0}
    with job_lock(run_dir, job.capture) as locked:
        if not locked:
            return {
                **outcome,
                "status": "failed",
                "error": "another process is running this job right now (its lock is held); "
                "wait for it or stop it, then rerun",
                "seconds": time.perf_counter() - t0,
            }
        outcome = _run_locked(job, run_dir, outcome)
    outcome["seconds"] = time.perf_counter() - t0
    return outcome


def _run_locked(job: Job, run_dir: Path, outcome: dict[str, Any]) -> dict[str, Any]:
    outcome = dict(outcome)
    if job_is_done(job):  # finished by another process while we waited to start
        return {**outcome, "status": "skipped"}
    logger = _job_logger(job, run_dir)
    failed_marker = run_dir / "status" / f"{job.capture}.failed.json"
    try:
        details = _run_job_body(job, run_dir, logger)
        with contextlib.suppress(FileNotFoundError):
            failed_marker.unlink()
        outcome.update(status="done", **details)
    except UnsupportedCapture as exc:
        logger.info("unsupported: %s", exc)
        outcome.update(status="unsupported", error=str(exc))
    except Exception as exc:
        tb = traceback.format_exc()
        logger.error("failed: %s\n%s", exc, tb)
        atomic_write_json(
            failed_marker,
            {"error": f"{type(exc).__name__}: {exc}", "traceback": tb, "time": time.time()},
        )
        outcome.update(status="failed", error=f"{type(exc).__name__}: {exc}", log=_log_path(job))
    finally:
        for h in list(logger.handlers):
            logger.removeHandler(h)
            h.close()
    return outcome


def _log_path(job: Job) -> str:
    return str(job.run_dir() / "logs" / f"{job.capture}.log")


def _set_threads(n: int) -> None:
    """The job's thread budget for torch and for numpy/scipy's BLAS: a BLAS pool sized for the
    whole machine spins beside the other jobs on the same cores (the aligner ran 1.6x slower)."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(max(1, int(n)))
    threadpool_limits(limits=max(1, int(n)), user_api="blas")


def _run_job_body(job: Job, run_dir: Path, logger: logging.Logger) -> dict[str, Any]:
    from hwp_bench.metrics.protocols import get_protocol, split_scorable
    from hwp_bench.runner.checkpoint import clean_stale, find_checkpoint

    _set_threads(job.threads)
    cls = job.method_class()
    info = cls.method_info()
    config = job.config()
    chash = job.config_hash()
    _write_run_json(job, run_dir, config, chash, info)
    logger.info(
        "job %s %s seed %d on %s (config %s)", job.method, job.capture, job.seed, job.dataset, chash
    )

    test_frames = sorted(load_split(job, "test"), key=lambda f: f.index)
    if not test_frames:
        raise RuntimeError(f"{job.capture} of {job.dataset} has no test frames")
    hand_type = test_frames[0].hand_type
    if hand_type not in info.hand_types:
        raise UnsupportedCapture(
            f"{job.method} supports {'/'.join(info.hand_types)} hands, {job.capture} is {hand_type}"
        )
    # Frames whose ground truth has nothing to score (a video frame the hands left) are
    # rendered but not scored, and listed in the result; with none left, stop before the fit.
    scorable, unscored = split_scorable(get_protocol(job.protocol), test_frames)
    if not scorable:
        first = next(iter(unscored.values()))
        raise RuntimeError(
            f"none of the {len(test_frames)} test frames of {job.capture} can be scored with "
            f"{job.protocol} (e.g. {first}): choose test frames where the hand is visible"
        )
    if unscored:
        logger.warning(
            "%d of %d test frames have nothing to score and are left out: %s",
            len(unscored),
            len(test_frames),
            sorted(unscored),
        )
    # The test frames as this job's track poses them (pixels untouched, hands replaced).
    folder = job.dataset_path or (job.dataset if Path(job.dataset).is_dir() else None)
    test_frames = frames_for_track(test_frames, job.test_poses, folder=folder)
    poses_digest = hands_digest(test_frames)

    renders_dir, render_marker = job.renders_dir(), job.render_marker()
    ckpt_dir = run_dir / "checkpoints" / job.capture
    details: dict[str, Any] = {}

    render_info = read_json(render_marker)
    legacy = job.legacy_renders()
    if render_info is None and legacy is not None:
        old = read_json(legacy[1])  # a run from before tracks: its renders are this track's
        if old is not None and old.get("count") == len(test_frames):
            renders_dir, render_info = legacy[0], {**old, "test_poses_sha256": poses_digest}
    if (
        render_info is None
        or render_info.get("count") != len(test_frames)
        or render_info.get("test_poses_sha256") != poses_digest
    ):
        clean_stale(ckpt_dir)
        found = find_checkpoint(ckpt_dir)
        if found is not None and found[1].get("complete"):
            logger.info("final checkpoint found: rendering only")
            method = cls(config=config, checkpoint=found[0])
            fit_info = found[1]
        else:
            method, fit_info = fit_method(job, cls, config, ckpt_dir, found, logger)
        details["resumed_from_step"] = fit_info.get("resumed_from_step")
        render_info = _render_all(job, method, test_frames, renders_dir, logger)
        render_info["fit"] = {
            k: fit_info.get(k) for k in ("fit_seconds", "iterations", "resumed_from_step")
        }
        render_info["test_poses"] = job.test_poses
        render_info["test_poses_sha256"] = poses_digest
        atomic_write_json(render_marker, render_info)
    else:
        logger.info("renders complete: scoring only")

    scored = [f for f in test_frames if int(f.index) not in unscored]
    result = score_job(
        job, info, config, chash, scored, renders_dir, render_info, logger, unscored=unscored
    )
    details["means"] = result["means"]
    return details


def _render_all(job, method, test_frames, renders_dir, logger) -> dict[str, Any]:
    from tqdm.auto import tqdm

    from hwp_bench.runner.renders import as_alpha, as_color, write_frame

    seconds = []
    for frame in tqdm(
        test_frames,
        desc=f"render {job.capture}",
        disable=not job.progress,
        position=job.progress_position,
        leave=job.progress_position is None,
    ):
        t = time.perf_counter()
        out = method.render(frame.without_pixels())
        seconds.append(time.perf_counter() - t)
        color = as_color(out["color"])
        if color.shape[:2] != (frame.height, frame.width):
            raise ValueError(
                f"render() returned {color.shape[:2]} for a {frame.height}x{frame.width} frame"
            )
        alpha = as_alpha(out.get("alpha"), color.shape[:2])
        write_frame(renders_dir, frame.index, color, alpha)
    logger.info("rendered %d frames, %.3f s/frame", len(seconds), float(np.median(seconds)))
    return {
        "count": len(test_frames),
        "render_seconds_per_frame": float(np.mean(seconds)),
        "diagnostics": save_diagnostics(method, job.run_dir(), job.capture, logger),
    }
