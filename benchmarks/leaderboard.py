"""Leaderboard figures: scoring throughput, upload handling, and a dataset-size submission.

1. Scoring: frames per second of ``score_archive`` (PNG decode with limits + the registered
   protocol, hwp-v1 by default, LPIPS included) on HWP-sized 256x256 test frames, next to the
   decode-and-validate cost alone; scored one frame at a time in the process (the previous
   way, ``HWP_SCORING_WORKERS=1``) and in chunks on every core (now), in the same run.
2. Uploads: a server process (uvicorn on 127.0.0.1, one scoring thread) receives N concurrent
   small submissions from N teams; reports upload latency (median, p95, max), how long until
   every submission is scored, and checks that none was lost: N rows, all ``done``, each with
   scores for every frame.
3. Dataset scale: one submission the size of real HWP's test clips (``--e2e-frames`` 1,380
   frames of 256 px, synthetic) uploaded to a server process; seconds from the upload's start
   to its 202, and from the 202 until its scores are published on ``/leaderboard.json``; again
   previous (one frame at a time) and now (every core). ``--e2e-frames 0`` skips it.

    python benchmarks/leaderboard.py [--concurrency 50] [--frames 40] [--size 256]
    python benchmarks/leaderboard.py --only-e2e --e2e-frames 1380

Numbers depend on the machine's load; the script prints medians of repeated timings and the
load average.
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


def _test_frame(image: np.ndarray, mask: np.ndarray, cap: str, i: int, per_capture: int, tags):
    """One test frame of a synthetic capture (hand parameters are placeholders: scoring
    reads pixels and masks only)."""
    return Frame(
        image=image,
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


def make_frames(size: int, per_capture: int, seed: int = 0) -> dict[str, list[Frame]]:
    """White-noise frames with a disc mask of 35% of the side."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    mask = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2 <= (0.35 * size) ** 2).astype(np.float32)
    out = {}
    for cap, tags in TAGS.items():
        out[cap] = [
            _test_frame(
                rng.uniform(0, 1, (size, size, 3)).astype(np.float32),
                mask,
                cap,
                i,
                per_capture,
                tags,
            )
            for i in range(per_capture)
        ]
    return out


def make_frames_smooth(size: int, per_capture: int, seed: int = 0) -> dict[str, list[Frame]]:
    """Like :func:`make_frames` with image-like pixels (smooth shading, a little noise), so
    that their PNGs compress like renders do rather than like white noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = {}
    for cap, tags in TAGS.items():
        frames = []
        for i in range(per_capture):
            cy, cx = 0.5 + 0.05 * np.sin(i / 9), 0.5 + 0.05 * np.cos(i / 11)
            mask = ((((yy - cy) / 0.38) ** 2 + ((xx - cx) / 0.34) ** 2) <= 1).astype(np.float32)
            phase = rng.uniform(0, 2 * np.pi, 3)
            base = 0.5 + 0.3 * np.sin(6 * xx[..., None] + 4 * yy[..., None] + phase)
            img = base * (0.4 + 0.6 * mask[..., None]) + rng.normal(0, 0.01, (size, size, 3))
            img = np.clip(img, 0, 1).astype(np.float32)
            frames.append(_test_frame(img, mask, cap, i, per_capture, tags))
        out[cap] = frames
    return out


def ground_truth(frames):  # noqa: ANN001, ANN201
    from hwp_leaderboard.groundtruth import FramesGroundTruth

    return FramesGroundTruth(frames, {"inter": sorted(frames)}, dataset_id="bench")


def write_submission(frames, out: Path, *, noise: float, seed: int, method: str) -> Path:  # noqa: ANN001
    from hwp_leaderboard.pack import pack_submission

    """A run folder as a method writes it, packed: per frame the hand drawn on black
    (``<index>.npy``) and its silhouette (``<index>.alpha.npy``): the frame's mask with a
    little noise. With a silhouette, ``hwp-v2`` registers the render (its costly part)."""
    rng = np.random.default_rng(seed)
    run = out.with_suffix("")
    for cap, fr in frames.items():
        d = run / "renders" / cap
        d.mkdir(parents=True, exist_ok=True)
        for f in fr:
            alpha = np.clip(f.mask + rng.normal(0, 0.02, f.mask.shape), 0, 1)
            color = np.clip(f.image + rng.normal(0, noise, f.image.shape), 0, 1)
            np.save(d / f"{f.index:05d}.npy", (color * alpha[..., None]).astype(np.float32))
            np.save(d / f"{f.index:05d}.alpha.npy", alpha.astype(np.float32))
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
    decode, full = [], {"1": [], "": []}
    with_workers = {"1": "previous (one frame at a time)", "": "now (every core)"}
    for workers in with_workers:  # warm-up: LPIPS weights, torch kernels, the pool
        with _scoring_workers(workers):
            score_archive(sub, index, gt, scorer)
    for _ in range(repeats):
        t = time.perf_counter()
        inspect_archive(sub, spec=spec)
        for _ in iter_renders(sub, index, spec):
            pass
        decode.append(time.perf_counter() - t)
        for workers in with_workers:
            with _scoring_workers(workers):
                t = time.perf_counter()
                score_archive(sub, index, gt, scorer)
                full[workers].append(time.perf_counter() - t)
    return {
        "frames": n,
        "size": size,
        "validate_decode_fps": n / statistics.median(decode),
        "score_fps": {with_workers[w]: n / statistics.median(v) for w, v in full.items()},
    }


class _scoring_workers:  # noqa: N801 - used like a function
    """``HWP_SCORING_WORKERS`` set (or unset, for "") inside the block."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __enter__(self) -> None:
        from hwp_bench.metrics.parallel import WORKERS_ENV

        self.old = os.environ.pop(WORKERS_ENV, None)
        if self.value:
            os.environ[WORKERS_ENV] = self.value

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        from hwp_bench.metrics.parallel import WORKERS_ENV

        os.environ.pop(WORKERS_ENV, None)
        if self.old is not None:
            os.environ[WORKERS_ENV] = self.old


def _serve(
    port: int, storage: str, size: int, per_capture: int, smooth: bool = False, workers: str = ""
) -> None:
    import logging

    import uvicorn
    from hwp_leaderboard.limits import Limits
    from hwp_leaderboard.server import Settings, create_app

    from hwp_bench.metrics.parallel import WORKERS_ENV

    if workers:
        os.environ[WORKERS_ENV] = workers
    logging.basicConfig(level=logging.WARNING)
    settings = Settings(
        storage=Path(storage),
        quota_per_day=10,
        poll_s=0.2,
        workers=1,
        limits=Limits(max_upload_bytes=1024**3),
    )
    frames = (make_frames_smooth if smooth else make_frames)(size, per_capture)
    app = create_app(settings, ground_truth(frames))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _start_server(storage: Path, size: int, per_capture: int, **kw):  # noqa: ANN003, ANN202
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = mp.get_context("spawn").Process(
        target=_serve, args=(port, str(storage), size, per_capture), kwargs=kw, daemon=False
    )
    proc.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        try:
            if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or not proc.is_alive():
            proc.terminate()
            raise RuntimeError("server did not start")
        time.sleep(0.2)


def bench_dataset_scale(
    tmp: Path, n_frames: int, size: int, workers: str, timeout_s: float = 900.0
) -> dict:
    """One HWP-size submission: upload, then wait until its scores are on the leaderboard."""
    import httpx
    from hwp_leaderboard.database import Store
    from hwp_leaderboard.files import FileStore

    per_capture = n_frames // 2
    storage = tmp / f"server-{workers or 'all'}"
    store = Store(FileStore(storage).default_database_url)
    store.create_team("hwp")
    token = store.create_token("hwp")
    sub = tmp / "hwp-size.zip"
    if not sub.exists():
        t = time.perf_counter()
        write_submission(
            make_frames_smooth(size, per_capture), sub, noise=0.03, seed=5, method="hwp-size"
        )
        print(f"  (packed {2 * per_capture} frames in {time.perf_counter() - t:.0f} s)", flush=True)
    data = sub.read_bytes()
    proc, url = _start_server(storage, size, per_capture, smooth=True, workers=workers)
    auth = {"Authorization": f"Bearer {token}"}
    try:
        t0 = time.perf_counter()
        r = httpx.post(url + "/api/submissions", content=data, headers=auth, timeout=600)
        t_upload = time.perf_counter()
        if r.status_code != 202:
            raise RuntimeError(f"upload refused: {r.status_code} {r.text[:300]}")
        sid = r.json()["id"]
        deadline = t_upload + timeout_s
        while True:
            body = httpx.get(f"{url}/api/submissions/{sid}", headers=auth, timeout=30).json()
            if body["status"] in ("done", "failed"):
                break
            if time.perf_counter() > deadline:
                return {
                    "timed_out": timeout_s,
                    "upload_s": t_upload - t0,
                    "zip_mb": len(data) / 2**20,
                }
            time.sleep(0.2)
        if body["status"] != "done":
            raise RuntimeError(f"scoring failed: {body.get('reason')}")
        board = httpx.get(url + "/leaderboard.json", timeout=30).json()["submissions"]
        t_pub = time.perf_counter()
        published = any(s.get("id") == sid or s.get("method") == "hwp-size" for s in board)
    finally:
        proc.terminate()
        proc.join(30)
    return {
        "frames": body["scores"]["num_frames"],
        "zip_mb": len(data) / 2**20,
        "upload_s": t_upload - t0,
        "published_after_upload_s": t_pub - t_upload,
        "server_scoring_s": body["scores"].get("scoring_time_s"),
        "published": published,
        "psnr": body["scores"]["metrics"]["psnr"],
        "protocol": body["scores"].get("protocol"),
    }


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
    proc, url = _start_server(storage, size, per_capture)
    try:
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
    ap.add_argument(
        "--e2e-frames",
        type=int,
        default=1380,
        help="frames of the dataset-size submission (0: skip)",
    )
    ap.add_argument("--only-e2e", action="store_true", help="skip sections 1 and 2")
    ap.add_argument(
        "--e2e-paths", default="now,previous", help="which scoring paths to run end to end"
    )
    ap.add_argument(
        "--e2e-timeout", type=float, default=900.0, help="give up on a path after this long"
    )
    args = ap.parse_args(argv)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; machine: "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}, python {sys.version.split()[0]}"
    )
    ok = True
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if not args.only_e2e:
            s = bench_scoring(tmp, args.size, args.frames, args.repeats)
            print(
                f"\nscoring {s['frames']} frames of {s['size']}x{s['size']} (hwp-v1: PSNR, SSIM, "
                f"LPIPS), median of {args.repeats}:"
            )
            print(f"  validate + decode PNG : {s['validate_decode_fps']:8.1f} frames/s")
            for how, fps in s["score_fps"].items():
                print(f"  full scoring          : {fps:8.1f} frames/s  {how}")
            u = bench_uploads(
                tmp / uuid.uuid4().hex, args.concurrency, args.upload_size, args.upload_frames
            )
            print(
                f"\n{u['uploads']} concurrent uploads of {u['bytes_each'] / 1024:.0f} KiB "
                f"({2 * args.upload_frames} frames of {args.upload_size}x{args.upload_size}), one "
                "server process with one scoring thread:"
            )
            print(f"  accepted (202)        : {u['accepted']}/{u['uploads']}")
            print(
                f"  upload latency        : median {u['latency_median_s']:.3f} s, "
                f"p95 {u['latency_p95_s']:.3f} s, max {u['latency_max_s']:.3f} s"
            )
            print(f"  all uploads returned  : {u['upload_wall_s']:.2f} s")
            print(f"  all scored            : {u['all_scored_s']:.2f} s after the first upload")
            print(f"  database rows / done  : {u['rows']} / {u['done']}, lost: {u['lost']}")
            ok = u["lost"] == 0 and u["done"] == u["uploads"]
        if args.e2e_frames:
            print(
                f"\none submission of {args.e2e_frames} frames of {args.size}x{args.size} (HWP test "
                "size, the manifest's default protocol), upload to published on /leaderboard.json:"
            )
            paths = {"previous": ("1", "previous (one frame at a time)"),
                     "now": ("", "now (every core)")}  # fmt: skip
            for name in args.e2e_paths.split(","):
                workers, how = paths[name.strip()]
                e = bench_dataset_scale(tmp, args.e2e_frames, args.size, workers, args.e2e_timeout)
                if "timed_out" in e:
                    print(
                        f"  {how:<31}: upload {e['upload_s']:5.1f} s ({e['zip_mb']:.0f} MB), NOT "
                        f"published {e['timed_out']:.0f} s after it "
                        f"(< {args.e2e_frames / e['timed_out']:.1f} frames/s)",
                        flush=True,
                    )
                    ok = False
                    continue
                print(
                    f"  {how:<31}: upload {e['upload_s']:5.1f} s ({e['zip_mb']:.0f} MB), "
                    f"published {e['published_after_upload_s']:6.1f} s after it "
                    f"({e['frames'] / e['published_after_upload_s']:.1f} frames/s; the scorer's "
                    f"own time {e['server_scoring_s']:.1f} s, {e['protocol']}), on the board: "
                    f"{e['published']}",
                    flush=True,
                )
                ok &= e["published"]
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
