"""``rasterize``: the one entry point of the Gaussian rasterizer (validation and dispatch).

All backends share the semantics documented in ``hwp_bench.render``; this module validates the
inputs (a NaN must fail loudly, never render a silent black image), projects, culls and sorts
the Gaussians once, hands the screen-space Gaussians to a compositing backend, and turns the
composited features into color, alpha and depth. Depth rides along as one extra feature
channel (camera-space z), exactly as gsplat's ``RGB+ED`` mode does, so its gradient reaches the
means through the same compositing backward as the colors.
"""

from __future__ import annotations

import importlib.util

import torch

from hwp_bench.render.projection import project

BACKENDS = ("auto", "cpu", "reference", "gsplat")


def gsplat_available() -> bool:
    """True when gsplat can be imported and CUDA is available (the gsplat backend's needs)."""
    return torch.cuda.is_available() and importlib.util.find_spec("gsplat") is not None


def resolve_backend(backend: str, device: torch.device) -> str:
    """Map ``auto`` to a concrete backend: gsplat for CUDA tensors when it imports, else cpu."""
    if backend not in BACKENDS:
        raise ValueError(f"rasterize: unknown backend {backend!r}; choose one of {BACKENDS}")
    if backend != "auto":
        return backend
    if device.type == "cuda" and gsplat_available():
        return "gsplat"
    return "cpu"


def _check_finite(name: str, t: torch.Tensor) -> None:
    if not torch.isfinite(t).all():
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(
            f"rasterize: {name} contains {bad} NaN/inf value(s); refusing to render "
            "(a non-finite input would otherwise give a silently wrong image)"
        )


def _validate(means, quats, scales, opacities, colors, viewmat, K, width, height, background):
    for name, t in (
        ("means", means),
        ("quats", quats),
        ("scales", scales),
        ("opacities", opacities),
        ("colors", colors),
        ("viewmat", viewmat),
        ("K", K),
    ):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"rasterize: {name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"rasterize: {name} must be a floating-point tensor, got {t.dtype}")
    n = means.shape[0] if means.ndim == 2 else -1
    expect = {
        "means": (means, (n, 3)),
        "quats": (quats, (n, 4)),
        "scales": (scales, (n, 3)),
        "opacities": (opacities, (n,)),
    }
    for name, (t, shape) in expect.items():
        if n < 0 or tuple(t.shape) != shape:
            raise ValueError(
                f"rasterize: {name} must have shape {tuple('N' if s == n else s for s in shape)} "
                f"with N = means.shape[0]; got {tuple(t.shape)} (means {tuple(means.shape)})"
            )
    if colors.ndim != 2 or colors.shape[0] != n or colors.shape[1] < 1:
        raise ValueError(f"rasterize: colors must have shape (N, C), got {tuple(colors.shape)}")
    if viewmat.shape[-2:] != (4, 4) or viewmat.ndim not in (2, 3):
        raise ValueError(f"rasterize: viewmat must be [4,4] or [B,4,4], got {tuple(viewmat.shape)}")
    if K.shape[-2:] != (3, 3) or K.ndim not in (2, 3):
        raise ValueError(f"rasterize: K must be [3,3] or [B,3,3], got {tuple(K.shape)}")
    if viewmat.ndim == 3 and K.ndim == 3 and K.shape[0] != viewmat.shape[0]:
        raise ValueError("rasterize: batched viewmat and K must have the same batch size")
    if K.ndim == 3 and viewmat.ndim == 2:
        raise ValueError("rasterize: batched K needs a batched viewmat")
    for name, v in (("width", width), ("height", height)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"rasterize: {name} must be a positive int, got {v!r}")
    if background is not None:
        if not isinstance(background, torch.Tensor) or tuple(background.shape) != (
            colors.shape[1],
        ):
            raise ValueError(
                f"rasterize: background must be a tensor of shape ({colors.shape[1]},) "
                f"matching colors' channels, got {getattr(background, 'shape', background)}"
            )
        _check_finite("background", background)
    for name, t in (
        ("means", means),
        ("quats", quats),
        ("scales", scales),
        ("opacities", opacities),
        ("colors", colors),
        ("viewmat", viewmat),
        ("K", K),
    ):
        _check_finite(name, t)
    if n > 0:
        if (scales < 0).any():
            raise ValueError("rasterize: scales are standard deviations and must be >= 0")
        if ((opacities < 0) | (opacities > 1)).any():
            raise ValueError("rasterize: opacities must lie in [0, 1] (apply a sigmoid first)")
        if (quats.norm(dim=-1) == 0).any():
            raise ValueError("rasterize: quats must be non-zero (they are normalised internally)")
    fx = K[..., 0, 0]
    fy = K[..., 1, 1]
    if (fx <= 0).any() or (fy <= 0).any():
        raise ValueError("rasterize: K must have positive focal lengths fx, fy")


def _render_one(
    means, quats, scales, opacities, colors, viewmat, K, width, height, background, backend
) -> dict[str, torch.Tensor]:
    num_channels = colors.shape[1]
    if backend == "cpu":
        from hwp_bench.render.cpu import render_cpu

        out, alpha = render_cpu(means, quats, scales, opacities, colors, viewmat, K, width, height)
    elif backend == "reference":
        from hwp_bench.render.reference import composite_reference

        proj = project(means, quats, scales, opacities, viewmat, K, width, height)
        idx = torch.nonzero(proj.valid).squeeze(1)
        idx = idx[torch.argsort(proj.depths.detach()[idx], stable=True)]
        feats = torch.cat([colors[idx], proj.depths[idx, None]], dim=1)
        out, alpha = composite_reference(
            proj.means2d[idx], proj.conics[idx], opacities[idx], feats, width, height
        )
    else:  # pragma: no cover - dispatch guards this
        raise ValueError(backend)
    color = out[..., :num_channels]
    depth = out[..., num_channels] / alpha.clamp_min(1e-10)
    if background is not None:
        color = color + (1.0 - alpha)[..., None] * background
    return {"color": color, "alpha": alpha, "depth": depth}


def rasterize(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    opacities: torch.Tensor,
    colors: torch.Tensor,
    viewmat: torch.Tensor,
    K: torch.Tensor,
    width: int,
    height: int,
    *,
    background: torch.Tensor | None = None,
    backend: str = "auto",
) -> dict[str, torch.Tensor]:
    """Render 3D Gaussians through a pinhole camera, differentiably.

    Args:
        means: [N,3] world-space centres. quats: [N,4] wxyz rotations (normalised here).
        scales: [N,3] standard deviations (>= 0). opacities: [N] in [0,1].
        colors: [N,C] features, any C >= 1. viewmat: [4,4] world-to-camera (OpenCV axes) or
        [B,4,4]. K: [3,3] intrinsics, or [B,3,3] with a batched viewmat.
        width, height: image size in pixels. background: optional [C], composited as
        ``color + (1 - alpha) * background``. backend: "auto" (gsplat on CUDA when it imports,
        else cpu), "cpu", "reference" or "gsplat".

    Returns:
        dict with ``color`` [H,W,C], ``alpha`` [H,W] and ``depth`` [H,W] (the alpha-normalised
        expected camera-space z, gsplat's "ED"; 0 where alpha is 0); a leading [B] with a
        batched viewmat. Differentiable w.r.t. means, quats, scales, opacities and colors.

    Raises:
        ValueError: malformed shapes, NaN/inf anywhere, opacities outside [0,1], negative
        scales, zero quaternions, an unknown backend, or gsplat requested without CUDA.
    """
    _validate(means, quats, scales, opacities, colors, viewmat, K, width, height, background)
    name = resolve_backend(backend, means.device)
    dtype = means.dtype
    quats, scales, opacities, colors = (t.to(dtype) for t in (quats, scales, opacities, colors))
    viewmat, K = viewmat.to(dtype), K.to(dtype)
    if background is not None:
        background = background.to(dtype)
    if name == "gsplat":
        from hwp_bench.render.gsplat_backend import rasterize_gsplat

        return rasterize_gsplat(
            means, quats, scales, opacities, colors, viewmat, K, width, height, background
        )
    if viewmat.ndim == 3:
        Ks = K if K.ndim == 3 else K.expand(viewmat.shape[0], 3, 3)
        outs = [
            _render_one(
                means, quats, scales, opacities, colors, v, k, width, height, background, name
            )
            for v, k in zip(viewmat, Ks, strict=True)
        ]
        return {key: torch.stack([o[key] for o in outs]) for key in ("color", "alpha", "depth")}
    return _render_one(
        means, quats, scales, opacities, colors, viewmat, K, width, height, background, name
    )
