"""Speed and memory of the Gaussian rasterizer on the standard hand scenes (prints figures).

    python benchmarks/rasterizer.py                 # S1 and S2, cpu vs reference
    python benchmarks/rasterizer.py --scenes S1 --reps 30

Scenes (``hwp_bench.render.scenes.hand_scene``): the open right hand in the ``relaxed`` pose,
one Gaussian per vertex, isotropic scales half the local edge length, opacity 0.9, framed to
~60% of the image. S1 = 128x128 at subdivision 1, S2 = 256x256 at subdivision 2.

Each (scene, backend) runs in a fresh subprocess, so its peak resident memory (``ru_maxrss``)
minus the resident memory after a tiny warm-up render (kernels loaded) is the memory the
renderer needed for the scene, inputs and outputs included.
Times are medians over ``--reps`` forward+backward runs after one warm-up (which also loads
the numba kernels from the on-disk cache); on a shared machine, report medians and say so.

The dense reference backend costs exactly the same per pixel everywhere (every Gaussian against
every pixel), so for large images it is timed on a horizontal band of ``--reference-rows`` rows
(the same camera with the principal point shifted; default a 4,096-pixel band through the
hand) and scaled by the ratio of (visible Gaussians x pixels) between the full image and the
band; the output says when a figure is extrapolated that way.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

SCENES = {"S1": (1, 128), "S2": (2, 256)}


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(scene: str, backend: str, reps: int, reference_rows: int) -> dict:
    import torch

    from hwp_bench.render import rasterize
    from hwp_bench.render.scenes import hand_scene

    subdivision, size = SCENES[scene]
    means, quats, scales, opacities, colors, viewmat, K = hand_scene(subdivision, size)
    width, height = size, size
    from hwp_bench.render.projection import project

    visible_full = int(
        project(means, quats, scales, opacities, viewmat, K, width, height).valid.sum()
    )
    visible = visible_full
    scale_time = 1.0
    if reference_rows < 0:
        reference_rows = max(1, 4096 // width)  # a band of 4,096 pixels
    if backend == "reference" and reference_rows and reference_rows < height:
        top = (height - reference_rows) // 2  # the band through the middle of the hand
        K = K.clone()
        K[1, 2] -= top
        height = reference_rows
        visible = int(
            project(means, quats, scales, opacities, viewmat, K, width, height).valid.sum()
        )
        # dense cost is proportional to (visible Gaussians) x (pixels)
        scale_time = (visible_full * size * size) / (visible * width * height)
    params = [t.clone().requires_grad_(True) for t in (means, quats, scales, opacities, colors)]
    bg = torch.zeros(3)
    g = torch.Generator().manual_seed(0)
    target = torch.rand(height, width, 3, generator=g)

    def run():
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = rasterize(*params, viewmat, K, width, height, background=bg, backend=backend)
        loss = ((out["color"] - target) ** 2).mean() + out["alpha"].mean()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        c2 = time.process_time()
        for p in params:
            p.grad = None
        return t1 - t0, t2 - t1, c2 - c0

    # warm up on a tiny scene first (numba loads its cached kernels, torch its allocator), so
    # that the peak below is the memory this scene's render needed
    tiny = [t[:8].clone().requires_grad_(True) for t in (means, quats, scales, opacities, colors)]
    out = rasterize(*tiny, viewmat, K, 16, 16, backend=backend)
    (out["color"].sum() + out["alpha"].sum() + out["depth"].sum()).backward()
    rss0 = _rss_mb()
    run()
    fwd, bwd, tot, cpu = [], [], [], []
    for _ in range(reps):
        f, b, c = run()
        fwd.append(f)
        bwd.append(b)
        tot.append(f + b)
        cpu.append(c)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    res = {
        "scene": scene,
        "backend": backend,
        "gaussians": int(means.shape[0]),
        "pixels": size * size,
        "forward_ms": 1e3 * statistics.median(fwd) * scale_time,
        "backward_ms": 1e3 * statistics.median(bwd) * scale_time,
        "total_ms": 1e3 * statistics.median(tot) * scale_time,
        "total_ms_min": 1e3 * min(tot) * scale_time,
        "cpu_ms": 1e3 * statistics.median(cpu) * scale_time,
        "peak_mem_mb": peak - rss0,
        "extrapolated_from_rows": height if scale_time != 1.0 else None,
        "threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
    }
    if backend == "cpu":
        from hwp_bench.render.cpu import STATS

        res.update(STATS)
        res["pairs_per_s"] = (STATS["forward_pairs"] + STATS["backward_pairs"]) / (
            res["total_ms"] / 1e3
        )
    else:  # dense: every visible Gaussian against every pixel, in both passes
        res["forward_pairs"] = visible_full * size * size
        res["pairs_per_s"] = 2 * visible_full * size * size / (res["total_ms"] / 1e3)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", nargs="+", default=list(SCENES), choices=list(SCENES))
    ap.add_argument("--backends", nargs="+", default=["cpu", "reference"])
    ap.add_argument("--reps", type=int, default=20, help="timed runs per cpu measurement")
    ap.add_argument("--reference-reps", type=int, default=3)
    ap.add_argument(
        "--reference-rows",
        type=int,
        default=-1,
        help="time the dense reference on a band of this many rows and scale it to the full "
        "image (0: full image; default: a 4,096-pixel band)",
    )
    ap.add_argument(
        "--omp-wait-policy",
        default="PASSIVE",
        help="OMP_WAIT_POLICY for the workers ('unset' keeps the environment's); PASSIVE "
        "stops torch's OpenMP threads from spin-waiting, which matters on a shared CPU",
    )
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--worker", nargs=2, metavar=("SCENE", "BACKEND"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        scene, backend = args.worker
        reps = args.reference_reps if backend == "reference" else args.reps
        print(json.dumps(worker(scene, backend, reps, args.reference_rows)))
        return
    rows = []
    for scene in args.scenes:
        for backend in args.backends:
            cmd = [sys.executable, __file__, "--worker", scene, backend]
            cmd += ["--reps", str(args.reps), "--reference-reps", str(args.reference_reps)]
            cmd += ["--reference-rows", str(args.reference_rows)]
            env = dict(os.environ)
            if args.omp_wait_policy != "unset":
                env["OMP_WAIT_POLICY"] = args.omp_wait_policy
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            r = rows[-1]
            print(
                f"{scene} {backend:9s} N={r['gaussians']:6d} {r['pixels']:6d} px  "
                f"fwd {r['forward_ms']:8.1f} ms  bwd {r['backward_ms']:8.1f} ms  "
                f"fwd+bwd {r['total_ms']:8.1f} ms (min {r['total_ms_min']:.1f}, "
                f"cpu time {r['cpu_ms']:.1f})  "
                f"peak +{r['peak_mem_mb']:.0f} MB  {r['pairs_per_s'] / 1e6:.0f} M pairs/s"
                + (
                    f"  [extrapolated from {r['extrapolated_from_rows']} rows]"
                    if r["extrapolated_from_rows"]
                    else ""
                ),
                flush=True,
            )
    by = {(r["scene"], r["backend"]): r for r in rows}
    for scene in args.scenes:
        if (scene, "cpu") in by and (scene, "reference") in by:
            speedup = by[(scene, "reference")]["total_ms"] / by[(scene, "cpu")]["total_ms"]
            print(f"{scene}: cpu is {speedup:.0f}x faster than reference (fwd+bwd medians)")
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end; "
        f"OMP_WAIT_POLICY={rows[0]['omp_wait_policy'] if rows else '?'}; times are medians"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
