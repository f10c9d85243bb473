"""Close-up figure of test renders from every method of a results folder (docs/fidelity.md).

    .venv/bin/python scripts/fidelity_figure.py --results runs/paper --capture capture04 \\
        --track aligned --out docs/fidelity_capture04.png
    .venv/bin/python scripts/fidelity_figure.py --results runs/paper runs/aligned-train \\
        --variant train_poses=aligned --capture capture00 --out docs/fidelity_aligned_all.png

Reads the result files under ``--results`` (``hwp-bench run`` output) for one capture, test-pose
track and protocol, takes each method's saved test renders (seed 0, the full method, or the
``--variant`` where a method has it: say ``train_poses=aligned``) and draws, for ``--frames``
test frames spread over the clip, the ground truth and every method **cropped to the hand
and enlarged** (nearest neighbour, so every pixel shows): at 128 px a whole frame is too small
to tell separated fingers, nails and creases from a blur. Columns: ground truth, the perfect avatar (ceiling) when present, the methods in
``--order`` (others after, alphabetically), the flat-colour floor last.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ORDER = (
    "perfect-avatar",
    "wildghand",
    "intergaussianhand",
    "robust-trimmed",
    "appearance-embedding",
    "handy",
    "uhm",
    "mean-color",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", nargs="+", default=["runs"], help="results folders")
    ap.add_argument("--capture", default="capture04")
    ap.add_argument("--track", default="aligned")
    ap.add_argument("--protocol", default="", help="default: the default protocol")
    ap.add_argument("--dataset", default="synth")
    ap.add_argument(
        "--variant",
        default="full",
        help="the methods' variant to show, e.g. train_poses=aligned (a method without it, such "
        "as the floor and the ceiling, shows its full variant)",
    )
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--scale", type=int, default=4, help="enlargement of the crops")
    ap.add_argument("--out", default="docs/fidelity_capture04.png")
    args = ap.parse_args()

    from PIL import Image, ImageDraw

    from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL

    args.protocol = args.protocol or DEFAULT_PROTOCOL
    from hwp_bench.data import load_frames
    from hwp_bench.results.collect import collect
    from hwp_bench.results.plots import hand_box
    from hwp_bench.results.report import _load_render

    records, _ = collect(args.results)
    chosen = {}
    for variant in dict.fromkeys([args.variant, "full"]):  # the asked variant first
        for rec in sorted(records, key=lambda r: r.path):
            if (rec.capture, rec.track, rec.protocol, rec.dataset, rec.variant, rec.seed) == (
                args.capture, args.track, args.protocol, args.dataset, variant, 0,
            ):  # fmt: skip
                chosen.setdefault(rec.method, rec)
    if not chosen:
        raise SystemExit(
            f"no results for {args.capture} on {args.dataset}/{args.protocol}/{args.track} "
            f"under {args.results}"
        )
    methods = [m for m in ORDER if m in chosen] + sorted(set(chosen) - set(ORDER))
    test = load_frames(args.dataset, args.capture, "test")
    picks = np.linspace(0, len(test) - 1, args.frames).round().astype(int)

    rows = []
    for i in picks:
        f = test[i]
        mask = np.asarray((f.annotations or {}).get("visible_mask", f.mask), np.float32)
        r0, r1, c0, c1 = hand_box(mask)
        tiles = [np.asarray(f.image, np.float32)[r0:r1, c0:c1]]
        for m in methods:
            img = _load_render(chosen[m], int(f.index))
            tiles.append(np.zeros_like(tiles[0]) if img is None else np.asarray(img)[r0:r1, c0:c1])
        size = (r1 - r0) * args.scale
        tiles = [
            np.asarray(
                Image.fromarray((np.clip(t, 0, 1) * 255).astype(np.uint8)).resize(
                    (size, size), Image.NEAREST
                )
            )
            for t in tiles
        ]
        rows.append(tiles)
    size = max(t.shape[0] for row in rows for t in row)
    gap, head = 4, 18
    names = ["ground truth", *methods]
    if args.variant != "full":  # say which columns show the variant
        names = [
            f"{n} *" if n in chosen and chosen[n].variant == args.variant else n for n in names
        ]
        head += 14
    canvas = Image.new(
        "RGB",
        (len(names) * (size + gap) + gap, head + len(rows) * (size + gap) + gap),
        (255, 255, 255),
    )
    draw = ImageDraw.Draw(canvas)
    for j, name in enumerate(names):
        draw.text((gap + j * (size + gap) + 2, 3), name, fill=(0, 0, 0))
    if args.variant != "full":
        draw.text((gap + 2, 17), f"* trained with {args.variant}", fill=(0, 0, 0))
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            canvas.paste(
                Image.fromarray(tile), (gap + j * (size + gap), head + gap + i * (size + gap))
            )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)
    print(f"wrote {out} ({len(rows)} frames x {len(names)} columns: {', '.join(names)})")


if __name__ == "__main__":
    main()
