"""What a complete submission for a split must contain: captures, frame indices, image sizes.

A :class:`SplitSpec` is public (no pixels): the server publishes it at ``/api/spec/<split>`` so
that ``hwp-bench submit check --spec`` can validate a zip exactly as the server will, and the
validator compares every archive against it (missing frames, extra frames, wrong sizes).

It also carries the hand parameters to render each test frame from: those of the test-pose
track ``test_poses`` (docs/tracks.md), by default the *aligned* ones, which the server computes
from the hand masks it keeps hidden. Parameters, never pixels.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SplitSpec:
    split: str
    # capture -> frame index -> (height, width)
    frames: dict[str, dict[int, tuple[int, int]]] = field(default_factory=dict)
    dataset_id: str | None = None
    dataset_revision: str | None = None
    test_poses: str | None = None  # the track the hand parameters below are from
    # capture -> frame index -> side -> {"pose": [48], "shape": [10], "trans": [3]}
    hands: dict[str, dict[int, dict[str, dict[str, list[float]]]]] = field(default_factory=dict)
    # Computes ``hands`` on first use (aligning poses takes seconds; validating an archive
    # against the spec needs only the frames and sizes).
    hands_loader: Callable[[], dict] | None = field(default=None, repr=False, compare=False)

    def resolved_hands(self) -> dict[str, dict[int, dict[str, dict[str, list[float]]]]]:
        """``hands``, computed by ``hands_loader`` the first time they are asked for."""
        if self.hands_loader is not None:
            self.hands = self.hands_loader()
            self.hands_loader = None
        return self.hands

    @property
    def captures(self) -> list[str]:
        return sorted(self.frames)

    @property
    def num_frames(self) -> int:
        return sum(len(v) for v in self.frames.values())

    def expected_names(self) -> dict[str, tuple[str, int, tuple[int, int]]]:
        """Zip member name -> (capture, index, (h, w)) for every frame the split needs."""
        out = {}
        for cap, idx in self.frames.items():
            for i, hw in idx.items():
                out[render_name(cap, i)] = (cap, i, hw)
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "split": self.split,
            "dataset_id": self.dataset_id,
            "dataset_revision": self.dataset_revision,
            "captures": {
                cap: {"frames": [[i, h, w] for i, (h, w) in sorted(idx.items())]}
                for cap, idx in sorted(self.frames.items())
            },
        }
        if self.test_poses is not None:
            out["test_poses"] = self.test_poses
            out["hands"] = {
                cap: {str(i): sides for i, sides in sorted(per.items())}
                for cap, per in sorted(self.resolved_hands().items())
            }
        return out

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> SplitSpec:
        frames = {
            str(cap): {int(i): (int(h), int(w)) for i, h, w in v["frames"]}
            for cap, v in obj["captures"].items()
        }
        hands = {
            str(cap): {int(i): dict(sides) for i, sides in per.items()}
            for cap, per in (obj.get("hands") or {}).items()
        }
        return cls(
            split=str(obj["split"]),
            frames=frames,
            dataset_id=obj.get("dataset_id"),
            dataset_revision=obj.get("dataset_revision"),
            test_poses=obj.get("test_poses"),
            hands=hands,
        )

    def hand_params(self, capture: str, index: int):
        """``{side: HandParams}`` to render test frame ``index`` of ``capture`` from."""
        from hwp_bench.data import HandParams

        sides = self.resolved_hands()[capture][int(index)]
        return {s: HandParams(h["pose"], h["shape"], h["trans"]) for s, h in sides.items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> SplitSpec:
        return cls.from_dict(json.loads(text))


def render_name(capture: str, index: int, alpha: bool = False) -> str:
    """The zip member name of a frame's render (``renders/<capture>/<index:05d>.png``)."""
    return f"renders/{capture}/{index:05d}{'.alpha' if alpha else ''}.png"
