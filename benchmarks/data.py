"""Loading speed of the torch view: 1,000 frames of 256x256 (target: under 5 s).

Writes a temporary dataset (two inter captures of 625 frames -> 1,000 train frames, photo-like
images: smooth colour fields plus sensor noise, hand masks, both hands), then times

* ``FrameDataset.from_folder(root, "inter", "train")`` + decoding every frame (the runner's path),
* the same through ``hwp_bench.load_dataset`` (``datasets``' Arrow cache) + ``FrameDataset(ds)``.

Prints the median of ``--repeats`` runs, wall clock and process CPU time (the CPU time is
what a shared, overloaded machine distorts least). Usage: ``python benchmarks/data.py [--frames 1000]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def photo_like(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth random colour field with noise: compresses like a photo, not like pure noise."""
    coarse = rng.random((8, 8, 3)).astype(np.float32)
    img = np.kron(coarse, np.ones((size // 8, size // 8, 1), np.float32))
    img += rng.normal(0, 0.03, img.shape).astype(np.float32)
    return np.clip(img, 0, 1)


def write(root: Path, per_capture: int, size: int) -> None:
    from hwp_bench.data.frame import Frame, HandParams
    from hwp_bench.data.layout import DatasetWriter

    rng = np.random.default_rng(0)
    base = [photo_like(rng, size) for _ in range(16)]
    writer = DatasetWriter(root, name="bench")
    for cap in ("capture04", "capture05"):

        def frames(cap=cap):
            for i in range(per_capture):
                mask = np.zeros((size, size), np.float32)
                mask[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
                hands = {
                    s: HandParams(rng.normal(size=48), rng.normal(size=10), [0, 0, 0.5])
                    for s in ("right", "left")
                }
                yield Frame(
                    image=np.roll(base[i % 16], i, axis=1),
                    capture=cap,
                    index=i,
                    num_frames=per_capture,
                    K=np.diag([500.0, 500.0, 1.0]),
                    hands=hands,
                    mask=mask,
                    hand_type="inter",
                )

        writer.write_capture(
            cap, frames(), num_frames=per_capture, hand_type="inter", progress=True
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1000, help="train frames in the view")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    per_capture = -(-args.frames * 10 // 16)  # two captures, 80% train each
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        os.environ.setdefault("HF_HOME", str(Path(tmp) / "hf"))
        t = time.perf_counter()
        write(root, per_capture, args.size)
        t_write = time.perf_counter() - t
        size_mb = sum(f.stat().st_size for f in root.rglob("*.parquet")) / 1e6

        import torch  # noqa: F401  (import cost is not part of the measurement)

        from hwp_bench import load_dataset
        from hwp_bench.data.torch_view import FrameDataset

        def via_folder() -> int:
            view = FrameDataset.from_folder(root, "inter", "train")
            return sum(f.image.shape[0] for f in view) // args.size

        def via_datasets() -> int:
            ds = load_dataset(root, "inter", split="train", cache_dir=str(Path(tmp) / "cache"))
            return sum(f.image.shape[0] for f in FrameDataset(ds)) // args.size

        for name, fn in (
            ("folder -> torch view", via_folder),
            ("datasets -> torch view", via_datasets),
        ):
            times, cpu = [], []
            for _ in range(args.repeats):
                t, c = time.perf_counter(), time.process_time()
                n = fn()
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            print(
                f"{name}: {n} frames of {args.size}x{args.size} in {statistics.median(times):.2f} s "
                f"wall, {statistics.median(cpu):.2f} s CPU (median of {args.repeats}; wall runs "
                f"{', '.join(f'{x:.2f}' for x in times)})"
            )
        print(f"writing {2 * per_capture} frames: {t_write:.1f} s, {size_mb:.0f} MB of Parquet")
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
