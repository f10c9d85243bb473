"""Scoring speed at HWP size (256 px): each figure next to its previous value, in the same run.

    python benchmarks/metrics.py                          # 96 frames of 256 px
    python benchmarks/metrics.py --frames 192 --repeats 3 --protocols hwp-v1

*previous*: how frames were scored before batch scoring: one frame at a time in this process,
torch's default intra-op threads, the LPIPS network in NCHW layout. *now*: the evaluation path
(:mod:`hwp_bench.metrics.parallel`): chunks of frames on single-threaded processes, one per
core, the LPIPS network channels-last. Both score the same frames, and the script checks that
every per-frame value agrees to 1e-6 before it prints anything.

Cases: ``lpips`` on whole 256x256 frames (one batched call before; ``lpips_frames`` now), then
every registered protocol (hwp-v1, wildghand-paper, hwp-v2 when it is registered) with all of
its metrics. Frames: random ground truth with an elliptical hand mask of about 45% of the frame
(masks, crops and boxes differ from frame to frame), a noisy render and its silhouette.

Prints frames/s (median of ``--repeats``), the one-time start of the scoring processes, the
date, the cores and the load average before and after: on a shared machine, read the ratio.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

# Keep this folder off the import path (it holds a script named like the wildghand package).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from hwp_bench.data import Frame  # noqa: E402
from hwp_bench.metrics.parallel import default_workers, score_items  # noqa: E402
from hwp_bench.metrics.protocols import get_protocol, list_protocols  # noqa: E402

lpips_mod = importlib.import_module("hwp_bench.metrics.lpips")  # the module (CHANNELS_LAST)
VERTS = np.array([[x, y, z] for x in (-0.08, 0.08) for y in (-0.1, 0.1) for z in (0.9, 1.0)])


def make_items(n: int, size: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    K = np.array([[2.0 * size, 0, size / 2], [0, 2.0 * size, size / 2], [0, 0, 1]], np.float32)
    items = []
    for i in range(n):
        cy, cx = size * (0.5 + 0.05 * np.sin(i / 5)), size * (0.5 + 0.05 * np.cos(i / 7))
        ry, rx = size * (0.38 + 0.03 * np.sin(i / 3)), size * (0.36 + 0.03 * np.cos(i / 4))
        mask = ((((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) <= 1).astype(np.float32)
        gt = rng.random((size, size, 3), dtype=np.float32)
        pred = np.clip(gt + rng.normal(0, 0.05, gt.shape), 0, 1).astype(np.float32)
        alpha = np.clip(mask + rng.normal(0, 0.05, mask.shape), 0, 1).astype(np.float32)
        frame = Frame(
            image=gt, capture="capture00", index=i, num_frames=n, K=K, hands={}, mask=mask
        )
        items.append((pred, alpha, frame, VERTS))
    return items


def cpu_seconds() -> float:
    """CPU time of this process and of the scoring processes (all their threads)."""
    from hwp_bench.metrics.parallel import _POOLS

    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for pool in list(_POOLS.values()):
        for pid in list(getattr(pool, "_processes", {}) or {}):
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
            except (OSError, IndexError, ValueError):
                pass
    return total


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """Median wall seconds and median CPU seconds (all processes) of ``fn``, and its result."""
    out = fn()  # warm-up (weights, allocator, the pool's processes)
    walls, cpus = [], []
    for _ in range(repeats):
        c0, t0 = cpu_seconds(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(cpu_seconds() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def previous_lpips(pred: torch.Tensor, gt: torch.Tensor, batch: int = 8) -> torch.Tensor:
    """Before: one NCHW network, batches of 8 frames, in this process."""
    from hwp_bench.metrics.lpips import LPIPS
    from hwp_bench.metrics.lpips_weights import load_lpips_arrays

    net = previous_lpips.net = getattr(previous_lpips, "net", None) or LPIPS.from_arrays(
        load_lpips_arrays()
    )
    outs = []
    for i in range(0, pred.shape[0], batch):
        p = pred[i : i + batch].permute(0, 3, 1, 2) * 2 - 1
        g = gt[i : i + batch].permute(0, 3, 1, 2) * 2 - 1
        outs.append(net(p, g))
    return torch.cat(outs)


def previous_protocol(proto, items):
    """Before: frame by frame in this process, NCHW LPIPS."""
    lpips_mod.CHANNELS_LAST = False
    try:
        return [proto.score_frame(c, a, f, hand_vertices=v) for c, a, f, v in items]
    finally:
        lpips_mod.CHANNELS_LAST = True


def max_diff(a: list[dict], b: list[dict]) -> float:
    return max(abs(x[k] - y[k]) / max(1.0, abs(x[k])) for x, y in zip(a, b, strict=True) for k in x)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=96)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--protocols", nargs="*", help="default: every registered protocol")
    ap.add_argument("--workers", type=int, default=0, help="scoring processes (0: every core)")
    args = ap.parse_args(argv)
    workers = args.workers or default_workers()
    load0 = os.getloadavg()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}: {os.cpu_count()} cores, load average "
        f"{load0[0]:.1f} / {load0[1]:.1f} / {load0[2]:.1f} (1/5/15 min) at the start; torch "
        f"{torch.__version__}, {torch.get_num_threads()} intra-op threads before, "
        f"{workers} single-threaded processes now"
    )
    items = make_items(args.frames, args.size)
    n = len(items)
    pred = torch.from_numpy(np.stack([c for c, _, _, _ in items]))
    gt = torch.from_numpy(np.stack([f.image for _, _, f, _ in items]))

    t0 = time.perf_counter()
    lpips_mod.lpips_frames(pred[:64], gt[:64], workers=workers)  # starts the pool
    print(f"starting the scoring processes (once per process): {time.perf_counter() - t0:.1f} s")
    print(
        f"\n{n} frames of {args.size}x{args.size}; frames/s of wall time (median of "
        f"{args.repeats}) and CPU ms per frame (all processes, all threads):"
    )
    print(
        f"  {'case':<26}{'previous':>9}{'now':>8}{'speed-up':>9}"
        f"{'cpu ms prev':>13}{'cpu ms now':>11}{'2 idle cores now*':>19}   max |diff|"
    )
    rows = []

    def report(name: str, old_run, new_run, diff: float) -> None:
        (w_old, c_old, _), (w_new, c_new, _) = old_run, new_run
        proj = workers * n / c_new
        rows.append((name, n / w_old, n / w_new, diff, 1e3 * c_old / n, 1e3 * c_new / n, proj))
        print(
            f"  {name:<26}{n / w_old:>9.1f}{n / w_new:>8.1f}{w_old / w_new:>8.2f}x"
            f"{1e3 * c_old / n:>13.1f}{1e3 * c_new / n:>11.1f}{proj:>19.1f}   {diff:.1e}",
            flush=True,
        )

    with torch.no_grad():
        old_run = timed(lambda: previous_lpips(pred, gt), args.repeats)
        new_run = timed(lambda: lpips_mod.lpips_frames(pred, gt, workers=workers), args.repeats)
        report(
            "lpips (whole frames)", old_run, new_run, float((old_run[2] - new_run[2]).abs().max())
        )
        for pid in args.protocols or list_protocols():
            proto = get_protocol(pid)
            old_run = timed(lambda p=proto: previous_protocol(p, items), args.repeats)
            new_run = timed(lambda p=proto: score_items(p, items, workers=workers), args.repeats)
            report(f"protocol {pid}", old_run, new_run, max_diff(old_run[2], new_run[2]))
    print(
        f"  * {workers} processes x frames per CPU-second now: the wall-time rate on {workers} "
        "idle cores, if nothing else runs (the pool's processes are independent)"
    )
    load1 = os.getloadavg()
    print(f"load average at the end: {load1[0]:.1f} / {load1[1]:.1f} / {load1[2]:.1f}")
    bad = [r[0] for r in rows if r[3] > 1e-6]
    if bad:
        print(f"DISAGREEMENT above 1e-6 in: {', '.join(bad)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
