"""Qualitative figure for the README: WildGHand on one HWP-Synth capture.

    .venv/bin/python scripts/wildghand_figure.py --capture capture04 --out docs/wildghand

Fits the quick preset on the capture's training frames (or loads ``--checkpoint``, a folder
written by ``save``), then draws:

* top: three test frames, ground truth above the WildGHand render;
* bottom: the most perturbed training frame (by HWP-Synth's recorded strengths), the render
  of it *with* DPD's biases (what training saw), its PAO weight map W, and the temporal weight
  omega over the training clip beside the frames' recorded perturbation strength.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def _strength(frame) -> float:
    from hwp_bench.results.omega import frame_strengths

    s = frame_strengths(frame.annotations or {})
    return max(s.values()) if s else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--capture", default="capture04")
    ap.add_argument("--source", default="synth")
    ap.add_argument("--out", default="docs/wildghand")
    ap.add_argument("--checkpoint", default="")
    ap.add_argument("--set", action="append", default=[], dest="overrides")
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch
    from wildghand.method import WildGHand

    from hwp_bench.data import load_frames

    train = load_frames(args.source, args.capture, "train")
    test = load_frames(args.source, args.capture, "test")
    cfg = WildGHand.method_info().resolve_config("quick", args.overrides, seed=0)
    m = WildGHand(config=cfg)
    m.setup(train)
    if args.checkpoint:
        m.load(args.checkpoint)
    else:
        m.fit(train)
    diag = m.diagnostics()

    strengths = [_strength(f) for f in train]
    k = int(np.argmax(strengths))
    worst = train[k]
    # the training-time render of that frame (DPD biases on, omega without dropout)
    m.dpd.eval()
    fr = m._frames[k]
    with torch.no_grad():
        gs = m._gaussians(fr.hands, fr.t, train=bool(cfg["dpd"]))
        biased = m._rasterize(gs, fr.K, *fr.image.shape[:2])["color"].clamp(0, 1).numpy()
    w_map = diag["pao_weight"].get(worst.index)
    if w_map is None and cfg["pao"] != "off":  # loaded from a checkpoint: compute W now
        with torch.no_grad():
            out = m._rasterize(gs, fr.K, *fr.image.shape[:2])
            omega = float(next(iter(gs.values())).omega_raw[0]) if cfg["dpd"] else 0.0
            w_map = m.pao_result(k, out, m.training_target(fr), omega).weight.numpy()

    picks = np.linspace(0, len(test) - 1, 3).round().astype(int)
    fig = plt.figure(figsize=(10, 7))
    for j, i in enumerate(picks):
        f = test[i]
        r = m.render(f.without_pixels())["color"]
        ax = fig.add_subplot(3, 4, 1 + j)
        ax.imshow(np.clip(f.image, 0, 1))
        ax.set_title(f"test {f.index}: ground truth", fontsize=8)
        ax.axis("off")
        ax = fig.add_subplot(3, 4, 5 + j)
        ax.imshow(np.clip(r, 0, 1))
        ax.set_title("WildGHand", fontsize=8)
        ax.axis("off")
    ax = fig.add_subplot(3, 4, 9)
    ax.imshow(np.clip(worst.image, 0, 1))
    ax.set_title(f"train {worst.index} (strength {strengths[k]:.2f})", fontsize=8)
    ax.axis("off")
    ax = fig.add_subplot(3, 4, 10)
    ax.imshow(biased)
    ax.set_title("render with DPD biases", fontsize=8)
    ax.axis("off")
    ax = fig.add_subplot(3, 4, 11)
    if w_map is not None:
        im = ax.imshow(w_map, cmap="magma")
        fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title("PAO weight W", fontsize=8)
    ax.axis("off")
    ax = fig.add_subplot(3, 4, 12)
    idx = [f.index for f in train]
    om = [abs(diag["omega"][i]) for i in idx]
    ax.plot(idx, om, label="|omega|")
    ax2 = ax.twinx()
    ax2.plot(idx, strengths, color="tab:red", alpha=0.5, label="strength")
    ax.set_title("temporal weight vs perturbation", fontsize=8)
    ax.tick_params(labelsize=6)
    ax2.tick_params(labelsize=6)
    fig.suptitle(f"WildGHand (quick) on HWP-Synth {args.capture}", fontsize=10)
    fig.tight_layout()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / f"qualitative_{args.capture}.png", dpi=110)
    corr = float(np.corrcoef(om, strengths)[0, 1]) if np.std(strengths) > 0 else float("nan")
    summary = {
        "capture": args.capture,
        "mean_abs_omega": float(np.mean(om)),
        "pearson_abs_omega_strength": corr,
        "thresholds": diag["thresholds"],
    }
    (out / f"qualitative_{args.capture}.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
