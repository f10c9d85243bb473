"""Shared fixtures for the leaderboard tests: a tiny hidden test set, runs, a live server, and
the two database backends (``db_url`` runs a test on SQLite and on PostgreSQL)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pytest
from hwp_leaderboard.groundtruth import FramesGroundTruth

from hwp_bench.data import Frame, HandParams

H, W = 16, 24  # not square, so a transposed render is caught
SPLITS = {"single": ["capture00", "capture02"], "inter": ["capture04", "capture05"]}
TAGS = {"capture04": ["hoi", "blur"], "capture05": ["hoi"], "capture00": ["hoi"], "capture02": []}
TEST_INDICES = {
    "capture00": [27, 28, 29],
    "capture02": [18, 19],
    "capture04": [36, 37, 38],
    "capture05": [45, 46],
}


def inter_test_frame(image, mask, capture: str, index: int, num_frames: int) -> Frame:
    """A two-hand test frame of a hidden clip (HOI-tagged, 40 x 48 px intrinsics) for the
    scoring tests that need frames of their own size and masks."""
    h, w = mask.shape
    K = np.array([[40.0, 0, w / 2], [0, 40.0, h / 2], [0, 0, 1]], np.float32)
    return Frame(
        image=image,
        capture=capture,
        index=index,
        num_frames=num_frames,
        K=K,
        hands={"right": HandParams(np.zeros(48), np.zeros(10), [0, 0, 0.5])},
        mask=mask,
        hand_type="inter",
        split="test",
        tags=["hoi"],
    )


def make_frames(seed: int = 0) -> dict[str, list[Frame]]:
    rng = np.random.default_rng(seed)
    out = {}
    K = np.array([[30.0, 0, W / 2], [0, 30.0, H / 2], [0, 0, 1]], np.float32)
    for cap, idxs in TEST_INDICES.items():
        frames = []
        for i in idxs:
            mask = np.zeros((H, W), np.float32)
            mask[3:13, 5:19] = 1.0
            frames.append(
                Frame(
                    image=rng.uniform(0.1, 0.9, (H, W, 3)).astype(np.float32),
                    capture=cap,
                    index=i,
                    num_frames=idxs[-1] + 1,
                    K=K,
                    hands={"right": HandParams(np.zeros(48), np.zeros(10), [0, 0, 0.5])},
                    mask=mask,
                    hand_type="inter" if cap in SPLITS["inter"] else "single",
                    split="test",
                    tags=list(TAGS[cap]),
                )
            )
        out[cap] = frames
    return out


def reference_psnr_scorer(protocol: str):
    """Masked PSNR in plain numpy (the obviously-correct stand-in for a protocol)."""

    def score(color, alpha, frame):  # noqa: ANN001
        m = frame.mask > 0.5
        mse = float(np.mean((color[m] - frame.image[m]) ** 2))
        return {"psnr": -10.0 * np.log10(max(mse, 1e-12)), "ssim": 1.0 - mse, "lpips": mse}

    return score


@pytest.fixture
def frames():
    return make_frames()


@pytest.fixture
def ground_truth(frames):
    return FramesGroundTruth(frames, SPLITS, dataset_id="tiny-test")


def write_run(
    root: Path,
    frames: dict[str, list[Frame]],
    split: str,
    *,
    noise: float,
    seed: int = 1,
    fmt: str = "npy",
) -> Path:
    """A runner-style output folder: renders/<capture>/<index:05d>.npy with noisy ground truth."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for cap in SPLITS[split]:
        d = root / "renders" / cap
        d.mkdir(parents=True, exist_ok=True)
        for f in frames[cap]:
            img = np.clip(f.image + rng.normal(0, noise, f.image.shape), 0, 1).astype(np.float32)
            if fmt == "npy":
                np.save(d / f"{f.index:05d}.npy", img)
            else:
                Image.fromarray((img * 255 + 0.5).astype(np.uint8)).save(d / f"{f.index:05d}.png")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving an app on 127.0.0.1 in a thread of the test process."""

    def __init__(self, app) -> None:  # noqa: ANN001
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.should_exit = True
        self.thread.join(20)


# -- submissions, good and bad ----------------------------------------------------------------
MANIFEST = {
    "method": "noisy-gt",
    "authors": ["A. Tester"],
    "paper_url": "https://example.org/paper",
    "code_url": "https://example.org/code",
    "hardware": "2 CPU cores",
    "fit_time_s": 3600.0,
}


def png_bytes(arr: np.ndarray, mode: str = "RGB") -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, format="PNG")
    return buf.getvalue()


def pack(
    tmp: Path,
    frames,
    split: str,
    *,
    noise: float = 0.05,
    seed: int = 1,
    name: str = "sub.zip",
    **manifest,
) -> Path:
    from hwp_leaderboard.pack import pack_submission

    run = write_run(tmp / f"run-{name}", frames, split, noise=noise, seed=seed)
    return pack_submission(run, tmp / name, {**MANIFEST, "split": split, **manifest})


def rewrite_zip(src: Path, dst: Path, *, drop=(), add=(), replace=None) -> Path:
    """Copy a zip, dropping names, replacing data, and adding (ZipInfo|name, bytes) entries."""
    import zipfile

    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for name, data in add:
            zout.writestr(name, data)
    return dst


def patch_central_size(path: Path, name: str, file_size: int) -> None:
    """Make the central directory lie about an entry's uncompressed size."""
    import struct

    data = bytearray(path.read_bytes())
    key = name.encode()
    pos = 0
    while True:
        pos = data.index(b"PK\x01\x02", pos)
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46 : pos + 46 + n]) == key:
            struct.pack_into("<I", data, pos + 24, file_size)
            break
        pos += 4
    path.write_bytes(bytes(data))


def malicious_zips(tmp: Path, frames) -> dict[str, tuple[Path, str]]:
    """name -> (zip path, expected error code): one archive per attack or mistake."""
    import zipfile

    good = pack(tmp, frames, "inter", name="good.zip")
    first = "renders/capture04/00036.png"
    out = {}

    def variant(label: str, code: str, **kw) -> None:
        out[label] = (rewrite_zip(good, tmp / f"{label}.zip", **kw), code)

    variant("traversal", "traversal", add=[("../../evil.png", b"x")])
    variant("traversal-inner", "traversal", add=[("renders/capture04/../../../etc.png", b"x")])
    variant("absolute", "traversal", add=[("/etc/passwd", b"x")])
    link = zipfile.ZipInfo("renders/capture04/00099.png")
    link.external_attr = 0o120777 << 16
    link.create_system = 3
    variant("symlink", "symlink", drop=[first], add=[(link, b"/etc/passwd")])
    variant("bomb", "zip-bomb", replace={first: bytes(8 * 1024 * 1024)})
    bomb_lie = tmp / "bomb-lying-size.zip"
    rewrite_zip(good, bomb_lie, replace={first: bytes(8 * 1024 * 1024)})
    patch_central_size(bomb_lie, first, 1000)
    out["bomb-lying-size"] = (bomb_lie, "bad-zip")
    variant("missing-frames", "missing-frames", drop=[first])
    variant(
        "extra-frames",
        "unexpected-frames",
        add=[("renders/capture04/00099.png", png_bytes(np.zeros((H, W, 3), np.uint8)))],
    )
    variant("wrong-size", "wrong-size", replace={first: png_bytes(np.zeros((W, H, 3), np.uint8))})
    variant("non-png", "not-png", replace={first: b"GIF89a" + bytes(100)})
    variant(
        "rgba", "bad-png-mode", replace={first: png_bytes(np.zeros((H, W, 4), np.uint8), "RGBA")}
    )
    variant("unexpected-file", "unexpected-file", add=[("renders/capture04/run.sh", b"#!/bin/sh")])
    variant("no-manifest", "missing-manifest", drop=["manifest.json"])
    bad_man = json_bytes({**MANIFEST, "split": "inter", "paper_url": "javascript:alert(1)"})
    variant("bad-manifest", "bad-manifest", replace={"manifest.json": bad_man})
    trunc = png_bytes(np.full((H, W, 3), 7, np.uint8))
    variant("truncated-png", "bad-png", replace={first: trunc[: len(trunc) - 30]})
    (tmp / "not-a-zip.zip").write_bytes(b"this is not a zip file" * 10)
    out["not-zip"] = (tmp / "not-a-zip.zip", "not-zip")
    return out


def json_bytes(obj) -> bytes:  # noqa: ANN001
    import json

    return json.dumps(obj).encode()


@pytest.fixture
def lb():
    """The helpers above, for test modules (importlib mode cannot import conftest by name)."""
    import types

    return types.SimpleNamespace(
        H=H,
        W=W,
        SPLITS=SPLITS,
        MANIFEST=MANIFEST,
        pack=pack,
        write_run=write_run,
        rewrite_zip=rewrite_zip,
        malicious_zips=malicious_zips,
        png_bytes=png_bytes,
        json_bytes=json_bytes,
        make_frames=make_frames,
        inter_test_frame=inter_test_frame,
        LiveServer=LiveServer,
        reference_psnr_scorer=reference_psnr_scorer,
        free_port=free_port,
        database_dump=database_dump,
        table_columns=table_columns,
    )


# -- a tiny dataset folder in the toolkit's layout (for the real-protocol path) ----------------
DS_H, DS_W, DS_N = 40, 48, 20  # 20 frames per capture: test = frames 18 and 19


def dataset_frames(capture: str, hand_type: str, tags: list[str], seed: int = 0):
    rng = np.random.default_rng(seed + int(capture[-2:]))
    K = np.array([[50.0, 0, DS_W / 2], [0, 50.0, DS_H / 2], [0, 0, 1]], np.float32)
    yy, xx = np.mgrid[0:DS_H, 0:DS_W]
    for i in range(DS_N):
        cy, cx = 20 + 3 * np.sin(i / 3), 24 + 4 * np.cos(i / 4)
        mask = (((yy - cy) / 12) ** 2 + ((xx - cx) / 15) ** 2 <= 1).astype(np.float32)
        img = rng.uniform(0.0, 0.3, (DS_H, DS_W, 3)).astype(np.float32)
        img[mask > 0] = np.array([0.8, 0.6, 0.5], np.float32) + rng.uniform(
            -0.1, 0.1, (int(mask.sum()), 3)
        )
        hands = {"right": HandParams(rng.normal(0, 0.1, 48), np.zeros(10), [0, 0, 0.5])}
        if hand_type == "inter":
            hands["left"] = HandParams(rng.normal(0, 0.1, 48), np.zeros(10), [0.1, 0, 0.5])
        yield Frame(
            image=np.clip(img, 0, 1),
            capture=capture,
            index=i,
            num_frames=DS_N,
            K=K,
            hands=hands,
            mask=mask,
            hand_type=hand_type,
            tags=list(tags),
        )


DS_CAPTURES = {
    "capture00": ("single", ["hoi", "complex_pose"]),
    "capture04": ("inter", ["hoi", "blur"]),
    "capture07": ("inter", ["complex_pose", "illumination"]),
}


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory):
    from hwp_bench.data.layout import DatasetWriter

    root = tmp_path_factory.mktemp("tinyds") / "tiny-hwp"
    writer = DatasetWriter(root, name="tiny-hwp", description="leaderboard test data")
    for cap, (hand_type, tags) in DS_CAPTURES.items():
        writer.write_capture(
            cap,
            dataset_frames(cap, hand_type, tags),
            num_frames=DS_N,
            hand_type=hand_type,
            tags=tags,
        )
    writer.finalize()
    return root


# -- database backends -------------------------------------------------------------------------
# CI (.ci/run) starts one throwaway PostgreSQL server and exports its URL here; without it the
# session starts its own with the same script, so local runs and CI run the same tests.
POSTGRES_URL_ENV = "HWP_TEST_POSTGRES_URL"
PG_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ci_postgres.sh"


@pytest.fixture(scope="session")
def postgres_server():
    """The URL of a PostgreSQL server to create test databases on (skips, saying why, if none)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("PostgreSQL tests need psycopg: pip install 'hwp-bench[postgres]'")
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        yield url
        return
    if shutil.which("bash") is None:
        pytest.skip("no bash to run scripts/ci_postgres.sh")
    # Short path: the server's unix socket lives in it (socket paths are limited to ~100 bytes).
    tmp = tempfile.mkdtemp(prefix="hwp-pg-")
    proc = subprocess.run(
        ["bash", str(PG_SCRIPT), "start", tmp], capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip(
            f"no PostgreSQL server (set {POSTGRES_URL_ENV}, or install it: "
            f"bash scripts/ci_postgres.sh install): {proc.stderr.strip()[-300:]}"
        )
    try:
        yield proc.stdout.strip()
    finally:
        subprocess.run(["bash", str(PG_SCRIPT), "stop", tmp], capture_output=True, timeout=120)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the test server, dropped afterwards."""
    import psycopg

    name = f"hwp_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(postgres_server, name)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """A database URL for a test that must pass on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'leaderboard.sqlite3'}"
    return request.getfixturevalue("postgres_url")


def database_dump(url: str) -> bytes:
    """Every byte the database holds for the leaderboard's tables (to look for secrets in)."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    import psycopg

    out = []
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("teams", "tokens", "submissions"):
            for row in conn.execute(f"SELECT * FROM {table}").fetchall():
                out.append(repr(row).encode())
    return b"\n".join(out)


def table_columns(url: str, table: str) -> list[str]:
    if url.startswith("sqlite:///"):
        import sqlite3

        con = sqlite3.connect(url[len("sqlite:///") :])
        try:
            return [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
        finally:
            con.close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
        ).fetchall()
    return [r[0] for r in rows]
