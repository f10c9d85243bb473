"""numba kernels of the ``cpu`` backend: tile binning, forward compositing, backward replay.

Everything runs in float64 (inputs are converted once per call). That keeps a single compiled
specialisation per kernel (short first-use JIT, ``cache=True`` stores it next to this file) and
takes the 1/255 and 1e-4 threshold decisions at the same precision as the ``reference`` backend,
so the two agree to rounding. Scalar float64 arithmetic costs the same as float32 on x86 here.

Layout: Gaussians arrive culled and sorted front to back. Binning writes, per tile, the ids of
the Gaussians whose screen box touches it, in that global depth order (a counting sort by tile:
the per-tile lists come out depth-sorted without a second sort, like gsplat's radix sort over
(tile, depth) keys). Tiles are independent: the passes take a list of tiles and release the
GIL (``nogil``), and ``hwp_bench.render.cpu`` runs chunks of tiles on a thread pool. That
replaces numba's ``prange``: its OpenMP layer spin-waits between kernels, which on a shared,
oversubscribed CPU (and next to torch's own OpenMP pool) made runs up to 10x slower.

The backward pass writes per-(tile, Gaussian) partial gradients into a buffer indexed like the
tile lists, then sums them per Gaussian: no atomics, no races, and a deterministic result.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.999
T_MIN = 1e-4


@njit(cache=True)
def bin_gaussians(sorted_ids, means2d, radii, width, height, tile_size):  # pragma: no cover
    """Tile lists of Gaussians: returns (offsets [T+1] int64, ids [I] int64).

    ``sorted_ids`` are the visible Gaussians front to back; each tile's list keeps that order.
    """
    tiles_x = (width + tile_size - 1) // tile_size
    tiles_y = (height + tile_size - 1) // tile_size
    n = means2d.shape[0]
    x0s = np.zeros(n, np.int64)
    x1s = np.zeros(n, np.int64)
    y0s = np.zeros(n, np.int64)
    y1s = np.zeros(n, np.int64)
    counts = np.zeros(tiles_x * tiles_y + 1, np.int64)
    for g in sorted_ids:
        # pixel j is touched when its centre j + 0.5 lies in [mean - r, mean + r]
        lo_x = math.ceil(means2d[g, 0] - radii[g, 0] - 0.5)
        hi_x = math.floor(means2d[g, 0] + radii[g, 0] - 0.5)
        lo_y = math.ceil(means2d[g, 1] - radii[g, 1] - 0.5)
        hi_y = math.floor(means2d[g, 1] + radii[g, 1] - 0.5)
        lo_x = max(lo_x, 0)
        lo_y = max(lo_y, 0)
        hi_x = min(hi_x, width - 1)
        hi_y = min(hi_y, height - 1)
        if lo_x > hi_x or lo_y > hi_y:
            x0s[g] = 0
            x1s[g] = 0
            y0s[g] = 0
            y1s[g] = 0
            continue
        x0s[g] = lo_x // tile_size
        x1s[g] = hi_x // tile_size + 1
        y0s[g] = lo_y // tile_size
        y1s[g] = hi_y // tile_size + 1
        for ty in range(y0s[g], y1s[g]):
            for tx in range(x0s[g], x1s[g]):
                counts[ty * tiles_x + tx + 1] += 1
    offsets = np.cumsum(counts)
    cursor = offsets[:-1].copy()
    ids = np.empty(offsets[-1], np.int64)
    for g in sorted_ids:
        for ty in range(y0s[g], y1s[g]):
            for tx in range(x0s[g], x1s[g]):
                t = ty * tiles_x + tx
                ids[cursor[t]] = g
                cursor[t] += 1
    return offsets, ids


@njit(cache=True)
def heaviest_first(offsets):  # pragma: no cover - jitted
    """Tiles sorted by list length, longest first (greedy scheduling of the chunks)."""
    return np.argsort(-(offsets[1:] - offsets[:-1]), kind="mergesort")


@njit(inline="always")
def _box(mx, my, rx, ry, x0, y0, x1, y1):  # pragma: no cover - jitted
    """Pixels of tile [x0,x1)x[y0,y1) whose centres lie in the Gaussian's screen box."""
    lo_x = max(x0, math.ceil(mx - rx - 0.5))
    hi_x = min(x1 - 1, math.floor(mx + rx - 0.5))
    lo_y = max(y0, math.ceil(my - ry - 0.5))
    hi_y = min(y1 - 1, math.floor(my + ry - 0.5))
    return lo_x, hi_x, lo_y, hi_y


@njit(nogil=True, cache=True)
def forward(
    tiles,
    offsets,
    ids,
    means2d,
    conics,
    opacities,
    log_thr,
    radii,
    feats,
    width,
    height,
    tile_size,
    out,
    t_final,
    last,
    pairs,
):  # pragma: no cover - jitted
    """Front-to-back compositing of ``tiles`` into out [H,W,C], t_final [H,W], last [H,W].

    Loops Gaussian-outer, pixel-inner within a tile, visiting only the pixels of each
    Gaussian's screen box (outside it alpha < 1/255 by construction of the box), and skipping
    ``exp`` when ``power > ln(255 opacity) + 1e-6`` (alpha certainly below 1/255); every pixel
    still sees its fragments in depth order, so this is the per-pixel loop of gsplat reordered.
    A tile stops as soon as all of its pixels have hit the transmittance floor.
    ``last[i, j]`` is one past the list position of the last composited fragment: the backward
    replay starts there. ``pairs[t]`` counts the Gaussian-pixel pairs whose power was evaluated
    in tile t (for the benchmark's throughput figure).
    """
    tiles_x = (width + tile_size - 1) // tile_size
    nc = feats.shape[1]
    for t in tiles:
        start = offsets[t]
        end = offsets[t + 1]
        y0 = (t // tiles_x) * tile_size
        x0 = (t % tiles_x) * tile_size
        x1 = min(x0 + tile_size, width)
        y1 = min(y0 + tile_size, height)
        tw = x1 - x0
        npix = tw * (y1 - y0)
        trans = np.ones(npix)
        acc = np.zeros((npix, nc))
        stop_at = np.full(npix, start)
        done = np.zeros(npix, np.bool_)
        n_done = 0
        n_pairs = 0
        for k in range(start, end):
            g = ids[k]
            mx = means2d[g, 0]
            my = means2d[g, 1]
            lo_x, hi_x, lo_y, hi_y = _box(mx, my, radii[g, 0], radii[g, 1], x0, y0, x1, y1)
            ca = conics[g, 0]
            cb = conics[g, 1]
            cc = conics[g, 2]
            op = opacities[g]
            thr = log_thr[g]
            for i in range(lo_y, hi_y + 1):
                dy = my - (i + 0.5)
                row = (i - y0) * tw - x0
                for j in range(lo_x, hi_x + 1):
                    p = row + j
                    if done[p]:
                        continue
                    n_pairs += 1
                    dx = mx - (j + 0.5)
                    power = 0.5 * (ca * dx * dx + cc * dy * dy) + cb * dx * dy
                    if power < 0.0 or power > thr:
                        continue
                    alpha = min(ALPHA_MAX, op * math.exp(-power))
                    if alpha < ALPHA_MIN:
                        continue
                    next_t = trans[p] * (1.0 - alpha)
                    if next_t <= T_MIN:
                        done[p] = True
                        n_done += 1
                        continue
                    w = alpha * trans[p]
                    for c in range(nc):
                        acc[p, c] += feats[g, c] * w
                    trans[p] = next_t
                    stop_at[p] = k + 1
            if n_done == npix:
                break
        pairs[t] = n_pairs
        for i in range(y0, y1):
            for j in range(x0, x1):
                p = (i - y0) * tw + (j - x0)
                for c in range(nc):
                    out[i, j, c] = acc[p, c]
                t_final[i, j] = trans[p]
                last[i, j] = stop_at[p]


@njit(nogil=True, cache=True)
def backward(
    tiles,
    offsets,
    ids,
    means2d,
    conics,
    opacities,
    log_thr,
    radii,
    feats,
    width,
    height,
    tile_size,
    t_final,
    last,
    grad_feat,
    grad_alpha,
    g_mean,
    g_conic,
    g_opac,
    g_feat,
    pairs,
):  # pragma: no cover - jitted
    """Back-to-front replay of the forward pass over ``tiles``: per-list-entry gradients.

    With ``T_i`` the transmittance before fragment i and ``S_i = sum_{j>i} f_j a_j T_j``:
    d feat / d f_i = a_i T_i; d feat / d a_i = f_i T_i - S_i / (1 - a_i);
    d alpha_out / d a_i = T_final / (1 - a_i). ``T_i`` is recovered as ``T_{i+1} / (1 - a_i)``
    (a_i <= 0.999 keeps the division safe). Clamped alphas (0.999) pass no gradient, as the
    clamp in the forward pass. Same Gaussian-outer order as the forward pass, reversed;
    ``pairs[t]`` counts the pairs replayed in tile t.
    """
    tiles_x = (width + tile_size - 1) // tile_size
    nc = feats.shape[1]
    for t in tiles:
        start = offsets[t]
        y0 = (t // tiles_x) * tile_size
        x0 = (t % tiles_x) * tile_size
        x1 = min(x0 + tile_size, width)
        y1 = min(y0 + tile_size, height)
        tw = x1 - x0
        npix = tw * (y1 - y0)
        trans = np.empty(npix)
        t_end = np.empty(npix)
        stop_at = np.empty(npix, np.int64)
        ga = np.empty(npix)
        gf = np.empty((npix, nc))
        behind = np.zeros((npix, nc))
        gfl = np.empty(nc)
        n_pairs = 0
        kmax = start
        for i in range(y0, y1):
            for j in range(x0, x1):
                p = (i - y0) * tw + (j - x0)
                trans[p] = t_final[i, j]
                t_end[p] = t_final[i, j]
                stop_at[p] = last[i, j]
                kmax = max(kmax, last[i, j])
                ga[p] = grad_alpha[i, j]
                for c in range(nc):
                    gf[p, c] = grad_feat[i, j, c]
        for k in range(kmax - 1, start - 1, -1):
            g = ids[k]
            mx = means2d[g, 0]
            my = means2d[g, 1]
            lo_x, hi_x, lo_y, hi_y = _box(mx, my, radii[g, 0], radii[g, 1], x0, y0, x1, y1)
            ca = conics[g, 0]
            cb = conics[g, 1]
            cc = conics[g, 2]
            op = opacities[g]
            thr = log_thr[g]
            gm0 = 0.0
            gm1 = 0.0
            gc0 = 0.0
            gc1 = 0.0
            gc2 = 0.0
            go = 0.0
            for c in range(nc):
                gfl[c] = 0.0
            for i in range(lo_y, hi_y + 1):
                dy = my - (i + 0.5)
                row = (i - y0) * tw - x0
                for j in range(lo_x, hi_x + 1):
                    p = row + j
                    if k >= stop_at[p]:
                        continue
                    n_pairs += 1
                    dx = mx - (j + 0.5)
                    power = 0.5 * (ca * dx * dx + cc * dy * dy) + cb * dx * dy
                    if power < 0.0 or power > thr:
                        continue
                    vis = math.exp(-power)
                    raw = op * vis
                    alpha = min(ALPHA_MAX, raw)
                    if alpha < ALPHA_MIN:
                        continue
                    inv_one_minus = 1.0 / (1.0 - alpha)
                    tp = trans[p] * inv_one_minus  # transmittance before this fragment
                    trans[p] = tp
                    w = alpha * tp
                    d_alpha = ga[p] * t_end[p] * inv_one_minus
                    for c in range(nc):
                        fc = feats[g, c]
                        gfl[c] += w * gf[p, c]
                        d_alpha += gf[p, c] * (fc * tp - behind[p, c] * inv_one_minus)
                        behind[p, c] += fc * w
                    if raw <= ALPHA_MAX:
                        go += d_alpha * vis
                        d_power = -d_alpha * alpha
                        gm0 += d_power * (ca * dx + cb * dy)
                        gm1 += d_power * (cc * dy + cb * dx)
                        gc0 += d_power * 0.5 * dx * dx
                        gc1 += d_power * dx * dy
                        gc2 += d_power * 0.5 * dy * dy
            g_mean[k, 0] = gm0
            g_mean[k, 1] = gm1
            g_conic[k, 0] = gc0
            g_conic[k, 1] = gc1
            g_conic[k, 2] = gc2
            g_opac[k] = go
            for c in range(nc):
                g_feat[k, c] = gfl[c]
        pairs[t] = n_pairs


@njit(nogil=True, cache=True)
def reduce_to_gaussians(ids, g_mean, g_conic, g_opac, g_feat, n):  # pragma: no cover - jitted
    """Sum the per-list-entry partials per Gaussian: [n, 6 + C] = (means2d 2, conic 3,
    opacity 1, features C). Serial and in list order, hence deterministic."""
    nc = g_feat.shape[1]
    acc = np.zeros((n, 6 + nc))
    for k in range(ids.shape[0]):
        g = ids[k]
        acc[g, 0] += g_mean[k, 0]
        acc[g, 1] += g_mean[k, 1]
        acc[g, 2] += g_conic[k, 0]
        acc[g, 3] += g_conic[k, 1]
        acc[g, 4] += g_conic[k, 2]
        acc[g, 5] += g_opac[k]
        for c in range(nc):
            acc[g, 6 + c] += g_feat[k, c]
    return acc
