"""Test-pose tracks: which hand parameters a method renders the test frames from.

A method renders each test frame from the frame's camera and hand parameters. Where those
parameters come from decides what a score measures, so it is chosen per run
(``hwp-bench run --test-poses``) and recorded in every result file, table caption and
leaderboard entry:

* ``estimated``: the parameters stored in the dataset (HWP: the OmniHands estimator; HWP-Synth:
  the exact ones plus estimator-like noise). The pose error is part of the score.
* ``aligned`` (default): the dataset's parameters refined by :mod:`hwp_bench.tracks.align`
  against each test frame's hand mask (global rotation, translation, finger pose and shape, with
  a prior towards the estimate), computed once per dataset and cached
  (:mod:`hwp_bench.tracks.cache`): identical for every method. Methods never see test pixels:
  the toolkit reads the mask, the method gets parameters. Works on real HWP too.
* ``exact``: the noise-free parameters; synthetic data only (the pose oracle, an upper bound).

A dataset folder may also *publish* a track's parameters in ``test_poses/<track>.json``: the
leaderboard's public copy (test pixels and masks withheld) carries the aligned parameters the
server computed from the hidden masks, so ``--test-poses aligned`` works on it too.

Guide: docs/tracks.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hwp_bench.data.frame import Frame, HandParams
from hwp_bench.metrics.conventions import DEFAULT_TRACK, LEGACY_TRACK, TRACKS

__all__ = [
    "DEFAULT_TRACK",
    "LEGACY_TRACK",
    "TRACKS",
    "TrackError",
    "check_track",
    "frames_for_track",
    "hands_digest",
    "published_hands",
    "track_hands",
    "track_producer",
    "write_published",
]

PUBLISHED_DIR = "test_poses"
PUBLISHED_SCHEMA = "hwp-bench-test-poses"
_MAX_PUBLISHED_BYTES = 256 * 1024**2


class TrackError(ValueError):
    """An unknown track, or a track the data cannot provide (the message says which)."""


def check_track(track: str) -> str:
    """``track`` if it is a known test-pose track, else a one-line :class:`TrackError`."""
    if track not in TRACKS:
        raise TrackError(f"unknown test-pose track {track!r}: choose one of {', '.join(TRACKS)}")
    return track


def track_producer(track: str) -> str | None:
    """What makes a track's parameters besides the dataset, as a short id: for ``aligned`` the
    aligner's version and configuration (``aligner-v4-<digest>``), None for the others.

    Result files record it (``dataset.test_poses_producer``) and a finished job counts as done
    only while it is unchanged: a new aligner makes new test poses, so its results are redone
    (re-rendered from the final checkpoint and rescored, never refitted). It is known without
    the dataset, so a rerun of a finished split stays a matter of reading result files.
    """
    check_track(track)
    if track != "aligned":
        return None
    from hwp_bench.io.canonical import canonical_hash
    from hwp_bench.tracks.align import ALIGNER_VERSION, AlignConfig

    return f"aligner-v{ALIGNER_VERSION}-{canonical_hash(AlignConfig().to_dict())[:12]}"


def _exact(frame: Frame) -> dict[str, HandParams] | None:
    exact = (frame.annotations or {}).get("exact_hands")
    if not exact or set(exact) != set(frame.hands):
        return None
    return dict(exact)


def _hand_json(hp: HandParams) -> dict[str, list[float]]:
    return {
        "pose": [float(v) for v in np.asarray(hp.pose, np.float32)],
        "shape": [float(v) for v in np.asarray(hp.shape, np.float32)],
        "trans": [float(v) for v in np.asarray(hp.trans, np.float32)],
    }


def write_published(
    folder: str | os.PathLike, track: str, hands: dict[tuple[str, int], dict[str, HandParams]]
) -> Path:
    """Publish ``hands`` (keyed like :func:`track_hands`) as ``<folder>/test_poses/<track>.json``."""
    from hwp_bench.io import atomic_write_json

    check_track(track)
    captures: dict[str, dict[str, dict]] = {}
    for (capture, index), sides in sorted(hands.items()):
        captures.setdefault(capture, {})[str(int(index))] = {
            side: _hand_json(hp) for side, hp in sorted(sides.items())
        }
    path = Path(folder) / PUBLISHED_DIR / f"{track}.json"
    return atomic_write_json(
        path, {"schema": PUBLISHED_SCHEMA, "track": track, "captures": captures}
    )


def published_hands(
    folder: str | os.PathLike | None, track: str
) -> dict[tuple[str, int], dict[str, HandParams]] | None:
    """The parameters a dataset folder publishes for ``track`` (None when it publishes none).

    The file is checked before use (schema, track, 48/10/3 finite numbers per hand); a file
    that fails is a :class:`TrackError` naming it, never silently ignored.
    """
    if folder is None:
        return None
    path = Path(folder) / PUBLISHED_DIR / f"{track}.json"
    if not path.is_file():
        return None
    try:
        if path.stat().st_size > _MAX_PUBLISHED_BYTES:
            raise ValueError("too large")
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.get("schema") != PUBLISHED_SCHEMA or body.get("track") != track:
            raise ValueError(f"not a {PUBLISHED_SCHEMA} file for track {track!r}")
        out = {}
        for capture, per in body["captures"].items():
            for index, sides in per.items():
                hands = {}
                for side, h in sides.items():
                    if side not in ("right", "left"):
                        raise ValueError(f"unknown hand side {side!r}")
                    arrs = [np.asarray(h[k], dtype=np.float64) for k in ("pose", "shape", "trans")]
                    if [a.shape for a in arrs] != [(48,), (10,), (3,)] or not all(
                        np.isfinite(a).all() for a in arrs
                    ):
                        raise ValueError(f"{capture}/{index} {side}: bad parameter arrays")
                    hands[side] = HandParams(*arrs)
                out[(str(capture), int(index))] = hands
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TrackError(f"{path}: unreadable published test poses ({exc})") from None
    return out


def track_hands(
    frames: Sequence[Frame],
    track: str,
    *,
    progress: bool = False,
    folder: str | os.PathLike | None = None,
    align_config=None,
) -> dict[tuple[str, int], dict[str, HandParams]]:
    """The hand parameters of ``frames`` on ``track``, keyed by ``(capture, index)``.

    ``exact`` on frames without exact parameters (real data) raises :class:`TrackError`;
    ``aligned`` reads the frames' masks (computed once, then cached), or, for frames without
    masks, the parameters the dataset ``folder`` publishes (:func:`published_hands`).
    ``align_config`` (an :class:`~hwp_bench.tracks.align.AlignConfig`) replaces the default
    aligner for ``aligned`` (the validity table's ``--no-aligner-edges``; runs use the default).
    """
    check_track(track)
    frames = list(frames)
    if track == "estimated":
        return {(f.capture, int(f.index)): dict(f.hands) for f in frames}
    if track == "exact":
        out = {}
        for f in frames:
            ex = _exact(f)
            if ex is None:
                raise TrackError(
                    f"test-pose track 'exact' needs the noise-free hand parameters of synthetic "
                    f"data, and {f.capture} frame {f.index} has none: choose one of "
                    f"{', '.join(t for t in TRACKS if t != 'exact')}"
                )
            out[(f.capture, int(f.index))] = ex
        return out
    from hwp_bench.tracks.cache import aligned_frames

    out = {}
    published = None
    for capture in sorted({f.capture for f in frames}):
        group = [f for f in frames if f.capture == capture]
        missing = [f.index for f in group if f.mask is None]
        if missing and published is None:
            published = published_hands(folder, track) or {}
        if missing and all((f.capture, int(f.index)) in published for f in group):
            for f in group:
                out[(f.capture, int(f.index))] = published[(f.capture, int(f.index))]
            continue
        if missing:
            raise TrackError(
                f"test-pose track 'aligned' needs the test frames' hand masks, and {capture} "
                f"frame {missing[0]} has none (a public copy without test pixels?): use the "
                "full dataset, or the aligned parameters the leaderboard's test spec publishes"
            )
        for index, a in aligned_frames(group, config=align_config, progress=progress).items():
            out[(capture, index)] = a.hands
    return out


def frames_for_track(
    frames: Sequence[Frame],
    track: str,
    *,
    progress: bool = False,
    folder: str | os.PathLike | None = None,
) -> list[Frame]:
    """Copies of ``frames`` whose ``hands`` are the parameters of ``track`` (pixels untouched)."""
    hands = track_hands(frames, track, progress=progress, folder=folder)
    return [dataclasses.replace(f, hands=hands[(f.capture, int(f.index))]) for f in frames]


def hands_digest(frames: Sequence[Frame]) -> str:
    """SHA-256 of the hand parameters the frames carry (float32, in frame order): which test
    poses a result was rendered from, checkable against a recomputation."""
    h = hashlib.sha256()
    for f in sorted(frames, key=lambda f: (f.capture, int(f.index))):
        h.update(f"{f.capture}/{int(f.index)}".encode())
        for side in sorted(f.hands):
            hp = f.hands[side]
            h.update(side.encode())
            for arr in (hp.pose, hp.shape, hp.trans):
                h.update(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
    return h.hexdigest()
