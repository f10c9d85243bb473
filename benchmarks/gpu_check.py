"""Every figure that needs CUDA, in one run (``benchmarks/gpu_check.sh`` wraps it with a limit).

    bash benchmarks/gpu_check.sh                       # all of it, 540 s limit
    bash benchmarks/gpu_check.sh --json gpu.json       # also write the figures as JSON
    HWP_GPU_CHECK_LIMIT=300 bash benchmarks/gpu_check.sh --subdivisions 3 --iterations 3

What it prints, in this order, each line as soon as it is measured (a run cut short by the
time limit keeps everything printed before the cut):

1. the machine: torch, CUDA device, gsplat version;
2. the scenes S1 and S2 (:func:`hwp_bench.render.scenes.hand_scene`): their Gaussians, the cpu
   backend's forward+backward median here, and its outputs and gradients, which are the
   reference for the parity check;
3. the ``paper`` preset with the open hand (``hand_model=open``): Gaussians per hand at each
   subdivision level, the training frames (a small HWP-Synth capture rendered at 256 px).
   The open hand has 1,609 vertices, so no level is exactly MANO-HD's 49,281: levels 2
   (25,609) and 3 (102,353) bracket it, and both are measured by default;

   --- from here on CUDA is needed; without it the script says so and exits with code 3 ---

4. parity, gsplat vs cpu, on S1 and S2: the largest absolute difference of colour, alpha and
   depth, and the relative L2 difference of each gradient (means, quats, scales, opacities,
   colours) under the same random loss; each against its tolerance;
5. S1/S2 forward+backward medians with gsplat;
6. a few iterations of WildGHand's ``paper`` preset: setup time, seconds per iteration (median
   after one warm-up iteration) and peak GPU memory (``torch.cuda.max_memory_allocated``).

Exit codes: 0 everything measured and in tolerance; 1 a parity figure out of tolerance; 3 no
CUDA device or no gsplat (everything that did not need them was done).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This folder holds a script named like the method package (wildghand.py): keep it off the
# import path so that ``import wildghand`` finds the method.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

SCENES = {"S1": (1, 128), "S2": (2, 256)}
PARAM_NAMES = ("means", "quats", "scales", "opacities", "colors")
# Tolerances for gsplat vs cpu in float32. The forward tolerance is the existing random-scene
# parity test's; gradients are compared as relative L2 errors (float32 sums in another order).
FWD_TOL = 1e-4
GRAD_REL_TOL = 1e-3
NO_CUDA_EXIT = 3


def say(msg: str) -> None:
    print(msg, flush=True)


def outputs_and_grads(scene, viewmat, K, width, height, backend, device="cpu"):
    """Outputs and gradients of a fixed random-weighted loss over colour, alpha and depth.

    The weights come from a seeded CPU generator, so every backend sees the same loss.
    """
    import torch

    from hwp_bench.render import rasterize

    params = [t.detach().clone().to(device).requires_grad_(True) for t in scene]
    out = rasterize(
        *params, viewmat.to(device), K.to(device), width, height, backend=backend
    )  # fmt: skip
    g = torch.Generator().manual_seed(7)
    loss = sum(
        (out[k] * torch.rand(out[k].shape, generator=g, dtype=out[k].dtype).to(device)).sum()
        for k in ("color", "alpha", "depth")
    )
    grads = torch.autograd.grad(loss, params)
    return (
        {k: v.detach().cpu() for k, v in out.items() if k in ("color", "alpha", "depth")},
        [gr.detach().cpu() for gr in grads],
    )


def compare(ref, got, fwd_tol: float = FWD_TOL, grad_rel_tol: float = GRAD_REL_TOL) -> dict:
    """Differences between two (outputs, gradients) pairs and whether each is in tolerance.

    Gradients whose reference is zero everywhere (a rotation of isotropic Gaussians changes
    nothing) are compared by their norm relative to the means' gradient instead.
    """
    (out_a, grads_a), (out_b, grads_b) = ref, got
    res: dict = {"forward": {}, "gradients": {}, "ok": True}
    for key in ("color", "alpha", "depth"):
        err = float((out_a[key] - out_b[key]).abs().max())
        ok = err <= fwd_tol
        res["forward"][key] = {"max_abs": err, "tol": fwd_tol, "ok": ok}
        res["ok"] &= ok
    scale = float(grads_a[0].norm()) or 1.0
    for name, a, b in zip(PARAM_NAMES, grads_a, grads_b, strict=True):
        denom = float(a.norm())
        if denom <= 1e-6 * scale:
            rel = float((a - b).norm()) / scale
            basis = "relative to |d means|"
        else:
            rel = float((a - b).norm()) / denom
            basis = "relative L2"
        ok = rel <= grad_rel_tol
        res["gradients"][name] = {"rel": rel, "basis": basis, "tol": grad_rel_tol, "ok": ok}
        res["ok"] &= ok
    return res


def time_backend(scene, viewmat, K, width, height, backend, reps, device="cpu") -> float:
    """Median forward+backward seconds over ``reps`` runs after one warm-up."""
    import torch

    from hwp_bench.render import rasterize

    params = [t.detach().clone().to(device).requires_grad_(True) for t in scene]
    vm, kk = viewmat.to(device), K.to(device)
    target = torch.rand(height, width, 3, generator=torch.Generator().manual_seed(0)).to(device)
    sync = torch.cuda.synchronize if device != "cpu" else (lambda: None)

    def once() -> float:
        sync()
        t0 = time.perf_counter()
        out = rasterize(*params, vm, kk, width, height, backend=backend)
        loss = ((out["color"] - target) ** 2).mean() + out["alpha"].mean()
        loss.backward()
        sync()
        for p in params:
            p.grad = None
        return time.perf_counter() - t0

    once()
    return statistics.median(once() for _ in range(max(1, reps)))


def fmt_compare(res: dict) -> str:
    fwd = " ".join(f"{k} {v['max_abs']:.1e}" for k, v in res["forward"].items())
    grads = " ".join(f"{k} {v['rel']:.1e}" for k, v in res["gradients"].items())
    return f"max|diff| {fwd}; gradient rel. {grads}; {'OK' if res['ok'] else 'OUT OF TOLERANCE'}"


def paper_iterations(cfg: dict, frames, iterations: int, device: str) -> dict:
    """Set WildGHand up on ``frames`` and time ``iterations`` steps after one warm-up step.

    Peak memory: ``torch.cuda.max_memory_allocated`` on CUDA; on the CPU (the fast test runs
    this on a tiny config) the process's peak resident set, which includes everything else.
    """
    import resource

    import torch
    from wildghand.method import WildGHand

    on_cuda = device.startswith("cuda")
    sync = torch.cuda.synchronize if on_cuda else (lambda: None)
    if on_cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    method = WildGHand(config={**cfg, "device": device})
    method.setup(frames)
    sync()
    setup_s = time.perf_counter() - t0
    per_it = []
    for step in range(iterations + 1):
        sync()
        t = time.perf_counter()
        losses = method.train_iteration(step)
        sync()
        per_it.append(time.perf_counter() - t)
    if on_cuda:
        peak = torch.cuda.max_memory_allocated() / 2**30
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {
        "device": device,
        "setup_s": setup_s,
        "seconds_per_iteration": statistics.median(per_it[1:] or per_it),
        "iterations_timed": iterations,
        "peak_memory_gib": peak,
        "num_iterations_full_fit": int(method.num_iterations),
        "gaussians_per_hand": int(method.net.template.shape[0]),
        "last_losses": {k: float(v) for k, v in (losses or {}).items()},
    }


def synth_frames(preset: str, frames: int, capture: str, root: Path):
    """A small HWP-Synth capture for the paper-preset iterations (training frames)."""
    from hwp_bench.data import load_frames
    from hwp_bench.synth.generate import generate

    generate(root, preset=preset, captures=[capture], num_frames=frames, progress=False)
    return load_frames(root, capture, "train")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", default="S1,S2", help="comma-separated, of S1, S2")
    ap.add_argument("--reps", type=int, default=20, help="timed runs per rasterizer figure")
    ap.add_argument("--cpu-reps", type=int, default=5, help="timed runs of the cpu backend")
    ap.add_argument(
        "--subdivisions", default="2,3", help="open-hand levels for the paper preset"
    )  # fmt: skip
    ap.add_argument("--iterations", type=int, default=5, help="timed paper-preset iterations")
    ap.add_argument("--capture", default="capture04", help="HWP-Synth capture (inter: 2 hands)")
    ap.add_argument("--frames", type=int, default=8, help="frames of the synthetic capture")
    ap.add_argument("--synth-preset", default="full", help="HWP-Synth preset (full: 256 px)")
    ap.add_argument("--json", help="also write every figure here")
    args = ap.parse_args(argv)
    scenes = [s.strip() for s in args.scenes.split(",") if s.strip()]
    levels = [int(s) for s in args.subdivisions.split(",") if s.strip()]
    unknown = [s for s in scenes if s not in SCENES]
    if unknown:
        ap.error(f"unknown scenes {unknown}; choose from {sorted(SCENES)}")

    import torch

    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "argv": sys.argv[1:]}
    t_start = time.perf_counter()

    def finish(code: int) -> int:
        report["exit_code"] = code
        report["seconds"] = time.perf_counter() - t_start
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=1, default=str))
        return code

    # 1. the machine --------------------------------------------------------------------------
    cuda = torch.cuda.is_available()
    try:
        import gsplat

        gsplat_version = getattr(gsplat, "__version__", "?")
    except Exception as exc:  # noqa: BLE001 - an import failure of any kind means "no gsplat"
        gsplat_version = None
        gsplat_error = f"{type(exc).__name__}: {exc}"
    report["machine"] = {
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cuda_available": cuda,
        "device": torch.cuda.get_device_name(0) if cuda else None,
        "gsplat": gsplat_version,
        "cpu_cores": os.cpu_count(),
        "load_avg_1min": os.getloadavg()[0],
    }
    say(
        f"[machine] torch {torch.__version__} (CUDA build {torch.version.cuda}), "
        f"CUDA available: {cuda}"
        + (f" ({torch.cuda.get_device_name(0)})" if cuda else "")
        + f", gsplat {gsplat_version or 'not importable'}, {os.cpu_count()} CPU cores, "
        f"load {os.getloadavg()[0]:.1f}"
    )

    # 2. scenes and the cpu reference ---------------------------------------------------------
    from hwp_bench.render.scenes import hand_scene

    built: dict = {}
    report["scenes"] = {}
    for name in scenes:
        sub, size = SCENES[name]
        scene = hand_scene(sub, size)
        geom, (viewmat, K) = scene[:5], scene[5:]
        ref = outputs_and_grads(geom, viewmat, K, size, size, "cpu")
        cpu_s = time_backend(geom, viewmat, K, size, size, "cpu", args.cpu_reps)
        built[name] = (geom, viewmat, K, size, ref)
        report["scenes"][name] = {
            "gaussians": int(geom[0].shape[0]),
            "size": size,
            "cpu_fwd_bwd_ms": 1e3 * cpu_s,
            "cpu_alpha_max": float(ref[0]["alpha"].max()),
        }
        say(
            f"[scene {name}] {geom[0].shape[0]} Gaussians, {size}x{size} px; cpu backend "
            f"fwd+bwd {1e3 * cpu_s:.1f} ms (median of {args.cpu_reps}, {torch.get_num_threads()} "
            f"threads); reference outputs and gradients ready"
        )

    # 3. the paper preset's inputs ------------------------------------------------------------
    from wildghand.method import WildGHand

    from hwp_bench.hand import load_hand_model

    configs = {}
    report["paper"] = {}
    for level in levels:
        overrides = ["hand_model=open", f"subdivision={level}"]
        cfg = WildGHand.method_info().resolve_config("paper", overrides, seed=0)
        n = int(load_hand_model("open", subdivision=level).faces_for("right").max()) + 1
        configs[level] = cfg
        report["paper"][level] = {"overrides": overrides, "gaussians_per_hand": n}
        say(
            f"[paper preset] open hand, subdivision {level}: {n} Gaussians per hand; "
            f"{cfg['train_resolution']} px, batch {cfg['batch_size']}, "
            f"texture_conv={cfg['texture_conv']}"
        )
    frames = []
    if levels:
        t0 = time.perf_counter()
        tmp = tempfile.TemporaryDirectory(prefix="hwp-gpu-check-")
        frames = synth_frames(args.synth_preset, args.frames, args.capture, Path(tmp.name))
        say(
            f"[paper preset] {len(frames)} training frames of HWP-Synth {args.capture} "
            f"({frames[0].hand_type}, {frames[0].image.shape[1]} px), "
            f"rendered in {time.perf_counter() - t0:.1f} s"
        )

    # --- CUDA from here ----------------------------------------------------------------------
    needs = "gsplat parity, the S1/S2 GPU timings and the paper-preset iterations"
    if not cuda:
        say(
            f"[stop] CUDA is not available (torch.cuda.is_available() is False): {needs} need "
            "a CUDA device. Everything above ran; nothing below was measured."
        )
        return finish(NO_CUDA_EXIT)
    if gsplat_version is None:
        say(
            f"[stop] gsplat does not import ({gsplat_error}): {needs} need it "
            "(pip install 'hwp-bench[gsplat]')."
        )
        return finish(NO_CUDA_EXIT)

    # 4. parity and 5. timings ----------------------------------------------------------------
    all_ok = True
    for name, (geom, viewmat, K, size, ref) in built.items():
        got = outputs_and_grads(geom, viewmat, K, size, size, "gsplat", device="cuda")
        res = compare(ref, got)
        all_ok &= res["ok"]
        gpu_s = time_backend(geom, viewmat, K, size, size, "gsplat", args.reps, device="cuda")
        report["scenes"][name].update(parity=res, gsplat_fwd_bwd_ms=1e3 * gpu_s)
        say(f"[parity {name}] gsplat vs cpu: {fmt_compare(res)}")
        say(f"[timing {name}] gsplat fwd+bwd {1e3 * gpu_s:.2f} ms (median of {args.reps})")

    # 6. paper preset iterations --------------------------------------------------------------
    for level, cfg in configs.items():
        res = paper_iterations(cfg, frames, args.iterations, "cuda")
        report["paper"][level].update(res)
        say(
            f"[paper preset, subdivision {level}] setup {res['setup_s']:.1f} s; "
            f"{res['seconds_per_iteration']:.3f} s/iteration (median of {args.iterations} after "
            f"a warm-up); peak GPU memory {res['peak_memory_gib']:.2f} GiB; a full fit on these "
            f"{len(frames)} frames would be {res['num_iterations_full_fit']} iterations, "
            f"~{res['seconds_per_iteration'] * res['num_iterations_full_fit']:.0f} s"
        )
    say(f"[done] in {time.perf_counter() - t_start:.0f} s; parity {'OK' if all_ok else 'FAILED'}")
    return finish(0 if all_ok else 1)


if __name__ == "__main__":
    raise SystemExit(main())
