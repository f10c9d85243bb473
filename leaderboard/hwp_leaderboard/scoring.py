"""Scoring a validated submission against the hidden ground truth.

Per frame the registered protocol's ``score_frame(pred_color, pred_alpha, frame)`` gives a dict
of metrics; per capture they are averaged over frames; the split's figure is the mean over its
captures (the paper's Table III convention), and each perturbation column is the mean over the
captures that carry that tag (Table V). Only these aggregates are stored and shown: per-frame
scores on the hidden clip would make probing the ground truth cheaper than the quota intends.
"""

from __future__ import annotations

import collections
import math
import os
import time
from collections.abc import Callable

import numpy as np

from hwp_bench.data import Frame
from hwp_leaderboard.archive import ArchiveIndex, iter_renders
from hwp_leaderboard.errors import SubmissionError
from hwp_leaderboard.groundtruth import GroundTruth
from hwp_leaderboard.limits import DEFAULT_LIMITS, Limits

FrameScorer = Callable[[np.ndarray, np.ndarray | None, Frame], dict[str, float]]
ScorerFactory = Callable[[str], FrameScorer]

PSNR_CAP = 100.0  # a render identical to the ground truth has infinite PSNR; JSON has no inf


def protocol_scorer(protocol_id: str) -> FrameScorer:
    """The registered evaluation protocol's per-frame scorer (``hwp_bench.metrics``)."""
    from hwp_bench.metrics import get_protocol  # type: ignore[attr-defined]

    return get_protocol(protocol_id).score_frame


def registered_protocols() -> tuple[str, ...]:
    try:
        from hwp_bench.metrics import list_protocols  # type: ignore[attr-defined]

        return tuple(list_protocols())
    except ImportError:
        return ("hwp-v1", "hwp-v2", "hwp-v3", "wildghand-paper")


def _clean(metrics: dict[str, float]) -> dict[str, float]:
    out = {}
    for k, v in metrics.items():
        if k == "silhouette_missing":  # a note, not a metric (counted separately)
            continue
        v = float(v)
        if math.isinf(v) and v > 0 and k.startswith("psnr"):
            v = PSNR_CAP
        if not math.isfinite(v):
            raise RuntimeError(f"protocol returned a non-finite {k}")
        out[str(k)] = v
    return out


def _plain_mean(values: list[float]) -> float:
    return float(math.fsum(values) / len(values))


def _mean(dicts: list[dict[str, float]], capture_mean: Callable = _plain_mean) -> dict[str, float]:
    keys = sorted({k for d in dicts for k in d})
    return {k: float(capture_mean([d[k] for d in dicts if k in d])) for k in keys}


def _unscorable(protocol, gt: dict[str, dict[int, Frame]]) -> set[tuple[str, int]]:
    """(capture, index) of the hidden test frames ``protocol`` cannot score
    (``hwp_bench.metrics.protocols.split_scorable``); none for a scorer that is not a
    registered protocol."""
    if protocol is None or not callable(getattr(protocol, "check_frame", None)):
        return set()
    from hwp_bench.metrics.protocols import split_scorable

    out: set[tuple[str, int]] = set()
    for cap, frames in gt.items():
        _, left_out = split_scorable(protocol, list(frames.values()))
        out.update((cap, int(i)) for i in left_out)
    return out


def score_archive(
    path: str | os.PathLike,
    index: ArchiveIndex,
    ground_truth: GroundTruth,
    scorer: FrameScorer,
    *,
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Score every frame of ``index`` and return the aggregate record stored with the submission.

    Raises :class:`SubmissionError` for problems in the submission (an image that does not
    decode, a frame that is not in the split); anything else is an internal error.
    """
    # A protocol's own per-capture aggregation (wildghand-paper rounds capture means to 3
    # decimals) when the scorer is a registered protocol's bound ``score_frame``.
    capture_mean = getattr(getattr(scorer, "__self__", None), "capture_mean", None) or _plain_mean
    split = index.manifest.split
    spec = ground_truth.spec(split)
    gt = {cap: {int(f.index): f for f in ground_truth.frames(cap)} for cap in spec.captures}
    per_capture: dict[str, list[dict[str, float]]] = {cap: [] for cap in spec.captures}
    tags: dict[str, list[str]] = {}
    total = spec.num_frames
    done = 0
    no_silhouette = 0
    t0 = time.perf_counter()
    order: collections.deque = collections.deque()  # (capture, frame) of each scored item

    protocol = getattr(scorer, "__self__", None)
    unscored = _unscorable(protocol, gt)

    def frames_to_score():  # noqa: ANN202 - decodes lazily, as the scorer asks for frames
        nonlocal done
        for cap, idx, color, alpha in iter_renders(path, index, spec, limits=limits):
            frame = gt.get(cap, {}).get(idx)
            if frame is None:
                raise SubmissionError("unexpected-frames", f"{cap}/{idx} is not a test frame")
            if (cap, idx) in unscored:  # decoded (it must be there and valid), not scored
                done += 1
                continue
            order.append((cap, frame))
            yield color, alpha, frame, None

    if callable(getattr(protocol, "score_frames", None)) and scorer == protocol.score_frame:
        # A registered protocol: chunks of frames on every core (hwp_bench.metrics.parallel).
        from hwp_bench.metrics.parallel import iter_scores

        scored = iter_scores(protocol, frames_to_score(), total=total)
    else:  # any other per-frame scorer (tests' reference scorers)
        scored = (scorer(c, a, f) for c, a, f, _ in frames_to_score())
    for raw in scored:
        cap, frame = order.popleft()
        no_silhouette += int(bool(raw.get("silhouette_missing", 0.0)))
        per_capture[cap].append(_clean(raw))
        tags.setdefault(cap, list(frame.tags))
        done += 1
        if progress is not None:
            progress(done, total)
    if done != total:
        raise SubmissionError("missing-frames", f"scored {done} of {total} test frames")
    captures = {
        cap: {**_mean(v, capture_mean), "num_frames": len(v)}
        for cap, v in per_capture.items()
        if v  # a capture whose every test frame is unscorable has no figure
    }
    metric_keys = sorted({k for v in per_capture.values() for d in v for k in d})
    means = {
        k: float(np.mean([captures[c][k] for c in captures if k in captures[c]]))
        for k in metric_keys
    }
    by_tag: dict[str, dict[str, float]] = {}
    for tag in sorted({t for ts in tags.values() for t in ts}):
        caps = [c for c in captures if tag in tags.get(c, [])]
        by_tag[tag] = {
            **{k: float(np.mean([captures[c][k] for c in caps])) for k in metric_keys},
            "num_captures": len(caps),
        }
    return {
        "split": split,
        "protocol": index.manifest.protocol,
        "test_poses": index.manifest.test_poses,
        "dataset_id": ground_truth.dataset_id,
        "dataset_revision": ground_truth.dataset_revision,
        "metrics": means,
        "captures": captures,
        "tags": by_tag,
        "num_frames": done,
        "frames_without_silhouette": no_silhouette,
        # Test frames the protocol cannot score (no hand pixel in the ground truth): the same
        # for every submission, so left out rather than failing the split; counts per capture
        # only (which frames they are stays hidden, like every per-frame figure).
        "unscored_frames": dict(sorted(collections.Counter(c for c, _ in unscored).items())),
        "scoring_time_s": time.perf_counter() - t0,
    }
