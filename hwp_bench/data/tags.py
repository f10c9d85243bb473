"""Paper Table II (per-capture facts and perturbations) and the Table V groups, as data.

Perturbation tags are short identifiers used everywhere (result files' per-tag means, the
dataset card, queries): ``hoi`` (hand-object interaction), ``complex_pose``, ``illumination``,
``blur`` (motion blur). Their names and titles are declared once, by the perturbation units of
HWP-Synth (:mod:`hwp_bench.synth.perturbations`): ``PERTURBATIONS`` are the paper's four
(the built-ins, Table II's vocabulary), :func:`perturbation_tags` every registered one (a new
perturbation is accepted in dataset folders and queries without editing this module).
Table V's groups are *derived* from Table II (inter captures carrying each tag), and the tests
check the derivation against the groups printed in the paper.

Example: captures with motion blur among the interacting-hand captures::

    >>> from hwp_bench.data.tags import query
    >>> query("inter", perturbation="blur")
    ['capture04', 'capture05', 'capture08', 'capture09', 'capture10']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hwp_bench.synth.perturbations import registry as _perturbations

#: The paper's perturbation tags (Table II), in its order: the built-in perturbation units.
PERTURBATIONS: tuple[str, ...] = _perturbations.builtin_tags()
#: Tag -> words for people, for the paper's tags.
PERTURBATION_NAMES: dict[str, str] = {c.tag: c.title for c in _perturbations.BUILTIN}
HAND_TYPES = ("single", "inter")
DEVICES = ("phone", "webcam")


@dataclass(frozen=True)
class CaptureInfo:
    """One row of paper Table II."""

    capture: str  # "capture04"
    number: int  # 4
    hand_type: str  # "single" | "inter"
    action: str
    device: str  # "phone" (handheld, moving camera) | "webcam" (fixed)
    frames: int  # frame count in the paper / upstream release
    perturbations: tuple[str, ...]  # registered tags, in registry order

    @property
    def upstream_folder(self) -> str:
        """Folder name in the authors' release (``capture0_subsample3_single`` ...)."""
        suffix = "_single" if self.hand_type == "single" else ""
        return f"capture{self.number}_subsample3{suffix}"


def perturbation_tags() -> tuple[str, ...]:
    """Every registered perturbation tag (the paper's, then plugins'), in registry order."""
    return _perturbations.tags()


def perturbation_names() -> dict[str, str]:
    """Tag -> words for people, for every registered perturbation."""
    return _perturbations.titles()


def capture_id(number: int) -> str:
    """``4 -> "capture04"`` (two digits so that ids sort in capture order)."""
    return f"capture{int(number):02d}"


def _row(n, hand, action, device, frames, *perts) -> CaptureInfo:  # noqa: ANN001
    return CaptureInfo(
        capture_id(n),
        n,
        hand,
        action,
        device,
        frames,
        tuple(p for p in PERTURBATIONS if p in perts),
    )


# Paper Table II (docs/design.md, section 'Dataset layout and splits').
TABLE_II: tuple[CaptureInfo, ...] = (
    _row(0, "single", "grabbing blocks", "phone", 901, "hoi", "complex_pose"),
    _row(1, "single", "gestures", "phone", 742, "complex_pose", "blur"),
    _row(2, "single", "gestures", "phone", 828, "illumination"),
    _row(3, "single", "spinning a pen", "phone", 1086, "hoi", "blur"),
    _row(4, "inter", "spinning a pen", "webcam", 1662, "hoi", "blur"),
    _row(5, "inter", "sticking stickers", "webcam", 1216, "hoi", "blur"),
    _row(6, "inter", "applying lotion", "webcam", 1524, "hoi", "complex_pose"),
    _row(7, "inter", "gestures", "webcam", 1360, "complex_pose", "illumination"),
    _row(8, "inter", "putting on a watch", "webcam", 1444, "hoi", "complex_pose", "blur"),
    _row(9, "inter", "scrolling a phone", "phone", 1533, "hoi", "complex_pose", "blur"),
    _row(10, "inter", "shuffling cards", "phone", 1525, "hoi", "complex_pose", "blur"),
)
CAPTURES: dict[str, CaptureInfo] = {c.capture: c for c in TABLE_II}
CAPTURE_IDS: tuple[str, ...] = tuple(CAPTURES)

# Configs of the dataset layout: the two hand types, everything, and one per capture.
CONFIGS: tuple[str, ...] = ("single", "inter", "all", *CAPTURE_IDS)

# Table V: per-perturbation groups over the interacting-hand captures (derived from Table II).
TABLE_V_GROUPS: dict[str, list[str]] = {
    p: [c.capture for c in TABLE_II if c.hand_type == "inter" and p in c.perturbations]
    for p in PERTURBATIONS
}
# Table III averages: "single" is captures 0 and 2 in the paper, "inter" is 4 to 10.
TABLE_III_GROUPS: dict[str, list[str]] = {
    "single": ["capture00", "capture02"],
    "inter": [c.capture for c in TABLE_II if c.hand_type == "inter"],
}
# Table IX: low, medium, high disturbance.
TABLE_IX_CAPTURES: dict[str, str] = {"low": "capture04", "medium": "capture05", "high": "capture06"}

_CAPTURE_RE = re.compile(r"^capture(\d{2})$")


def check_config(config: str) -> str:
    """Validate a config name with a message listing the valid ones."""
    if config not in CONFIGS:
        raise ValueError(
            f"unknown config {config!r}: choose one of single, inter, all, "
            f"capture00..capture10 ({', '.join(CONFIGS)})"
        )
    return config


def captures_for(config: str) -> list[str]:
    """Capture ids a config covers: ``single`` (0-3), ``inter`` (4-10), ``all``, ``captureNN``."""
    check_config(config)
    if config == "all":
        return list(CAPTURE_IDS)
    if config in HAND_TYPES:
        return [c.capture for c in TABLE_II if c.hand_type == config]
    return [config]


def capture_info(capture: str) -> CaptureInfo:
    """Table II row of ``capture`` (``"capture04"``; ``"4"`` and ``4`` are accepted too)."""
    key = capture_id(int(capture)) if str(capture).isdigit() else str(capture)
    if key not in CAPTURES:
        raise ValueError(f"unknown capture {capture!r}: choose one of {', '.join(CAPTURE_IDS)}")
    return CAPTURES[key]


def tags_for(capture: str) -> list[str]:
    """Capture-level perturbation tags of ``capture`` (Table II)."""
    return list(capture_info(capture).perturbations)


def query(
    config: str = "all",
    *,
    perturbation: str | None = None,
    device: str | None = None,
    hand_type: str | None = None,
) -> list[str]:
    """Captures of ``config`` filtered by perturbation tag, recording device and hand type."""
    known = perturbation_tags()
    if perturbation is not None and perturbation not in known:
        raise ValueError(f"unknown perturbation {perturbation!r}: choose one of {known}")
    if device is not None and device not in DEVICES:
        raise ValueError(f"unknown device {device!r}: choose one of {DEVICES}")
    out = []
    for cap in captures_for(config):
        info = CAPTURES[cap]
        if perturbation is not None and perturbation not in info.perturbations:
            continue
        if device is not None and info.device != device:
            continue
        if hand_type is not None and info.hand_type != hand_type:
            continue
        out.append(cap)
    return out
