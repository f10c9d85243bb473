"""Forward (and optionally backward) time of the hand models per subdivision level.

Prints the median over repeats of ``model(pose, shape, trans)`` for batch sizes 1 and 64 at
subdivision levels 0-3 (float32, CPU unless --device). Timings are wall-clock and noisy on a
shared machine: the median of ``--repeats`` runs after one warm-up.

    python benchmarks/hand.py [--model open] [--levels 0 1 2 3] [--batches 1 64] [--backward]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from hwp_bench.hand import load_hand_model


def time_forward(model, batch: int, repeats: int, backward: bool, device: str) -> float:
    g = torch.Generator().manual_seed(0)
    pose = (0.3 * torch.randn(batch, 48, generator=g)).to(device)
    shape = torch.randn(batch, 10, generator=g).to(device)
    trans = torch.randn(batch, 3, generator=g).to(device)
    if backward:
        pose.requires_grad_(True)

    def run() -> None:
        if backward:
            out = model(pose, shape, trans)
            out.vertices.sum().backward()
        else:
            with torch.no_grad():
                model(pose, shape, trans)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    run()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="open")
    parser.add_argument("--levels", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--backward", action="store_true", help="time forward + backward")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    what = "forward+backward" if args.backward else "forward"
    print(
        f"{args.model} hand, {what}, float32, {args.device}, torch threads "
        f"{torch.get_num_threads()}, median of {args.repeats}"
    )
    print("| level | vertices | " + " | ".join(f"B={b} (ms)" for b in args.batches) + " |")
    print("|---|---|" + "---|" * len(args.batches))
    for level in args.levels:
        model = load_hand_model(args.model, level, device=args.device)
        cells = [
            f"{1000 * time_forward(model, b, args.repeats, args.backward, args.device):.2f}"
            for b in args.batches
        ]
        print(f"| {level} | {model.num_vertices:,} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
