"""Frames per second of each metric and protocol at 128 and 256 px (CPU, torch threads as set).

Usage: ``python benchmarks/metrics.py [--batch 8] [--repeats 3] [--sizes 128 256]``.
Prints the median over ``repeats`` of frames/s. Batched metrics take a [B, H, W, 3] batch;
masked metrics and protocols score one frame at a time (each frame has its own box).
LPIPS needs its weights (fetched on first use, see ``hwp_bench.metrics.lpips_weights``).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from hwp_bench.data import Frame
from hwp_bench.metrics import (
    get_protocol,
    lpips,
    masked_lpips,
    masked_psnr,
    masked_ssim,
    psnr,
    ssim,
)
from hwp_bench.metrics.lpips import get_lpips


def _fps(fn, frames: int, repeats: int) -> float:
    fn()  # warm-up (weights, allocator)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return frames / statistics.median(times)


def bench_size(size: int, b: int, repeats: int, rng, net) -> dict[str, float]:
    """Frames/s of every case at one image size."""
    gt = torch.from_numpy(rng.random((b, size, size, 3), dtype=np.float32))
    pred = (gt + 0.05 * torch.randn_like(gt)).clamp(0, 1)
    mask = torch.zeros(b, size, size)
    mask[:, size // 8 : 7 * size // 8, size // 4 : 3 * size // 4] = 1
    K = np.array([[size * 2.0, 0, size / 2], [0, size * 2.0, size / 2], [0, 0, 1]], np.float32)
    frames = [
        Frame(
            image=gt[i].numpy(),
            capture="capture00",
            index=i,
            num_frames=b,
            K=K,
            hands={},
            mask=mask[i].numpy(),
        )
        for i in range(b)
    ]
    verts = np.array([[x, y, z] for x in (-0.08, 0.08) for y in (-0.1, 0.1) for z in (0.9, 1.0)])
    alpha = mask[0].numpy()

    def proto(pid):
        p = get_protocol(pid)
        return lambda: [
            p.score_frame(pred[i], alpha, frames[i], hand_vertices=verts) for i in range(b)
        ]

    def each(fn):
        return lambda: [fn(pred[i], gt[i], mask[i]) for i in range(b)]

    cases = {
        "psnr (batched)": lambda: psnr(pred, gt),
        "ssim (batched)": lambda: ssim(pred, gt),
        "lpips (batched)": lambda: lpips(pred, gt, net=net),
        "masked psnr (per frame)": each(masked_psnr),
        "masked ssim (per frame)": each(masked_ssim),
        "masked lpips (per frame)": each(lambda p, g, m: masked_lpips(p, g, m, net=net)),
        "protocol hwp-v1": proto("hwp-v1"),
        "protocol wildghand-paper": proto("wildghand-paper"),
    }
    with torch.no_grad():
        return {name: _fps(fn, b, repeats) for name, fn in cases.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    net = get_lpips()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}")
    print(f"{'metric':<28}" + "".join(f"{s:>10} px" for s in args.sizes) + "   (frames/s)")
    rows: dict[str, list[float]] = {}
    for size in args.sizes:
        for name, fps in bench_size(size, args.batch, args.repeats, rng, net).items():
            rows.setdefault(name, []).append(fps)
    for name, vals in rows.items():
        print(f"{name:<28}" + "".join(f"{v:>13.1f}" for v in vals))


if __name__ == "__main__":
    main()
