"""Estimate MediaPipe landmark offsets on the open hand from HWP-Synth (needs the video extra).

    python scripts/calibrate_video_landmarks.py SYNTH_DIR --captures 1,2,5,9 [--mp4 DIR]

Writes each capture as an H.264 MP4 (what the import sees), runs MediaPipe Hands on it, and
solves the per-landmark offsets of hwp_bench.video.calibrate. Prints the residuals per landmark
before and after and the table to paste into hwp_bench/video/landmarks.py. The captures used
here must not be the ones the import is evaluated on (docs/video.md: 00, 04, 07).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("synth", type=Path)
    ap.add_argument("--captures", default="1,2,5,9")
    ap.add_argument("--mp4", type=Path, default=None, help="Keep the MP4s here.")
    ap.add_argument("--ridge", type=float, default=0.1, help="px of residual per mm of offset")
    args = ap.parse_args()

    from hwp_bench.data.loading import load_frames
    from hwp_bench.data.tags import capture_info
    from hwp_bench.video.calibrate import calibrate_on_synth
    from hwp_bench.video.decode import write_video
    from hwp_bench.video.estimator import MediaPipeHands
    from hwp_bench.video.landmarks import LANDMARK_NAMES

    caps = [capture_info(c.strip()).capture for c in args.captures.split(",") if c.strip()]
    mp4 = args.mp4 or Path(tempfile.mkdtemp(prefix="hwp-calib-"))
    videos = {}
    for cap in caps:
        frames = []
        for split in ("train", "validation", "test"):
            frames += load_frames(args.synth, cap, split)
        frames.sort(key=lambda f: f.index)
        path = mp4 / f"{cap}.mp4"
        write_video(path, (np.clip(f.image * 255 + 0.5, 0, 255).astype(np.uint8) for f in frames))
        videos[cap] = str(path)
    offsets, stats, hands = calibrate_on_synth(
        args.synth, caps, MediaPipeHands, videos, ridge_mm_px=args.ridge
    )
    print(f"{hands} hands from {', '.join(caps)}")
    print(f"{'landmark':12s} {'before px':>9s} {'after px':>8s}  offset mm (x, y, z)")
    for k, name in enumerate(LANDMARK_NAMES):
        o = offsets[k] * 1000
        print(
            f"{name:12s} {stats['before_px'][k]:9.2f} {stats['after_px'][k]:8.2f}  "
            f"({o[0]:6.1f}, {o[1]:6.1f}, {o[2]:6.1f})"
        )
    rows = ",\n".join("    (" + ", ".join(f"{v * 1000:.1f}" for v in o) + ")" for o in offsets)
    print("\nOPEN_HAND_MEDIAPIPE_OFFSETS_MM = (\n" + rows + ",\n)")


if __name__ == "__main__":
    main()
