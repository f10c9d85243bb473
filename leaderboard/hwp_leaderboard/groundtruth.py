"""Where the server's hidden ground truth comes from.

The scorer only needs, per split, the test frames of each capture (image, mask, camera, hands,
tags). :class:`DatasetGroundTruth` reads them with ``hwp_bench.data.load_frames`` from the full
dataset the server holds; :class:`FramesGroundTruth` wraps frames built in memory (tests,
benchmarks). Both derive the public :class:`SplitSpec` (indices and image sizes, no pixels),
with the hand parameters of their test-pose track (default: the aligned ones, computed from the
hidden masks once and cached; docs/tracks.md).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Protocol

from hwp_bench.data import Frame
from hwp_bench.metrics.conventions import DEFAULT_TRACK
from hwp_leaderboard.spec import SplitSpec

# Used only when hwp_bench.data.captures_for is not available (paper Table II).
FALLBACK_SPLITS = {
    "single": [f"capture{i:02d}" for i in range(0, 4)],
    "inter": [f"capture{i:02d}" for i in range(4, 11)],
}


def split_captures(split: str) -> list[str]:
    """Captures of a split, from the data package when it is there."""
    try:
        from hwp_bench.data import captures_for  # type: ignore[attr-defined]
    except ImportError:
        return list(FALLBACK_SPLITS[split])
    return list(captures_for(split))


class GroundTruth(Protocol):
    dataset_id: str
    dataset_revision: str | None

    def splits(self) -> list[str]: ...

    def frames(self, capture: str) -> list[Frame]: ...

    def spec(self, split: str) -> SplitSpec: ...


class _SpecMixin:
    dataset_id: str
    dataset_revision: str | None
    test_poses: str = DEFAULT_TRACK
    _splits: Mapping[str, Sequence[str]]

    def splits(self) -> list[str]:
        return list(self._splits)

    def captures(self, split: str) -> list[str]:
        return list(self._splits[split])

    def spec(self, split: str) -> SplitSpec:
        if split not in self._splits:
            raise KeyError(split)
        cached = self.__dict__.get("_spec_cache", {}).get(split)
        if cached is not None:
            return cached
        captures = list(self._splits[split])
        frames = {
            cap: {int(f.index): (f.height, f.width) for f in self.frames(cap)} for cap in captures
        }
        spec = SplitSpec(
            split=split,
            frames=frames,
            dataset_id=self.dataset_id,
            dataset_revision=self.dataset_revision,
            test_poses=self.test_poses,
            hands_loader=lambda: self._track_hands(captures),
        )
        self.__dict__.setdefault("_spec_cache", {})[split] = spec
        return spec

    def _track_hands(self, captures: Sequence[str]) -> dict:
        """The test-pose track's parameters of every test frame (JSON-ready lists)."""
        from hwp_bench.tracks import track_hands

        out = {}
        for cap in captures:
            per = track_hands(self.frames(cap), self.test_poses)
            out[cap] = {
                index: {
                    side: {
                        "pose": [float(v) for v in hp.pose],
                        "shape": [float(v) for v in hp.shape],
                        "trans": [float(v) for v in hp.trans],
                    }
                    for side, hp in sorted(sides.items())
                }
                for (_, index), sides in sorted(per.items())
            }
        return out

    def frames(self, capture: str) -> list[Frame]:  # pragma: no cover - abstract
        raise NotImplementedError


class FramesGroundTruth(_SpecMixin):
    """Ground truth held in memory: ``{capture: [Frame, ...]}`` and ``{split: [captures]}``."""

    def __init__(
        self,
        frames: Mapping[str, Sequence[Frame]],
        splits: Mapping[str, Sequence[str]],
        *,
        dataset_id: str = "in-memory",
        dataset_revision: str | None = None,
        test_poses: str = DEFAULT_TRACK,
    ) -> None:
        self._frames = {k: list(v) for k, v in frames.items()}
        self._splits = {k: list(v) for k, v in splits.items()}
        self.dataset_id = dataset_id
        self.dataset_revision = dataset_revision
        self.test_poses = test_poses

    def frames(self, capture: str) -> list[Frame]:
        return self._frames[capture]


class DatasetGroundTruth(_SpecMixin):
    """Test frames read from a dataset (name or folder) with ``hwp_bench.data.load_frames``.

    Frames are loaded on first use and kept (one capture's test clip is small: about 150
    frames); a lock makes concurrent first uses load once.
    """

    def __init__(
        self,
        source: str,
        *,
        splits: Sequence[str] = ("single", "inter"),
        dataset_id: str | None = None,
        dataset_revision: str | None = None,
        test_poses: str = DEFAULT_TRACK,
    ) -> None:
        self.source = source
        self.test_poses = test_poses
        self._all_splits = tuple(splits)
        self._splits_cache: dict[str, list[str]] | None = None
        self.dataset_id = dataset_id or str(source)
        self.dataset_revision = dataset_revision
        self._cache: dict[str, list[Frame]] = {}
        self._lock = threading.Lock()

    @property
    def _splits(self) -> dict[str, list[str]]:  # type: ignore[override]
        """Each split's captures that the dataset folder holds (a partial folder is fine)."""
        if self._splits_cache is None:
            from hwp_bench.data.layout import read_captures
            from hwp_bench.data.loading import resolve

            present = set(read_captures(resolve(self.source)))
            splits = {s: [c for c in split_captures(s) if c in present] for s in self._all_splits}
            self._splits_cache = {s: caps for s, caps in splits.items() if caps}
        return self._splits_cache

    def frames(self, capture: str) -> list[Frame]:
        with self._lock:
            if capture not in self._cache:
                from hwp_bench.data import load_frames  # type: ignore[attr-defined]

                self._cache[capture] = list(load_frames(self.source, capture, "test"))
            return self._cache[capture]
