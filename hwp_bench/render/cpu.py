"""The ``cpu`` backend: tiled, multi-core compositing with a hand-written backward pass.

The whole pipeline is one ``torch.autograd.Function`` (``_Composite``) over numba kernels:
projection (``_project_kernels``: the same mathematics as the torch ``projection.project``
that the reference differentiates with autograd, with a hand-written backward), depth sort,
tile binning and compositing (``_kernels``, hand-written back-to-front backward). A torch
projection with autograd was tried first: its ~100 small ops cost as much as the compositing. Why numba: it ships as wheels on PyPI (no
compiler needed on a fresh machine) and compiles the kernels once (cached on disk next to the
module); a C++ extension would need a toolchain at install time.

Parallelism: tiles are independent, so chunks of tiles (heaviest first) run on a small thread
pool, each chunk one GIL-free numba call writing disjoint pixels and disjoint gradient slots.
The pool has ``torch.get_num_threads()`` workers, so ``torch.set_num_threads`` governs both.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

TILE_SIZE = 16
CHUNKS_PER_THREAD = 4

#: Work counters of the most recent forward/backward call (read by benchmarks/rasterizer.py):
#: forward_pairs, backward_pairs (Gaussian-pixel pairs evaluated), intersections (tile-list
#: entries).
STATS: dict[str, int] = {}

_pool: ThreadPoolExecutor | None = None
_pool_key: tuple[int, int] = (0, 0)  # (process id, workers): a forked child builds its own pool
_pool_lock = threading.Lock()


def _run_tiles(kernel, order: np.ndarray, *args) -> None:
    """Run ``kernel(tiles, *args)`` over all tiles, chunked over the worker threads."""
    global _pool, _pool_key
    n_threads = max(1, torch.get_num_threads())
    if n_threads == 1 or order.shape[0] < 2:
        kernel(order, *args)
        return
    key = (os.getpid(), n_threads)
    with _pool_lock:
        if _pool is None or _pool_key != key:
            if _pool is not None and _pool_key[0] == key[0]:
                _pool.shutdown(wait=False)
            # after a fork the parent's worker threads do not exist here: never reuse its pool
            _pool = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="hwp-raster")
            _pool_key = key
        pool = _pool
    # Round-robin chunks of the heaviest-first order: every chunk gets a mix of heavy and
    # light tiles, and the pool hands chunks out dynamically.
    n_chunks = min(order.shape[0], n_threads * CHUNKS_PER_THREAD)
    chunks = [np.ascontiguousarray(order[i::n_chunks]) for i in range(n_chunks)]
    for fut in [pool.submit(kernel, c, *args) for c in chunks]:
        fut.result()


def _np64(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to(device="cpu", dtype=torch.float64).numpy())


class _Composite(torch.autograd.Function):
    """(means, quats, scales, opacities, colors) -> (features [H,W,C+1], alpha [H,W]).

    The last feature channel is the composited camera-space depth. Forward: numba projection,
    stable depth sort, tile binning, front-to-back compositing. Backward: back-to-front replay,
    per-Gaussian reduction, then the projection's hand-written vector-Jacobian product.
    """

    @staticmethod
    def forward(ctx, means, quats, scales, opacities, colors, viewmat, K, width, height, tile):
        from hwp_bench.render import _kernels, _project_kernels
        from hwp_bench.render.projection import EPS2D, FAR_PLANE, NEAR_PLANE

        n = means.shape[0]
        mean_np, quat_np, scale_np = _np64(means), _np64(quats), _np64(scales)
        o = _np64(opacities)
        vm = _np64(viewmat)
        k_np = _np64(K)
        rot = np.ascontiguousarray(vm[:3, :3])
        trans = np.ascontiguousarray(vm[:3, 3])
        m = np.zeros((n, 2))
        q = np.zeros((n, 3))
        depths = np.zeros(n)
        r = np.zeros((n, 2))
        valid = np.zeros(n, np.bool_)
        _project_kernels.project_forward(
            mean_np, quat_np, scale_np, o, rot, trans, k_np, width, height,
            NEAR_PLANE, FAR_PLANE, EPS2D, m, q, depths, r, valid,
        )  # fmt: skip
        visible = np.flatnonzero(valid)
        sorted_ids = visible[np.argsort(depths[visible], kind="stable")]
        f = np.concatenate([_np64(colors), depths[:, None]], axis=1)
        with np.errstate(divide="ignore"):
            # alpha >= 1/255 needs power <= ln(255 opacity); the margin keeps the pre-test exact
            log_thr = np.log(o * 255.0) + 1e-6
        offsets, ids = _kernels.bin_gaussians(sorted_ids, m, r, width, height, tile)
        order = _kernels.heaviest_first(offsets)
        out = np.zeros((height, width, f.shape[1]))
        t_final = np.ones((height, width))
        last = np.zeros((height, width), np.int64)
        pairs = np.zeros(order.shape[0], np.int64)
        _run_tiles(
            _kernels.forward, order, offsets, ids, m, q, o, log_thr, r, f,
            width, height, tile, out, t_final, last, pairs,
        )  # fmt: skip
        STATS.update(
            forward_pairs=int(pairs.sum()),
            intersections=int(ids.shape[0]),
            visible=int(visible.shape[0]),
        )
        ctx.arrays = (offsets, ids, order, m, q, o, log_thr, r, f, t_final, last, valid)
        ctx.inputs = (mean_np, quat_np, scale_np, rot, trans, k_np)
        ctx.size = (width, height, tile)
        ctx.dtypes = tuple(t.dtype for t in (means, quats, scales, opacities, colors))
        ctx.device = means.device
        dtype = colors.dtype
        return (
            torch.from_numpy(out).to(device=ctx.device, dtype=dtype),
            torch.from_numpy(1.0 - t_final).to(device=ctx.device, dtype=dtype),
        )

    @staticmethod
    def backward(ctx, grad_feat, grad_alpha):
        from hwp_bench.render import _kernels, _project_kernels
        from hwp_bench.render.projection import EPS2D

        offsets, ids, order, m, q, o, log_thr, r, f, t_final, last, valid = ctx.arrays
        mean_np, quat_np, scale_np, rot, trans, k_np = ctx.inputs
        width, height, tile = ctx.size
        n, nc = f.shape
        gf = _np64(grad_feat) if grad_feat is not None else np.zeros((height, width, nc))
        ga = _np64(grad_alpha) if grad_alpha is not None else np.zeros((height, width))
        n_isect = ids.shape[0]
        g_mean = np.zeros((n_isect, 2))
        g_conic = np.zeros((n_isect, 3))
        g_opac = np.zeros(n_isect)
        g_feat = np.zeros((n_isect, nc))
        pairs = np.zeros(order.shape[0], np.int64)
        _run_tiles(
            _kernels.backward, order, offsets, ids, m, q, o, log_thr, r, f,
            width, height, tile, t_final, last, gf, ga,
            g_mean, g_conic, g_opac, g_feat, pairs,
        )  # fmt: skip
        STATS.update(backward_pairs=int(pairs.sum()))
        acc = _kernels.reduce_to_gaussians(ids, g_mean, g_conic, g_opac, g_feat, n)
        g_means = np.zeros((n, 3))
        g_quats = np.zeros((n, 4))
        g_scales = np.zeros((n, 3))
        _project_kernels.project_backward(
            mean_np, quat_np, scale_np, rot, trans, k_np, width, height, EPS2D, valid,
            np.ascontiguousarray(acc[:, 0:2]), np.ascontiguousarray(acc[:, 2:5]),
            np.ascontiguousarray(acc[:, 5 + nc]), g_means, g_quats, g_scales,
        )  # fmt: skip
        d_means, d_quats, d_scales, d_opac, d_colors = ctx.dtypes

        def back(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a)).to(device=ctx.device, dtype=dtype)

        return (
            back(g_means, d_means),
            back(g_quats, d_quats),
            back(g_scales, d_scales),
            back(acc[:, 5], d_opac),
            back(acc[:, 6 : 5 + nc], d_colors),
            None,
            None,
            None,
            None,
            None,
        )


def render_cpu(
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
    tile_size: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Render with the cpu backend: features [H,W,C+1] (last channel: depth) and alpha [H,W]."""
    tile_size = TILE_SIZE if tile_size is None else tile_size
    return _Composite.apply(
        means, quats, scales, opacities, colors, viewmat.detach(), K.detach(), width, height,
        tile_size,
    )  # fmt: skip
