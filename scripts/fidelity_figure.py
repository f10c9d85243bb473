"""Close-up figure of test renders from every method of a results folder (docs/fidelity.md).

    .venv/bin/python scripts/fidelity_figure.py --results runs/paper --capture capture04 \\
        --track aligned --out docs/fidelity_capture04.png
    .venv/bin/python scripts/fidelity_figure.py --results runs/paper runs/aligned-train \\
        --variant train_poses=aligned --capture capture00 --out docs/fidelity_aligned_all.png
    .venv/bin/python scripts/fidelity_figure.py --results runs/sub2 runs/exp-c07 \\
        --capture capture07 --extra wildghand:subdivision=1 --out docs/fidelity_capture07.png

Reads the result files under ``--results`` (``hwp-bench run`` output) for one capture, test-pose
track and protocol, takes each method's saved test renders (seed 0, the full method, or the
``--variant`` where a method has it: say ``train_poses=aligned``; ``--extra METHOD:VARIANT``
adds a column for one more variant of a method beside its default, say
``wildghand:subdivision=1``) and draws, for ``--frames``
test frames spread over the clip, the ground truth and every method **cropped to the hand
and enlarged** (nearest neighbour, so every pixel shows): at 128 px a whole frame is too small
to tell separated fingers, nails and creases from a blur. Columns: ground truth, the perfect avatar (ceiling) when present, the methods in
``--order`` (others after, alphabetically), the flat-colour floor last.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hwp_bench.results.collect import same_variant

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


def choose_columns(records, *, capture, track, protocol, dataset, variant="full", extras=()):
    """The figure's columns as ``(label, record)`` pairs, seed 0 only.

    Each method shows ``variant`` where it has runs with it (its label then ends in ``*``),
    else its full variant; methods in ``ORDER``, others after alphabetically. Each
    ``METHOD:VARIANT`` of ``extras`` adds a column labelled ``METHOD [VARIANT]`` right after
    METHOD's column. A missing extra, or no record at all, is a ``LookupError`` (a figure
    that silently drops the column it was asked for would mislead).
    """

    wanted_extras = []
    for item in extras:
        method, sep, extra_variant = item.partition(":")
        if not sep or not method or not extra_variant:
            raise LookupError(f"--extra wants METHOD:VARIANT, got {item!r}")
        wanted_extras.append((method, extra_variant))
    # every seed-0 record of this capture, track, protocol and dataset, in a stable order
    here = sorted(
        (
            r
            for r in records
            if (r.capture, r.track, r.protocol, r.dataset, r.seed)
            == (capture, track, protocol, dataset, 0)
        ),
        key=lambda r: r.path,
    )
    chosen = {}
    for want in dict.fromkeys([variant, "full"]):  # the asked variant first
        for rec in here:
            if same_variant(rec.variant, want):
                chosen.setdefault(rec.method, rec)
    if not chosen:
        raise LookupError(f"no results for {capture} on {dataset}/{protocol}/{track}")
    methods = [m for m in ORDER if m in chosen] + sorted(set(chosen) - set(ORDER))
    unknown = {m for m, _ in wanted_extras} - set(methods)
    if unknown:
        raise LookupError(f"--extra names methods with no column: {', '.join(sorted(unknown))}")
    columns = []
    for m in methods:
        rec = chosen[m]
        columns.append(
            (f"{m} *" if variant != "full" and same_variant(rec.variant, variant) else m, rec)
        )
        for method, extra_variant in wanted_extras:
            if method != m:
                continue
            rec = next(
                (r for r in here if r.method == m and same_variant(r.variant, extra_variant)), None
            )
            if rec is None:
                found = sorted({r.variant for r in here if r.method == m})
                raise LookupError(
                    f"no seed-0 results of {m} with {extra_variant} for {capture} on "
                    f"{dataset}/{protocol}/{track}; its variants there: {', '.join(found)}"
                )
            columns.append((f"{m} [{extra_variant}]", rec))
    return columns


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
    ap.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="METHOD:VARIANT",
        help="one more column: METHOD's runs with VARIANT (e.g. wildghand:subdivision=1), "
        "after that method's default column; repeatable",
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
    try:
        columns = choose_columns(
            records,
            capture=args.capture,
            track=args.track,
            protocol=args.protocol,
            dataset=args.dataset,
            variant=args.variant,
            extras=args.extra,
        )
    except LookupError as e:
        raise SystemExit(f"{e} under {args.results}") from None
    test = load_frames(args.dataset, args.capture, "test")
    picks = np.linspace(0, len(test) - 1, args.frames).round().astype(int)

    rows = []
    for i in picks:
        f = test[i]
        mask = np.asarray((f.annotations or {}).get("visible_mask", f.mask), np.float32)
        r0, r1, c0, c1 = hand_box(mask)
        tiles = [np.asarray(f.image, np.float32)[r0:r1, c0:c1]]
        for _, rec in columns:
            img = _load_render(rec, int(f.index))
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
    names = ["ground truth", *(label for label, _ in columns)]
    if args.variant != "full":
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
