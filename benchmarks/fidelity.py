"""Avatar fidelity on one HWP-Synth capture: fit, training-pose error, test scores, profile.

    .venv/bin/python benchmarks/fidelity.py --method wildghand --capture capture00
    .venv/bin/python benchmarks/fidelity.py --capture capture04 --dataset synth-clean
    .venv/bin/python benchmarks/fidelity.py --method handy --capture capture06 --tracks aligned
    .venv/bin/python benchmarks/fidelity.py --set refine_frames=false     # the paper's head (iv)
    .venv/bin/python benchmarks/fidelity.py --run runs/p0/wildghand-quick-synth-s0-92f4e2f96b \
        --capture capture04 --tracks ""                                      # a finished run's fit

Fits the quick preset of ``--method`` on the capture's training frames (``--dataset synth``:
the perturbed capture; ``synth-clean``: its clean twin; both give methods the estimator-noised
hand parameters), then prints one JSON line:

* ``fit``: wall and CPU seconds of the fit (setup included), torch threads, the 1-minute load
  average before and after (the machine may be shared: wall time alone says little), and the
  method's own split of its training time over phases (``timing`` in its diagnostics);
* ``pose_error``: the training poses against HWP-Synth's exact parameters, before (the
  estimates) and after training-pose refinement: mean joint error over the 21 joints in mm
  (camera space), root-relative mm (articulation only: the depth error of a monocular estimate
  dominates the camera-space figure) and px (the projection, what blurs an avatar). The
  estimate's shape is used in all three, so the figures measure pose only;
* per test-pose track: mean PSNR / SSIM / LPIPS of the test clip under ``--protocol`` (the
  default protocol unless named), and with
  ``--reference`` the perfect avatar (the generator's renderer) on the same track and frames:
  the ceiling.

With ``--run RUN_FOLDER`` nothing is fitted: the method is loaded from that run's checkpoint
of ``--capture`` with the run's own config (``run.json``), so the training-pose errors of the
fits behind the tables can be measured after the fact (``fit`` is then omitted).

This is the development measurement; the tables come from ``hwp-bench run --test-poses
exact|aligned`` (docs/fidelity.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

# Keep this folder off the import path (benchmarks/wildghand.py shadows the package).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]


def refined_training_hands(method) -> dict[int, dict[str, tuple]] | None:
    """Frame index -> side -> (pose, shape, trans) the method fitted its avatar to, or
    ``None`` for a method without training-pose refinement."""
    hooks = getattr(method, "hooks", None)
    if hooks is not None:
        from wildghand.refine import PoseRefinement

        try:
            return hooks.get(PoseRefinement).refined_hands(method)
        except LookupError:
            return None
    if hasattr(method, "refined_hands"):
        return method.refined_hands()
    return None


def pose_errors(refined, frames) -> dict[str, list[float]] | None:
    """``{"mm": [before, after], "rel_mm": [...], "px": [...]}`` (see the module docstring)."""
    import torch

    from hwp_bench.hand import load_hand_model

    if refined is None:
        return None
    hand = load_hand_model("open", 0)

    def joints(pose, shape, trans, side):
        t = [
            torch.as_tensor(np.asarray(x, np.float32)).reshape(1, -1) for x in (pose, shape, trans)
        ]
        with torch.no_grad():
            return hand(*t, side=side).joints[0].double().numpy()

    def project(j, K):
        q = j @ K.T
        return q[:, :2] / q[:, 2:]

    acc = {k: ([], []) for k in ("mm", "rel_mm", "px")}
    by_index = {int(f.index): f for f in frames}
    for index, hands in refined.items():
        f = by_index[int(index)]
        exact = (f.annotations or {}).get("exact_hands")
        if not exact:
            return None
        K = np.asarray(f.K, np.float64)
        for side, (pose, _shape, trans) in hands.items():
            est = f.hands[side]
            truth = joints(exact[side].pose, est.shape, exact[side].trans, side)
            for k, p in enumerate(
                (joints(est.pose, est.shape, est.trans, side), joints(pose, est.shape, trans, side))
            ):
                acc["mm"][k].append(np.linalg.norm(p - truth, axis=-1).mean() * 1e3)
                rel = (p - p[:1]) - (truth - truth[:1])
                acc["rel_mm"][k].append(np.linalg.norm(rel, axis=-1).mean() * 1e3)
                err = np.linalg.norm(project(p, K) - project(truth, K), axis=-1).mean()
                acc["px"][k].append(err)
    return {
        k: [round(float(np.mean(b)), 2), round(float(np.mean(a)), 2)] for k, (b, a) in acc.items()
    }


def score_track(
    method, frames, track: str, reference: bool, capture: str, dataset: str, protocol_id: str
):
    from hwp_bench.metrics.protocols import get_protocol
    from hwp_bench.tracks import frames_for_track

    protocol = get_protocol(protocol_id)
    frames = frames_for_track(frames, track)
    scores = [
        protocol.score_frame(out["color"], out.get("alpha"), f)
        for f in frames
        for out in [method.render(f.without_pixels())]
    ]
    row = {k: round(float(np.mean([s[k] for s in scores])), 4) for k in scores[0]}
    row["psnr_per_frame"] = [round(s["psnr"], 2) for s in scores]
    if reference:
        from hwp_bench.synth.reference import ReferenceRenderer, reference_scene

        ref = ReferenceRenderer(reference_scene(capture, clean=False))
        ceil = [
            protocol.score_frame(*ref.render(int(f.index), f.hands), f, metrics=("psnr",))["psnr"]
            for f in frames
        ]
        row["ceiling_psnr"] = round(float(np.mean(ceil)), 2)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", default="wildghand")
    ap.add_argument("--capture", default="capture00")
    ap.add_argument("--dataset", default="synth", help="synth | synth-clean (training frames)")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tracks", default="exact,aligned")
    ap.add_argument("--protocol", default="", help="scoring protocol (default: the default one)")
    ap.add_argument("--reference", action="store_true", help="also score the perfect avatar")
    ap.add_argument("--set", action="append", default=[], dest="overrides")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--save", default="", help="save the fitted method to this folder")
    ap.add_argument("--run", default="", help="load this hwp-bench run's fit instead of fitting")
    ap.add_argument(
        "--exact-train",
        action="store_true",
        help="train on the exact hand parameters (the pose oracle: the representation alone)",
    )
    ap.add_argument(
        "--aligned-train",
        action="store_true",
        help="start from the toolkit's test-pose aligner run on the training frames (their "
        "masks), cached like the aligned track: what training poses a mask fit can give",
    )
    args = ap.parse_args()
    from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL

    protocol_id = args.protocol or DEFAULT_PROTOCOL
    if args.exact_train and args.aligned_train:
        ap.error("--exact-train and --aligned-train exclude each other")

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from hwp_bench.data import load_frames
    from hwp_bench.methods.registry import get_method

    if args.run:  # the run says which training frames its fit saw
        args.dataset = json.loads((Path(args.run) / "run.json").read_text())["dataset"]
    train = load_frames(args.dataset, args.capture, "train")
    if args.exact_train:
        train = [replace(f, hands=dict(f.annotations["exact_hands"])) for f in train]
    if args.aligned_train:
        from hwp_bench.tracks import frames_for_track

        # pose_error's "before" is then the aligned poses' error, "after" the refined ones'
        train = frames_for_track(train, "aligned", progress=True)
    # The test clip is scored against the perturbed capture's frames (its test clip is clean:
    # the same pixels as the twin's), as hwp-bench run does.
    test = load_frames("synth", args.capture, "test")
    if args.run:
        run = json.loads((Path(args.run) / "run.json").read_text())
        args.method, args.seed = run["method"]["id"], int(run.get("seed", args.seed))
        args.overrides = list(run.get("overrides", []))
        cls = get_method(args.method)
        folder = Path(args.run) / "checkpoints" / args.capture
        if not (folder / cls.STATE_FILE).is_file():
            raise SystemExit(f"{folder} holds no finished fit ({cls.STATE_FILE} missing)")
        method = cls(config=run["config"], checkpoint=folder)
        method.setup(train)  # attaches the frames; the loaded avatar and corrections are kept
        out = {
            "method": args.method,
            "run": run.get("run", Path(args.run).name),
            "capture": args.capture,
            "dataset": args.dataset,
            "pose_error": pose_errors(refined_training_hands(method), train),
        }
        for track in [t for t in args.tracks.split(",") if t]:
            out[track] = score_track(
                method, test, track, args.reference, args.capture, args.dataset, protocol_id
            )
        print(json.dumps(out))
        return
    cls = get_method(args.method)
    if (
        (args.exact_train or args.aligned_train)
        and "train_poses" in cls.method_info().default_config
        and not any(o.startswith("train_poses=") for o in args.overrides)
    ):
        # The frames handed to the fit already carry the poses asked for; a method whose
        # default is train_poses=aligned would otherwise run the mask aligner again on them
        # (and, for --exact-train, move the exact poses: the oracle would be no oracle).
        args.overrides.append("train_poses=estimated")
    cfg = cls.method_info().resolve_config(args.preset, args.overrides, seed=args.seed)
    method = cls(config=cfg)
    load_before = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    method.setup(train)
    for step in range(method.num_iterations):
        method.train_iteration(step)
    fit = {
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(time.process_time() - c0, 1),
        "iterations": method.num_iterations,
        "threads": torch.get_num_threads(),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }
    diag = method.diagnostics() if hasattr(method, "diagnostics") else {}
    if "timing" in diag:
        fit["timing_s"] = {k: round(v, 1) for k, v in sorted(diag["timing"].items())}
    if args.save:
        method.save(args.save)
    out = {
        "method": args.method,
        "version": cls.method_info().version,
        "capture": args.capture,
        "dataset": args.dataset,
        "seed": args.seed,
        "overrides": args.overrides,
        "exact_train": args.exact_train,
        "aligned_train": args.aligned_train,
        "fit": fit,
        "pose_error": pose_errors(refined_training_hands(method), train),
    }
    for track in [t for t in args.tracks.split(",") if t]:
        out[track] = score_track(
            method, test, track, args.reference, args.capture, args.dataset, protocol_id
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
