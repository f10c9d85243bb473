"""How well does ``import-video`` recover hands? HWP-Synth captures as MP4s, imported, compared.

    python benchmarks/video_import.py [--synth DIR] [--captures 0,4,7] [--work DIR]

(needs the ``video`` extra for MediaPipe). For each capture: the frames are written as an
H.264 MP4 (crf 18, 30 fps), the MP4s are imported with ``--crop none --size 128`` (frames,
masks and K then line up with HWP-Synth's own, so masks compare pixel for pixel), and
:func:`hwp_bench.video.evaluate.compare_capture` measures hands found, 2D joint error (px),
3D joint error after root alignment (mm) and mask IoU, for the fitted parameters and for the
dataset's estimated ones. Prints a markdown table and writes ``video_import.json`` in
``--work``. Pass ``--imported DIR`` to measure an existing import instead of making one.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synth", type=Path, default=None, help="HWP-Synth folder (default: quick)")
    ap.add_argument("--captures", default="0,4,7")
    ap.add_argument("--work", type=Path, default=Path("video-import-bench"))
    ap.add_argument("--imported", type=Path, default=None)
    ap.add_argument("--crf", type=int, default=18)
    args = ap.parse_args()

    from hwp_bench.data.loading import load_frames
    from hwp_bench.data.tags import capture_info
    from hwp_bench.synth import ensure_synth
    from hwp_bench.video.decode import write_video
    from hwp_bench.video.evaluate import compare_capture

    caps = [capture_info(c.strip()).capture for c in args.captures.split(",") if c.strip()]
    synth = args.synth or ensure_synth("quick", 0, captures=caps)
    args.work.mkdir(parents=True, exist_ok=True)
    imported = args.imported
    seconds = None
    if imported is None:
        from hwp_bench.video.importer import ImportOptions, import_videos

        videos = []
        for cap in caps:
            frames = []
            for split in ("train", "validation", "test"):
                frames += load_frames(synth, cap, split)
            frames.sort(key=lambda f: f.index)
            path = args.work / f"{cap}.mp4"
            imgs = (np.clip(f.image * 255 + 0.5, 0, 255).astype(np.uint8) for f in frames)
            write_video(path, imgs, crf=args.crf)
            videos.append(path)
        imported = args.work / "imported"
        t0 = time.perf_counter()
        import_videos(
            videos,
            imported,
            captures=caps,
            options=ImportOptions(crop="none", size=128),
            overwrite=True,
            echo=print,
        )
        seconds = time.perf_counter() - t0
    rows = []
    out = {"synth": str(synth), "imported": str(imported), "import_seconds": seconds}
    for cap in caps:
        c = compare_capture(imported, synth, cap)
        out[cap] = c.to_json()
        f, e = c.fitted, c.estimated
        rows.append(
            f"| {cap} | {c.found_share:.0%} | {f.err2d_median_px:.2f} ({e.err2d_median_px:.2f}) "
            f"| {f.err3d_median_mm:.1f} ({e.err3d_median_mm:.1f}) "
            f"| {f.mask_iou_mean:.3f} ({e.mask_iou_mean:.3f}) "
            f"| {f.mask_iou_median:.3f} ({e.mask_iou_median:.3f}) |"
        )
    print(
        "| capture | hands found | 2D joint error, median px | 3D joint error after root "
        "alignment, median mm | mask IoU, mean | mask IoU, median |\n|---|---|---|---|---|---|"
    )
    print("\n".join(rows))
    print("(fitted by import-video; in brackets: the dataset's estimated parameters)")
    if seconds is not None:
        print(f"import of {len(caps)} captures: {seconds:.0f} s")
    (args.work / "video_import.json").write_text(json.dumps(out, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
