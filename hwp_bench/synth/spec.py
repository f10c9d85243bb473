"""What HWP-Synth generates: Table II mirrored capture by capture, and the presets.

The capture facts (hand type, action motif, device, perturbation tags) come from paper Table II
(:mod:`hwp_bench.data.tags`). A preset fixes the image size, the supersampling, the number of
exposure sub-frames used for motion blur and the frame counts: ``quick`` has about 100 frames
per capture at 128 px (the whole set in a few minutes on 2 CPU cores); ``full`` has 256 px and
frame counts proportional to Table II (divided by 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hwp_bench.data.tags import CaptureInfo

__all__ = ["PRESETS", "Preset", "get_preset"]

# Re-exported from hwp_bench.data.tags on first use: the data layer reads the perturbation
# registry (hwp_bench.synth.perturbations), so importing it here eagerly would be a cycle.
_FROM_TAGS = ("PERTURBATIONS", "TABLE_II", "CaptureInfo")


def __getattr__(name: str):
    if name in _FROM_TAGS:
        from hwp_bench.data import tags

        return getattr(tags, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Preset:
    name: str
    size: int  # square images, pixels
    ss: int  # supersampling factor per axis (antialiasing)
    blur_subframes: int  # exposure samples of a motion-blurred frame
    frames_scale: float  # frames = round(Table II frames * frames_scale), unless frames set
    frames: int | None  # fixed frame count per capture (quick)
    texture_size: int  # skin albedo texture, texels per side
    shadow_res: int  # shadow map resolution

    def num_frames(self, info: CaptureInfo) -> int:
        if self.frames is not None:
            return self.frames
        return max(20, int(round(info.frames * self.frames_scale)))


PRESETS: dict[str, Preset] = {
    "quick": Preset("quick", 128, 2, 7, 0.0, 100, 512, 256),
    "full": Preset("full", 256, 3, 9, 1 / 6, None, 1024, 512),
    # For tests: tiny images, a handful of frames.
    "tiny": Preset("tiny", 40, 2, 3, 0.0, 20, 256, 128),
}


def get_preset(name: str | Preset) -> Preset:
    if isinstance(name, Preset):
        return name
    if name not in PRESETS:
        raise ValueError(f"unknown synth preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
