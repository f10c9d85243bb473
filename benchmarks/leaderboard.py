"""Leaderboard figures: scoring throughput and upload handling under bounded local load.

1. Scoring: frames per second of ``score_archive`` (PNG decode with limits + the registered
   protocol, hwp-v1 by default, LPIPS included) on HWP-sized 256x256 test frames, next to the
   decode-and-validate cost alone.
2. Uploads: a server process (uvicorn on 127.0.0.1, one scoring thread) receives N concurrent
   small submissions from N teams; reports upload latency (median, p95, max), how long until
   every submission is scored, and checks that none was lost: N rows, all ``done``, each with
   scores for every frame.

    python benchmarks/leaderboard.py [--concurrency 50] [--frames 40] [--size 256]

Numbers depend on the machine's load; the script prints medians of repeated timings.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from hwp_bench.data import Frame, HandParams

TAGS = {"capture04": ["hoi", "blur"], "capture05": ["hoi", "complex_pose"]}


def make_frames(size: int, per_capture: int, seed: int = 0) -> dict[str, list[Frame]]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    out = {}
    for cap, tags in TAGS.items():
        frames = []
        for i in range(per_capture):
            mask = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2 <= (0.35 * size) ** 2).astype(
                np.float32
            )
            img = rng.uniform(0, 1, (size, size, 3)).astype(np.float32)
            frames.append(
                Frame(
                    image=img,
                    capture=cap,
                    index=1000 + i,
                    num_frames=1000 + per_capture,
                    K=np.eye(3, dtype=np.float32),
                    hands={"right": HandParams(np.zeros(48), np.zeros(10), [0, 0, 0.5])},
                    mask=mask,
                    hand_type="inter",
                    split="test",
                    tags=list(tags),
                )
            )
        out[cap] = frames
    return out


def ground_truth(frames):  # noqa: ANN001, ANN201
    from hwp_leaderboard.groundtruth import FramesGroundTruth

    return FramesGroundTruth(frames, {"inter": sorted(frames)}, dataset_id="bench")


def write_submission(frames, out: Path, *, noise: float, seed: int, method: str) -> Path:  # noqa: ANN001
    from hwp_leaderboard.pack import pack_submission

    rng = np.random.default_rng(seed)
    run = out.with_suffix("")
    for cap, fr in frames.items():
        d = run / "renders" / cap
        d.mkdir(parents=True, exist_ok=True)
        for f in fr:
            np.save(
                d / f"{f.index:05d}.npy",
                np.clip(f.image + rng.normal(0, noise, f.image.shape), 0, 1),
            )
    return pack_submission(run, out, {"method": method, "authors": ["bench"], "split": "inter"})


def bench_scoring(tmp: Path, size: int, per_capture: int, repeats: int) -> dict:
    from hwp_leaderboard.archive import inspect_archive, iter_renders
    from hwp_leaderboard.scoring import protocol_scorer, score_archive

    frames = make_frames(size, per_capture)
    gt = ground_truth(frames)
    sub = write_submission(frames, tmp / "score.zip", noise=0.05, seed=1, method="bench")
    spec = gt.spec("inter")
    index = inspect_archive(sub, spec=spec)
    n = spec.num_frames
    scorer = protocol_scorer("hwp-v1")
    score_archive(sub, index, gt, scorer)  # warm-up (LPIPS weights, torch kernels)
    decode, full = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        inspect_archive(sub, spec=spec)
        for _ in iter_renders(sub, index, spec):
            pass
        decode.append(time.perf_counter() - t)
        t = time.perf_counter()
        score_archive(sub, index, gt, scorer)
        full.append(time.perf_counter() - t)
    return {
        "frames": n,
        "size": size,
        "validate_decode_fps": n / statistics.median(decode),
        "score_fps": n / statistics.median(full),
    }


def _serve(port: int, storage: str, size: int, per_capture: int) -> None:
    import logging

    import uvicorn
    from hwp_leaderboard.server import Settings, create_app

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(storage=Path(storage), quota_per_day=10, poll_s=0.2, workers=1)
    app = create_app(settings, ground_truth(make_frames(size, per_capture)))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


async def _upload_all(
    url: str, tokens: list[str], payloads: list[bytes]
) -> list[tuple[int, float, str]]:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=300) as client:

        async def one(token: str, data: bytes) -> tuple[int, float, str]:
            t = time.perf_counter()
            r = await client.post(
                "/api/submissions", content=data, headers={"Authorization": f"Bearer {token}"}
            )
            return r.status_code, time.perf_counter() - t, r.json().get("id", "")

        return await asyncio.gather(*(one(t, d) for t, d in zip(tokens, payloads, strict=True)))


def bench_uploads(tmp: Path, concurrency: int, size: int, per_capture: int) -> dict:
    import httpx
    from hwp_leaderboard.database import Store
    from hwp_leaderboard.files import FileStore

    storage = tmp / "server"
    store = Store(FileStore(storage).default_database_url)
    tokens = []
    for i in range(concurrency):
        store.create_team(f"team{i:03d}")
        tokens.append(store.create_token(f"team{i:03d}"))
    frames = make_frames(size, per_capture)
    payloads = [
        write_submission(
            frames, tmp / f"sub{i:03d}.zip", noise=0.02 + 0.002 * i, seed=i, method=f"m{i}"
        ).read_bytes()
        for i in range(concurrency)
    ]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = mp.get_context("spawn").Process(
        target=_serve, args=(port, str(storage), size, per_capture), daemon=True
    )
    proc.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        t0 = time.perf_counter()
        results = asyncio.run(_upload_all(url, tokens, payloads))
        upload_wall = time.perf_counter() - t0
        while True:
            counts = httpx.get(url + "/api/health", timeout=30).json()["queue"]
            if counts["pending"] == 0 and counts["scoring"] == 0:
                break
            time.sleep(0.2)
        drain_wall = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.join(30)
    lat = sorted(r[1] for r in results)
    accepted = [r for r in results if r[0] == 202]
    rows = store.list_submissions()
    done = [
        r for r in rows if r["status"] == "done" and r["scores"]["num_frames"] == 2 * per_capture
    ]
    lost = {r[2] for r in accepted} - {r["id"] for r in done}
    return {
        "uploads": concurrency,
        "accepted": len(accepted),
        "bytes_each": len(payloads[0]),
        "latency_median_s": statistics.median(lat),
        "latency_p95_s": lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))],
        "latency_max_s": lat[-1],
        "upload_wall_s": upload_wall,
        "all_scored_s": drain_wall,
        "rows": len(rows),
        "done": len(done),
        "lost": len(lost),
        "frames_scored_per_s": len(done) * 2 * per_capture / max(drain_wall - 0, 1e-9),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument(
        "--frames", type=int, default=40, help="test frames per capture (2 captures) for scoring"
    )
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument(
        "--upload-frames", type=int, default=2, help="frames per capture in each upload"
    )
    ap.add_argument("--upload-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}, python {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        s = bench_scoring(tmp, args.size, args.frames, args.repeats)
        print(
            f"\nscoring {s['frames']} frames of {s['size']}x{s['size']} (hwp-v1: PSNR, SSIM, LPIPS), "
            f"median of {args.repeats}:"
        )
        print(f"  validate + decode PNG : {s['validate_decode_fps']:8.1f} frames/s")
        print(f"  full scoring          : {s['score_fps']:8.1f} frames/s")
        u = bench_uploads(
            tmp / uuid.uuid4().hex, args.concurrency, args.upload_size, args.upload_frames
        )
        print(
            f"\n{u['uploads']} concurrent uploads of {u['bytes_each'] / 1024:.0f} KiB "
            f"({2 * args.upload_frames} frames of {args.upload_size}x{args.upload_size}), one server "
            "process with one scoring thread:"
        )
        print(f"  accepted (202)        : {u['accepted']}/{u['uploads']}")
        print(
            f"  upload latency        : median {u['latency_median_s']:.3f} s, p95 {u['latency_p95_s']:.3f} s, "
            f"max {u['latency_max_s']:.3f} s"
        )
        print(f"  all uploads returned  : {u['upload_wall_s']:.2f} s")
        print(f"  all scored            : {u['all_scored_s']:.2f} s after the first upload")
        print(f"  database rows / done  : {u['rows']} / {u['done']}, lost: {u['lost']}")
        return 0 if u["lost"] == 0 and u["done"] == u["uploads"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
