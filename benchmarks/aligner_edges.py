"""The aligner's image-edge term on HWP-Synth: the perfect avatar at test poses aligned
without / with ``AlignConfig(image_edges=True)``.

Per capture (test split), for the silhouette aligner (``silhouette``: today's aligned track,
read from the aligned-pose cache, computed if missing) and for the aligner with image edges
(``edges``, aligned here, timed), prints one JSON line:

* ``psnr_v2``: HWP-Synth's own renderer (the perfect avatar) at those poses, scored with
  ``hwp-v2``;
* ``psnr_q``: the same render scored with a quarter-pixel variant of ``hwp-v2``'s local
  registration (candidate shifts in steps of 1/4 px within the same 2 px radius, Lanczos-3
  resampling, best 3x3-window SSE per pixel; an experiment, not a protocol);
* ``px``: mean projected joint error against the exact poses (``hwp_bench.tracks.errors``);
* ``s_per_frame``: the aligner's seconds per frame (one thread; ``nan`` for cached poses).

Usage: ``OMP_NUM_THREADS=1 python benchmarks/aligner_edges.py [--captures capture07,capture02]
[--frames 10] [--variants silhouette,edges]`` (``silhouette-fresh`` aligns and times the
silhouette aligner instead of reading the cache).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np


def _kernel(f: float) -> np.ndarray:
    """Lanczos-3 taps at offsets -2..3 for a sample at ``x + f``."""
    d = np.arange(-2, 4) - f
    w = np.sinc(d) * np.sinc(d / 3) * (np.abs(d) < 3)
    return w / w.sum()


def _shift(img: np.ndarray, fy: float, fx: float) -> np.ndarray:
    """``img [H, W, C]`` resampled at ``(y + fy, x + fx)``."""
    out = img
    for axis, f in ((0, fy), (1, fx)):
        if f == 0:
            continue
        pad = [(0, 0)] * out.ndim
        pad[axis] = (2, 3)
        p = np.pad(out, pad, mode="edge")
        n = out.shape[axis]
        acc = 0
        for i, wi in enumerate(_kernel(f)):
            sl = [slice(None)] * out.ndim
            sl[axis] = slice(i, i + n)
            acc = acc + wi * p[tuple(sl)]
        out = acc
    return out


def quarter_pixel_registration(color, alpha, gt, region, radius=2, step=0.25):
    """``hwp-v2``'s local registration with fractional candidate shifts: per covered pixel,
    the prediction displaced by the shift (within ``radius``) whose 3x3 window agrees best."""
    import torch

    from hwp_bench.metrics.protocols import hwp_v2 as V

    h, w = alpha.shape
    fr = list(np.arange(0, 1, step))
    best = np.full((h, w), np.inf)
    res = V.straighten(
        torch.as_tensor(color, dtype=torch.float64), torch.as_tensor(alpha, dtype=torch.float64)
    ).numpy()
    base_cov = alpha >= 0.5
    reg = region.astype(np.float64)
    for fy in fr:
        for fx in fr:
            c = _shift(color, fy, fx)
            a = _shift(alpha[..., None], fy, fx)[..., 0]
            s = V.straighten(torch.as_tensor(c), torch.as_tensor(a)).numpy()
            cov = a >= 0.5
            R = radius + 1
            sp = np.pad(s, ((R, R), (R, R), (0, 0)), mode="edge")
            cp = np.pad(cov, ((R, R), (R, R)))
            for dy in range(-R, R + 1):
                for dx in range(-R, R + 1):
                    ty, tx = dy + fy, dx + fx
                    if ty * ty + tx * tx > radius * radius + 1e-9:
                        continue
                    src = sp[R + dy : R + dy + h, R + dx : R + dx + w]
                    sc = cp[R + dy : R + dy + h, R + dx : R + dx + w]
                    err = np.where(sc, ((src - gt) ** 2).sum(-1), 3.0) * reg
                    ep = np.pad(err, 1)
                    score = sum(ep[i : i + h, j : j + w] for i in range(3) for j in range(3))
                    tie = 1e-12 if (ty, tx) != (0, 0) else 0
                    better = (score + tie < best) & base_cov
                    best = np.where(better, score + tie, best)
                    res = np.where(better[..., None], src, res)
    return res


def main() -> None:
    import torch

    from hwp_bench.data import load_frames, resolve
    from hwp_bench.metrics.protocols import get_protocol
    from hwp_bench.metrics.protocols import hwp_v2 as V
    from hwp_bench.metrics.validity import synth_generation
    from hwp_bench.synth.reference import ReferenceRenderer, reference_scene
    from hwp_bench.tracks import track_hands
    from hwp_bench.tracks.align import AlignConfig, align_frame
    from hwp_bench.tracks.errors import joint_errors

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--captures", default=",".join(f"capture{i:02d}" for i in range(11)))
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--variants", default="silhouette,edges")
    args = ap.parse_args()
    folder = Path(resolve("synth"))
    gen = synth_generation(folder)
    proto = get_protocol("hwp-v2")
    for cap in args.captures.split(","):
        frames = sorted(load_frames(folder, cap, "test"), key=lambda f: f.index)[: args.frames]
        scene = reference_scene(
            cap, preset=gen["preset"], seed=int(gen["seed"]), clean=bool(gen.get("clean")),
            num_frames=gen.get("num_frames"),
        )  # fmt: skip
        renderer = ReferenceRenderer(scene)
        for variant in args.variants.split(","):
            t0 = time.perf_counter()
            if variant == "silhouette":
                hands, spf = track_hands(frames, "aligned", progress=False), float("nan")
            else:
                cfg = AlignConfig(image_edges=variant == "edges")
                hands = {(f.capture, int(f.index)): align_frame(f, cfg).hands for f in frames}
                spf = (time.perf_counter() - t0) / len(frames)
            p2, pq = [], []
            for f in frames:
                params = hands[(f.capture, int(f.index))]
                color, alpha = renderer.render(f.index, params)
                posed = dataclasses.replace(f, hands=dict(params))
                p2.append(proto.score_frame(color, alpha, posed, metrics=("psnr",))["psnr"])
                _, gt, region = proto.prepared(color, alpha, posed)
                gt, region = gt.numpy(), region.numpy()
                c64, a64 = np.asarray(color, np.float64), np.asarray(alpha, np.float64)
                pred = quarter_pixel_registration(c64, a64, gt, region)
                pq.append(float(V.region_psnr(*(torch.as_tensor(x) for x in (pred, gt, region)))))
            je = joint_errors(frames, hands)
            row = {
                "capture": cap, "variant": variant, "psnr_v2": float(np.mean(p2)),
                "psnr_q": float(np.mean(pq)), "px": je["px"], "mm_root": je["mm_root"],
                "s_per_frame": spf, "per_frame_v2": [round(x, 2) for x in p2],
            }  # fmt: skip
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
