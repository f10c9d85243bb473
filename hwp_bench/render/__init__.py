"""Differentiable 3D Gaussian rasterizer with gsplat semantics: ``rasterize(...)``.

Semantics (identical for every backend, gsplat's ``rasterization()`` in "classic" mode):

1. Projection (``hwp_bench.render.projection``): EWA splatting through a pinhole camera, near
   plane 0.01, a 0.3 px^2 low-pass on the 2D covariance, opacity-aware 3.33-sigma screen box.
2. Per pixel (centre at ``(j + 0.5, i + 0.5)``), Gaussians in increasing camera-space depth
   (ties: input order): ``alpha = min(0.999, opacity * exp(-power))``; fragments with
   ``alpha < 1/255`` (or negative power) are skipped; compositing stops before the fragment that
   would bring transmittance to <= 1e-4.
3. ``color = sum_i c_i alpha_i T_i (+ (1 - alpha) * background)``, ``alpha = 1 - T_final``,
   ``depth = sum_i z_i alpha_i T_i / alpha`` (gsplat's "ED"; 0 where alpha is 0).

Backends: ``reference`` (dense torch, the oracle), ``cpu`` (tiled numba kernels with a
hand-written backward), ``gsplat`` (CUDA), ``auto`` (gsplat on CUDA if it imports, else cpu).
"""

from hwp_bench.render.rasterizer import BACKENDS, gsplat_available, rasterize, resolve_backend

__all__ = ["BACKENDS", "gsplat_available", "rasterize", "resolve_backend"]
