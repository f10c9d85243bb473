"""Image metrics (PSNR, SSIM, LPIPS) and the evaluation protocols that combine them.

Images are channel-last ``[..., H, W, C]`` in [0, 1] (numpy or torch); leading dimensions are a
batch. LPIPS weights are fetched on first use (see :mod:`hwp_bench.metrics.lpips_weights`).

The names below are loaded on first use (PEP 562): importing a light submodule such as
:mod:`hwp_bench.metrics.conventions` must not import torch, so that answering a finished run
from its result files stays a matter of reading JSON.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> the submodule that defines it.
_EXPORTS = {
    "masked_psnr": "hwp_bench.metrics.image",
    "masked_ssim": "hwp_bench.metrics.image",
    "mse": "hwp_bench.metrics.image",
    "psnr": "hwp_bench.metrics.image",
    "ssim": "hwp_bench.metrics.image",
    "ssim_map": "hwp_bench.metrics.image",
    "get_lpips": "hwp_bench.metrics.lpips",
    "lpips": "hwp_bench.metrics.lpips",
    "masked_lpips": "hwp_bench.metrics.lpips",
    "DEFAULT_PROTOCOL": "hwp_bench.metrics.protocols",
    "HIGHER_IS_BETTER": "hwp_bench.metrics.protocols",
    "Protocol": "hwp_bench.metrics.protocols",
    "get_protocol": "hwp_bench.metrics.protocols",
    "list_protocols": "hwp_bench.metrics.protocols",
    "register_protocol": "hwp_bench.metrics.protocols",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hwp_bench.metrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
