"""The numbers printed in the WildGHand paper, as data, to show beside regenerated tables.

Transcribed from the paper (Li, Huang et al., Tables III and V-X). Keys: method id as registered
in hwp-bench (``wildghand``, ``intergaussianhand``, ``handy``, ``uhm``), then column group, then
metric. ``None`` means the paper reports no value (UHM is single-hand only).

These are the paper's own measurements on the real HWP data under the paper's evaluator
(protocol ``wildghand-paper``); numbers regenerated on HWP-Synth or under ``hwp-v1`` are not
expected to match them, only to be read beside them.
"""

from __future__ import annotations

from typing import Any


def _m(psnr: float, ssim: float, lpips: float) -> dict[str, float]:
    return {"psnr": psnr, "ssim": ssim, "lpips": lpips}


#: Table III: methods x datasets (HWP single, HWP inter, InterHand2.6M, AnchorCrafter).
TABLE_III: dict[str, dict[str, dict[str, float] | None]] = {
    "uhm": {
        "single": _m(20.24, 0.867, 0.203),
        "inter": None,
        "interhand": None,
        "anchorcrafter": None,
    },
    "handy": {
        "single": _m(22.99, 0.874, 0.127),
        "inter": _m(24.10, 0.864, 0.141),
        "interhand": _m(24.34, 0.867, 0.198),
        "anchorcrafter": _m(25.88, 0.912, 0.074),
    },
    "intergaussianhand": {
        "single": _m(23.06, 0.858, 0.147),
        "inter": _m(24.69, 0.851, 0.148),
        "interhand": _m(26.70, 0.861, 0.173),
        "anchorcrafter": _m(24.28, 0.912, 0.098),
    },
    "wildghand": {
        "single": _m(26.24, 0.916, 0.116),
        "inter": _m(26.29, 0.893, 0.122),
        "interhand": _m(28.25, 0.894, 0.151),
        "anchorcrafter": _m(27.68, 0.948, 0.072),
    },
}

#: Table V: interacting captures grouped by perturbation.
TABLE_V: dict[str, dict[str, dict[str, float]]] = {
    "handy": {
        "hoi": _m(24.67, 0.872, 0.138),
        "complex_pose": _m(24.14, 0.863, 0.138),
        "illumination": _m(20.65, 0.814, 0.156),
        "blur": _m(24.33, 0.872, 0.139),
    },
    "intergaussianhand": {
        "hoi": _m(25.11, 0.858, 0.146),
        "complex_pose": _m(24.51, 0.848, 0.142),
        "illumination": _m(22.18, 0.805, 0.158),
        "blur": _m(24.71, 0.860, 0.145),
    },
    "wildghand": {
        "hoi": _m(26.87, 0.902, 0.118),
        "complex_pose": _m(25.29, 0.881, 0.124),
        "illumination": _m(22.81, 0.839, 0.148),
        "blur": _m(26.68, 0.901, 0.116),
    },
}

#: Table VI: ablation of DPD and PAO; keys are (dpd, pao) flags.
TABLE_VI: dict[tuple[bool, bool], dict[str, dict[str, float]]] = {
    (False, False): {"single": _m(22.65, 0.862, 0.151), "inter": _m(24.86, 0.867, 0.123)},
    (False, True): {"single": _m(23.00, 0.869, 0.138), "inter": _m(25.01, 0.868, 0.122)},
    (True, True): {"single": _m(26.24, 0.916, 0.116), "inter": _m(26.29, 0.893, 0.122)},
}

#: Table VII: PAO vs SAM binary mask (the paper does not say which split; values as printed).
TABLE_VII: dict[str, dict[str, float]] = {
    "full": _m(26.44, 0.871, 0.179),
    "binary": _m(25.36, 0.844, 0.184),
}

#: Table VIII: heads (iii) and (iv) on/off.
TABLE_VIII: dict[str, dict[str, float]] = {
    "full": _m(26.44, 0.871, 0.179),
    "no_heads_iii_iv": _m(26.20, 0.864, 0.177),
}

#: Table IX: captures 4, 5, 6 with disturbance level; omega is the average temporal weight x1e-3.
TABLE_IX: dict[int, dict[str, Any]] = {
    4: {"disturbance": "low", "psnr": 29.59, "ssim": 0.931, "lpips": 0.115, "omega_e3": 0.234},
    5: {"disturbance": "medium", "psnr": 28.00, "ssim": 0.915, "lpips": 0.116, "omega_e3": 1.581},
    6: {"disturbance": "high", "psnr": 27.83, "ssim": 0.907, "lpips": 0.123, "omega_e3": 7.572},
}

#: Table X: mean and standard deviation over runs, (mean, std) per metric.
TABLE_X: dict[str, dict[str, tuple[float, float]]] = {
    "intergaussianhand": {
        "psnr": (26.2518, 0.0770),
        "ssim": (0.8723, 0.0009),
        "lpips": (0.1582, 0.0012),
    },
    "wildghand": {
        "psnr": (29.5859, 0.1028),
        "ssim": (0.9313, 0.0015),
        "lpips": (0.1146, 0.0029),
    },
}
