"""The ``gsplat`` backend: a thin call into ``gsplat.rasterization`` on CUDA tensors.

Used by ``backend="auto"`` on CUDA when gsplat imports. Only the argument mapping lives here:
pinhole camera, near plane 0.01, eps2d 0.3, "classic" (no opacity compensation), render mode
"RGB+ED" so the last channel is gsplat's alpha-normalised expected depth, background composited
by us as ``color + (1 - alpha) * background`` (the same formula gsplat uses).

Parity caveat: gsplat < 1.5 bounds each Gaussian by a square 3-sigma box of the largest 2D
eigenvalue and evaluates it on every pixel of the 16x16 tiles that box touches, so low-alpha
tails just beyond 3 sigma depend on tiling there; gsplat >= 1.5 uses the opacity-aware box that
our ``cpu`` and ``reference`` backends use, where the image does not depend on tiling.
"""

from __future__ import annotations

import torch

from hwp_bench.render.projection import EPS2D, FAR_PLANE, NEAR_PLANE


def rasterize_gsplat(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    opacities: torch.Tensor,
    colors: torch.Tensor,
    viewmat: torch.Tensor,
    K: torch.Tensor,
    width: int,
    height: int,
    background: torch.Tensor | None,
) -> dict[str, torch.Tensor]:
    """Render with gsplat; same inputs and outputs as ``hwp_bench.render.rasterize``."""
    if not means.is_cuda:
        raise ValueError("rasterize: the gsplat backend needs CUDA tensors; use backend='cpu'")
    try:
        import gsplat
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise ValueError(
            "rasterize: backend='gsplat' needs the gsplat package (pip install 'hwp-bench[gsplat]')"
        ) from exc
    batched = viewmat.ndim == 3
    viewmats = viewmat if batched else viewmat[None]
    Ks = K if K.ndim == 3 else K[None].expand(viewmats.shape[0], 3, 3)
    num_channels = colors.shape[1]
    rendered, alphas, _meta = gsplat.rasterization(
        means,
        quats,
        scales,
        opacities,
        colors,
        viewmats,
        Ks.contiguous(),
        width,
        height,
        near_plane=NEAR_PLANE,
        far_plane=FAR_PLANE,
        eps2d=EPS2D,
        render_mode="RGB+ED",
        rasterize_mode="classic",
        packed=False,
    )
    color = rendered[..., :num_channels]
    depth = rendered[..., num_channels]
    alpha = alphas[..., 0]
    if background is not None:
        color = color + (1.0 - alpha)[..., None] * background
    out = {"color": color, "alpha": alpha, "depth": depth}
    if not batched:
        out = {k: v[0] for k, v in out.items()}
    return out
