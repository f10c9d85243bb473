"""Close-ups of finished runs' test renders side by side, cropped to the hand (no refitting).

    .venv/bin/python scripts/render_crops_figure.py --capture capture08 \
        --run "default=runs/p0/wildghand-quick-synth-s0-9d404a4618" \
        --run "pao=off=runs/p0/wildghand-quick-synth-s0-696d577bda" \
        --out docs/fidelity_pao_nails.png

Each ``--run LABEL=FOLDER`` is an ``hwp-bench run`` folder whose renders of ``--capture`` on
``--track`` are on disk (``renders/<track>/<capture>/<index>.npy``); the first column is the
ground truth. Why a separate script from ``hwp-bench results report``: this compares variants
of one method (options, ablations), which the report groups away.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def _crop_box(mask: np.ndarray, pad: int = 3) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask > 0.5)
    if len(ys) == 0:
        return 0, mask.shape[0], 0, mask.shape[1]
    return max(ys.min() - pad, 0), ys.max() + pad + 1, max(xs.min() - pad, 0), xs.max() + pad + 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--capture", required=True)
    ap.add_argument("--dataset", default="synth")
    ap.add_argument("--track", default="aligned")
    ap.add_argument("--run", action="append", required=True, help="LABEL=RUN_FOLDER")
    ap.add_argument("--frames", type=int, default=2, help="test frames shown (evenly spaced)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hwp_bench.data import load_frames

    runs = []
    for spec in args.run:
        label, sep, folder = spec.rpartition("=")
        if not sep or not label:
            ap.error(f"--run wants LABEL=RUN_FOLDER, got {spec!r}")
        renders = Path(folder) / "renders" / args.track / args.capture
        if not renders.is_dir():
            ap.error(f"{folder} has no renders of {args.capture} on {args.track} ({renders})")
        runs.append((label, renders))
    test = sorted(load_frames(args.dataset, args.capture, "test"), key=lambda f: f.index)
    picks = [test[i] for i in np.linspace(0, len(test) - 1, args.frames).round().astype(int)]
    cols = [("ground truth", None), *runs]
    fig, axes = plt.subplots(
        len(picks), len(cols), figsize=(2.8 * len(cols), 2.8 * len(picks)), squeeze=False
    )
    for r, frame in enumerate(picks):
        y0, y1, x0, x1 = _crop_box(frame.mask)
        for c, (label, renders) in enumerate(cols):
            img = frame.image if renders is None else np.load(renders / f"{frame.index:05d}.npy")
            ax = axes[r, c]
            ax.imshow(np.clip(img[y0:y1, x0:x1], 0, 1), interpolation="nearest")
            ax.axis("off")
            if r == 0:
                ax.set_title(label, fontsize=8)
    fig.suptitle(f"{args.dataset} {args.capture}, test frames, {args.track} test poses", fontsize=9)
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp" + out.suffix)
    fig.savefig(tmp, dpi=90)
    tmp.replace(out)
    print(out)


if __name__ == "__main__":
    main()
