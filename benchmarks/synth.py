"""Time the generation of HWP-Synth presets (default: the whole quick preset, 11 captures).

Usage: python benchmarks/synth.py [--preset quick] [--captures 0 4] [--clean]

Generates into a fresh temporary folder (never the cache), prints wall and CPU time per capture
and in total, frames per second, and the folder size. The machine's load is printed too: on a
shared machine the wall time is noisy, CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--captures", nargs="*", default=None)
    ap.add_argument("--clean", action="store_true")
    args = ap.parse_args()

    from hwp_bench.data.tags import TABLE_II, capture_info
    from hwp_bench.synth import generate, get_preset

    preset = get_preset(args.preset)
    infos = [capture_info(c) for c in args.captures] if args.captures else list(TABLE_II)
    tmp = Path(tempfile.mkdtemp(prefix="hwp-synth-bench-"))
    try:
        # Warm-up: numba kernels are compiled (or loaded from their cache) once per process.
        generate(tmp / "warm", preset="tiny", captures=["capture00"], num_frames=2, progress=False)
        print(
            f"preset {preset.name}: {preset.size}px, ss {preset.ss}, blur sub-frames "
            f"{preset.blur_subframes}; load average {os.getloadavg()[0]:.1f}"
        )
        t_all = time.perf_counter()
        c_all = time.process_time()
        frames = 0
        for info in infos:
            t0, c0 = time.perf_counter(), time.process_time()
            generate(tmp / "out", preset=preset, seed=args.seed, clean=args.clean,
                     captures=[info.capture], progress=False)  # fmt: skip
            n = preset.num_frames(info)
            frames += n
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            print(f"  {info.capture} ({info.hand_type:6s} {n:4d} frames): wall {wall:6.1f} s, "
                  f"cpu {cpu:6.1f} s, {n / wall:5.1f} frames/s")  # fmt: skip
        wall = time.perf_counter() - t_all
        cpu = time.process_time() - c_all
        size = sum(p.stat().st_size for p in (tmp / "out").rglob("*") if p.is_file())
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"total: {len(infos)} captures, {frames} frames, wall {wall:.1f} s, cpu {cpu:.1f} s, "
            f"{frames / wall:.1f} frames/s, {size / 1e6:.1f} MB on disk, peak RSS {peak:.0f} MB"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
