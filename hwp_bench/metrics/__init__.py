"""Image metrics (PSNR, SSIM, LPIPS) and the evaluation protocols that combine them.

Images are channel-last ``[..., H, W, C]`` in [0, 1] (numpy or torch); leading dimensions are a
batch. LPIPS weights are fetched on first use (see :mod:`hwp_bench.metrics.lpips_weights`).
"""

from hwp_bench.metrics.image import masked_psnr, masked_ssim, mse, psnr, ssim, ssim_map
from hwp_bench.metrics.lpips import get_lpips, lpips, masked_lpips
from hwp_bench.metrics.protocols import (
    DEFAULT_PROTOCOL,
    HIGHER_IS_BETTER,
    Protocol,
    get_protocol,
    list_protocols,
    register_protocol,
)

__all__ = [
    "DEFAULT_PROTOCOL",
    "HIGHER_IS_BETTER",
    "Protocol",
    "get_lpips",
    "get_protocol",
    "list_protocols",
    "lpips",
    "masked_lpips",
    "masked_psnr",
    "masked_ssim",
    "mse",
    "psnr",
    "register_protocol",
    "ssim",
    "ssim_map",
]
