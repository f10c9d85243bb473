"""The ``cpu`` backend: tiled, multi-core compositing with a hand-written backward pass.

The projection (3D -> 2D, culling, depth sort) is the shared torch code, differentiated by
autograd; only the per-pixel compositing, which dominates the cost, is a numba kernel wrapped
in a ``torch.autograd.Function`` (``_Composite``). Why numba: it ships as wheels on PyPI (no
compiler needed on a fresh machine) and compiles the kernels once (cached on disk next to the
module); a C++ extension would need a toolchain at install time.

Parallelism: tiles are independent, so chunks of tiles (heaviest first) run on a small thread
pool, each chunk one GIL-free numba call writing disjoint pixels and disjoint gradient slots.
The pool has ``torch.get_num_threads()`` workers, so ``torch.set_num_threads`` governs both.
"""

from __future__ import annotations

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
_pool_size = 0
_pool_lock = threading.Lock()


def _run_tiles(kernel, order: np.ndarray, *args) -> None:
    """Run ``kernel(tiles, *args)`` over all tiles, chunked over the worker threads."""
    global _pool, _pool_size
    n_threads = max(1, torch.get_num_threads())
    if n_threads == 1 or order.shape[0] < 2:
        kernel(order, *args)
        return
    with _pool_lock:
        if _pool is None or _pool_size != n_threads:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="hwp-raster")
            _pool_size = n_threads
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
    """(means2d, conics, opacities, feats) -> (features [H,W,C], alpha [H,W])."""

    @staticmethod
    def forward(ctx, means2d, conics, opacities, feats, radii, width, height, tile_size):
        from hwp_bench.render import _kernels

        m = _np64(means2d)
        q = _np64(conics)
        o = _np64(opacities)
        f = _np64(feats)
        r = _np64(radii)
        # alpha >= 1/255 needs power <= ln(255 opacity); the margin keeps the pre-test exact
        log_thr = np.log(o * 255.0) + 1e-6
        offsets, ids = _kernels.bin_gaussians(m, r, width, height, tile_size)
        order = _kernels.heaviest_first(offsets)
        out = np.zeros((height, width, f.shape[1]))
        t_final = np.ones((height, width))
        last = np.zeros((height, width), np.int64)
        pairs = np.zeros(order.shape[0], np.int64)
        _run_tiles(
            _kernels.forward,
            order,
            offsets,
            ids,
            m,
            q,
            o,
            log_thr,
            r,
            f,
            width,
            height,
            tile_size,
            out,
            t_final,
            last,
            pairs,
        )
        STATS.update(forward_pairs=int(pairs.sum()), intersections=int(ids.shape[0]))
        ctx.arrays = (offsets, ids, order, m, q, o, log_thr, r, f, t_final, last)
        ctx.size = (width, height, tile_size)
        ctx.dtypes = (means2d.dtype, conics.dtype, opacities.dtype, feats.dtype)
        ctx.device = feats.device
        dtype = feats.dtype
        return (
            torch.from_numpy(out).to(device=ctx.device, dtype=dtype),
            torch.from_numpy(1.0 - t_final).to(device=ctx.device, dtype=dtype),
        )

    @staticmethod
    def backward(ctx, grad_feat, grad_alpha):
        from hwp_bench.render import _kernels

        offsets, ids, order, m, q, o, log_thr, r, f, t_final, last = ctx.arrays
        width, height, tile_size = ctx.size
        nc = f.shape[1]
        gf = _np64(grad_feat) if grad_feat is not None else np.zeros((height, width, nc))
        ga = _np64(grad_alpha) if grad_alpha is not None else np.zeros((height, width))
        n_isect = ids.shape[0]
        g_mean = np.zeros((n_isect, 2))
        g_conic = np.zeros((n_isect, 3))
        g_opac = np.zeros(n_isect)
        g_feat = np.zeros((n_isect, nc))
        pairs = np.zeros(order.shape[0], np.int64)
        _run_tiles(
            _kernels.backward,
            order,
            offsets,
            ids,
            m,
            q,
            o,
            log_thr,
            r,
            f,
            width,
            height,
            tile_size,
            t_final,
            last,
            gf,
            ga,
            g_mean,
            g_conic,
            g_opac,
            g_feat,
            pairs,
        )
        STATS.update(backward_pairs=int(pairs.sum()))
        # per-(tile, Gaussian) partials -> per Gaussian, one fused index_add over all columns
        parts = torch.from_numpy(np.concatenate([g_mean, g_conic, g_opac[:, None], g_feat], 1))
        acc = torch.zeros((m.shape[0], parts.shape[1]), dtype=torch.float64)
        acc.index_add_(0, torch.from_numpy(ids), parts)
        acc = acc.to(ctx.device)
        d_mean, d_conic, d_opac, d_feat = ctx.dtypes
        return (
            acc[:, 0:2].to(d_mean),
            acc[:, 2:5].to(d_conic),
            acc[:, 5].to(d_opac),
            acc[:, 6:].to(d_feat),
            None,
            None,
            None,
            None,
        )


def composite_cpu(
    means2d: torch.Tensor,
    conics: torch.Tensor,
    opacities: torch.Tensor,
    feats: torch.Tensor,
    width: int,
    height: int,
    *,
    radii: torch.Tensor,
    tile_size: int = TILE_SIZE,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Composite depth-sorted screen-space Gaussians; same contract as the reference's."""
    if means2d.shape[0] == 0:
        zeros = torch.zeros(height, width, dtype=feats.dtype, device=feats.device)
        zeros = zeros + feats.sum() * 0.0
        return zeros[..., None].expand(height, width, feats.shape[1]), zeros
    return _Composite.apply(means2d, conics, opacities, feats, radii, width, height, tile_size)
