"""WildGHand speed: seconds per iteration, fit time per capture, where the time goes.

    .venv/bin/python benchmarks/wildghand.py                       # HWP-Synth capture04, quick
    .venv/bin/python benchmarks/wildghand.py --capture capture00 --iterations 60
    .venv/bin/python benchmarks/wildghand.py --set dpd=false --set pao=off

Fits the quick preset on one HWP-Synth capture's training frames for ``--iterations`` steps
(default: a full fit), then prints the median seconds per iteration, the projected (or
measured) full-fit time, and the split of training time over phases: network f (+ DPD and the
hand model), rasterizer forward, region proposals, PAO weights, the backward pass (all of it:
autograd cannot attribute it per module without slowing it down) and the optimiser step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

# This file is named like the package it measures: keep its folder off the import path so that
# ``import wildghand`` finds the method, not this script.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--capture", default="capture04")
    ap.add_argument("--source", default="synth")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--iterations", type=int, default=0, help="0 = the preset's full fit")
    ap.add_argument("--set", action="append", default=[], dest="overrides")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from wildghand.method import WildGHand

    from hwp_bench.data import load_frames

    t0 = time.perf_counter()
    frames = load_frames(args.source, args.capture, "train")
    load_s = time.perf_counter() - t0
    cfg = WildGHand.method_info().resolve_config(args.preset, args.overrides, seed=0)
    m = WildGHand(config=cfg)
    t0 = time.perf_counter()
    m.setup(frames)
    setup_s = time.perf_counter() - t0
    total_its = m.num_iterations
    n = args.iterations or total_its
    per_it = []
    t_fit = time.perf_counter()
    for step in range(n):
        t = time.perf_counter()
        m.train_iteration(step)
        per_it.append(time.perf_counter() - t)
    fit_s = time.perf_counter() - t_fit
    timing = dict(m.timing)
    phases = sum(timing.values())

    print(
        f"capture {args.capture} ({args.source}), preset {args.preset}, overrides {args.overrides}"
    )
    print(
        f"  frames {len(frames)} train, hand type {m.hand_type}, "
        f"Gaussians/hand {m.net.template.shape[0]}, threads {torch.get_num_threads()}, "
        f"load avg {os.getloadavg()[0]:.1f}"
    )
    print(f"  load frames {load_s:.1f} s, setup {setup_s:.1f} s")
    print(
        f"  seconds/iteration: median {statistics.median(per_it):.3f}, "
        f"mean {fit_s / n:.3f} over {n} iterations"
    )
    if n == total_its:
        print(f"  full fit ({total_its} iterations): {fit_s:.1f} s measured")
    else:
        proj = statistics.median(per_it) * total_its
        print(f"  full fit ({total_its} iterations): {proj:.1f} s projected from the median")
    print("  where the time goes (share of timed phases):")
    for k, v in sorted(timing.items(), key=lambda kv: -kv[1]):
        print(f"    {k:<11} {v:7.2f} s  {100 * v / phases:5.1f} %")


if __name__ == "__main__":
    main()
