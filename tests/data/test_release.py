"""Fetching the authors' HWP release, through the real huggingface_hub client.

The Hub is a local stand-in: a small HTTP server on 127.0.0.1 that serves the file API
(repo info, tree listing, file download with HEAD, Range and LFS hashes) for a fixture repo in
the authors' raw layout: ``dataset/WildGHand/capture0_subsample3_single/``,
``capture1_subsample2_single/``, ``capture4_subsample4/`` with ``output.pkl`` (numpy arrays
only), 64 px frames and SAM masks. ``HF_ENDPOINT`` (or ``endpoint=``) points the client at it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np
import pytest
from PIL import Image

RELEASE = "XuanHuang0/WildGHand"
CHECKPOINTS = "XuanHuang0/WildGHand-checkpoints"
ROOT = "dataset/WildGHand"
LFS_EXTS = (".pkl", ".jpg", ".png", ".pth", ".mp4")


# ----------------------------------------------------------------------------- the stand-in


class HubStandIn:
    """Read-only Hub file API for a few repos, with faults that tests switch on."""

    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], dict[str, bytes]] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.cut_once: set[str] = set()  # GET sends half the body, then drops the connection
        self.corrupt_once: set[str] = set()  # GET sends other bytes of the right length
        self.url = ""

    def add(self, kind: str, repo: str, files: dict[str, bytes]) -> None:
        self.repos[(kind, repo)] = dict(files)

    def commit(self, kind: str, repo: str) -> str:
        h = hashlib.sha1()
        for p, b in sorted(self.repos[(kind, repo)].items()):
            h.update(p.encode() + hashlib.sha256(b).digest())
        return h.hexdigest()

    def start(self) -> str:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                hub.handle(self)

            def do_HEAD(self):
                hub.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- responses
    @staticmethod
    def send(req, code, body=b"", headers=None, ctype="application/json"):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        req.send_response(code)
        req.send_header("Content-Type", ctype)
        req.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        if req.command != "HEAD":
            req.wfile.write(body)

    def not_found(self, req, code: str, what: str):
        return self.send(req, 404, {"error": what}, {"X-Error-Code": code})

    def entry(self, path: str, data: bytes) -> dict:
        e = {
            "type": "file",
            "path": path,
            "size": len(data),
            "oid": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
        }
        if path.endswith(LFS_EXTS):
            e["lfs"] = {
                "oid": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "pointerSize": 134,
            }
        return e

    def handle(self, req) -> None:  # noqa: C901 - a small router
        import re

        url = urlparse(req.path)
        path = unquote(url.path)
        self.requests.append((req.command, path, {"Range": req.headers.get("Range")}))
        m = re.fullmatch(r"/api/(datasets|models)/([^/]+/[^/]+)(?:/revision/(.+))?", path)
        if m:
            kind, repo, rev = m.group(1)[:-1], m.group(2), m.group(3)
            if (kind, repo) not in self.repos:
                return self.not_found(req, "RepoNotFound", "Repository not found")
            sha = self.commit(kind, repo)
            if rev not in (None, "main", sha):
                return self.not_found(req, "RevisionNotFound", f"Invalid rev id: {rev}")
            files = self.repos[(kind, repo)]
            sib = [{"rfilename": p} for p in sorted(files)]
            return self.send(req, 200, {"id": repo, "sha": sha, "siblings": sib, "private": False})
        m = re.fullmatch(r"/api/(datasets|models)/([^/]+/[^/]+)/tree/([^/]+)(?:/(.*))?", path)
        if m:
            kind, repo, rev, sub = m.group(1)[:-1], m.group(2), m.group(3), m.group(4) or ""
            if (kind, repo) not in self.repos:
                return self.not_found(req, "RepoNotFound", "Repository not found")
            if rev not in ("main", self.commit(kind, repo)):
                return self.not_found(req, "RevisionNotFound", f"Invalid rev id: {rev}")
            recursive = parse_qs(url.query).get("recursive", ["false"])[0].lower() == "true"
            prefix = f"{sub.strip('/')}/" if sub.strip("/") else ""
            files = {p: b for p, b in self.repos[(kind, repo)].items() if p.startswith(prefix)}
            if prefix and not files:
                return self.not_found(req, "EntryNotFound", f"{sub} not found")
            out, dirs = [], set()
            for p, b in sorted(files.items()):
                rest = p[len(prefix) :].split("/")
                for k in range(1, len(rest)):
                    if recursive or k == 1:
                        dirs.add(prefix + "/".join(rest[:k]))
                if recursive or len(rest) == 1:
                    out.append(self.entry(p, b))
            out += [{"type": "directory", "path": d, "oid": "0" * 40, "size": 0} for d in dirs]
            return self.send(req, 200, sorted(out, key=lambda e: e["path"]))
        m = re.fullmatch(r"/(?:(datasets)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if m and req.command in ("GET", "HEAD"):
            kind = "dataset" if m.group(1) else "model"
            repo, rev, fname = m.group(2), m.group(3), m.group(4)
            if (kind, repo) not in self.repos:
                return self.not_found(req, "RepoNotFound", "Repository not found")
            data = self.repos[(kind, repo)].get(fname)
            if data is None:
                return self.not_found(req, "EntryNotFound", "Entry not found")
            sha = self.commit(kind, repo)
            lfs = fname.endswith(LFS_EXTS)
            etag = hashlib.sha256(data).hexdigest() if lfs else self.entry(fname, data)["oid"]
            headers = {"X-Repo-Commit": sha, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
            if req.command == "HEAD":
                return self.send(req, 200, data, headers, "application/octet-stream")
            rng = req.headers.get("Range")
            if rng:
                start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                return self.send(req, 206, data[start:], headers, "application/octet-stream")
            if fname in self.corrupt_once:
                self.corrupt_once.discard(fname)
                return self.send(req, 200, bytes(len(data)), headers, "application/octet-stream")
            if fname in self.cut_once:
                self.cut_once.discard(fname)
                req.send_response(200)
                for k, v in {**headers, "Content-Length": str(len(data))}.items():
                    req.send_header(k, v)
                req.end_headers()
                req.wfile.write(data[: len(data) // 2])
                req.wfile.flush()
                req.close_connection = True
                req.connection.shutdown(2)
                return None
            return self.send(req, 200, data, headers, "application/octet-stream")
        return self.send(req, 404, {"error": f"stand-in: no route {req.command} {path}"})

    def downloads(self) -> list[str]:
        return [p for m, p, _ in self.requests if m == "GET" and "/resolve/" in p]


# ----------------------------------------------------------------------------- fixture repo


def _png(a: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format=fmt)
    return buf.getvalue()


def raw_capture(number: int, folder: str, n: int, inter: bool, seed: int) -> dict[str, bytes]:
    """One capture folder in the authors' layout: output.pkl, frames, SAM masks."""
    rng = np.random.default_rng(seed)
    files, entries = {}, []
    base = f"{ROOT}/{folder}"
    for i in range(n):
        img = rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)
        mask = np.zeros((64, 80), np.uint8)
        mask[16:48, 20:60] = 255
        files[f"{base}/imgs/{i:05d}.jpg"] = _png(img, "JPEG")
        files[f"{base}/masks_sam1/{i:05d}.png"] = _png(mask)
        e = {
            "img_path": f"/home/author/WildGHand/{folder}/imgs/{i:05d}.jpg",
            "mask_sam1_path": f"/home/author/WildGHand/{folder}/masks_sam1/{i:05d}.png",
            "scaled_focal_length": 5000 / 256 * 80,
            "bbox_inter": np.array([16.0, 12.0, 64.0, 52.0], np.float32),
            "root_rel": np.zeros((1, 3), np.float32),
        }
        for side in ("right", "left") if inter else ("right",):
            e[f"mano_pose_{side}"] = rng.normal(0, 0.2, (1, 48)).astype(np.float32)
            e[f"mano_shape_{side}"] = rng.normal(0, 0.5, (1, 10)).astype(np.float32)
            e[f"cam_aligned_{side}"] = np.array([[0.01 * i, 0.0, 0.5]], np.float32)
            e[f"joints2d_world_{side}"] = rng.uniform(20, 60, (1, 21, 2)).astype(np.float32)
        entries.append(e)
    files[f"{base}/output.pkl"] = pickle.dumps(entries[::-1], protocol=4)  # any order upstream
    files[f"{base}/preview.mp4"] = b"\0" * 5000  # not named by output.pkl: never downloaded
    return files


def release_files() -> dict[str, bytes]:
    files = {"README.md": b"# WildGHand dataset\n", ".gitattributes": b"*.pkl filter=lfs\n"}
    files |= raw_capture(0, "capture0_subsample3_single", 10, False, 0)
    files |= raw_capture(1, "capture1_subsample2_single", 10, False, 1)
    files |= raw_capture(4, "capture4_subsample4", 12, True, 4)
    return files


@pytest.fixture
def hub():
    h = HubStandIn()
    h.add("dataset", RELEASE, release_files())
    h.start()
    yield h
    h.stop()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh HWP_HOME, Hugging Face caches under tmp_path, network to 127.0.0.1 only."""
    import datasets.config
    import huggingface_hub.constants

    for var in ("HWP_HUB_REPO", "HWP_RELEASE_REPO", "HWP_RELEASE_REVISION", "HWP_MANO_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HWP_HOME", str(tmp_path / "hwp_home"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf" / "datasets")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "hwp_home"


# ----------------------------------------------------------------------------- done-when


def _run(code: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


LOAD = """
import json, hwp_bench
ds = hwp_bench.load_dataset("hwp", "capture04", split="test")
print(json.dumps({"rows": ds.num_rows, "index": list(ds["index"]), "capture": ds[0]["capture"],
                  "hand_type": ds[0]["hand_type"], "size": [ds[0]["width"], ds[0]["height"]]}))
"""


def test_load_dataset_hwp_fetches_the_release_then_works_offline(hub, tmp_path):
    """The issue's scenario, as a user runs it: HF_ENDPOINT, a fresh HWP_HOME, no other data."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HWP_", "HUGGINGFACE"))}
    home = tmp_path / "home"
    env |= {"HF_ENDPOINT": hub.url, "HWP_HOME": str(home), "HF_HOME": str(tmp_path / "hf")}
    first = _run(LOAD, env, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    got = json.loads(first.stdout.strip().splitlines()[-1])
    assert got == {
        "rows": 2,
        "index": [10, 11],
        "capture": "capture04",
        "hand_type": "inter",
        "size": [256, 256],
    }
    # our layout's repo was asked first (and is not there), then the release
    routes = [p for _, p, _ in hub.requests if p.startswith("/api/datasets/")]
    assert routes[0].startswith("/api/datasets/hwp-bench/hwp")
    assert routes[1].startswith(f"/api/datasets/{RELEASE}")
    # only capture04's pkl, frames and masks were downloaded: no other capture, no video
    got_files = hub.downloads()
    assert len(got_files) == 1 + 2 * 12
    assert all("capture4_subsample4/" in p and not p.endswith(".mp4") for p in got_files)
    assert "capture04" in first.stderr  # progress bars for download and conversion
    # offline: the server is gone, the data home answers
    hub.stop()
    second = _run(LOAD, env, tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert json.loads(second.stdout.strip().splitlines()[-1]) == got
    # the converted folder is a plain `datasets` folder
    import datasets

    folder = home / "datasets" / "hwp"
    dd = datasets.load_dataset(str(folder), "capture04", cache_dir=str(tmp_path / "dcache"))
    assert {s: dd[s].num_rows for s in dd} == {"train": 9, "validation": 1, "test": 2}
    manifest = json.loads((folder / "hwp_dataset.json").read_text())
    assert manifest["revision"] == f"{RELEASE}@{hub.commit('dataset', RELEASE)}"
    assert not (
        home / "downloads" / "XuanHuang0--WildGHand" / ROOT / "capture4_subsample4"
    ).exists()
    hub.start()  # the fixture stops it again


# ----------------------------------------------------------------------------- CLI, revision


def test_data_fetch_cli_records_the_upstream_commit(hub, home):
    from typer.testing import CliRunner

    from hwp_bench.cli import app
    from hwp_bench.data.layout import read_captures
    from hwp_bench.runner.job import Job, dataset_revision

    commit = hub.commit("dataset", RELEASE)
    args = ["data", "fetch", "-c", "0,capture01", "--endpoint", hub.url, "--size", "32"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "capture00 (capture0_subsample3_single): 10/10 frames converted, 0 skipped" in res.output
    assert "note: translations are cam_aligned as given" in res.output
    assert f"(revision {RELEASE}@{commit})" in res.output
    folder = home / "datasets" / "hwp"
    assert list(read_captures(folder)) == ["capture00", "capture01"]
    record = json.loads((folder / "hwp_release.json").read_text())
    assert record["commit"] == commit and set(record["captures"]) == {"capture00", "capture01"}
    assert record["captures"]["capture01"]["files"] == 21
    report = json.loads((folder / "conversion_report.json").read_text())
    assert [c["capture"] for c in report["captures"]] == ["capture00", "capture01"]
    # result files of a run on this folder name the upstream commit
    job = Job(method="mean-color", capture="capture00", dataset="hwp", dataset_path=str(folder))
    assert dataset_revision(job) == f"{RELEASE}@{commit}"
    # again, with the server gone: nothing to fetch, no network needed
    hub.stop()
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "already converted at this commit: capture00, capture01" in res.output
    hub.start()


def test_pinned_revision_and_mixed_commits(hub, home):
    from hwp_bench.data.release import ReleaseError, fetch_release

    old = hub.commit("dataset", RELEASE)
    with pytest.raises(ReleaseError, match="revision not found"):
        fetch_release(["capture00"], revision="f" * 40, endpoint=hub.url, progress=False)
    fetch_release(["capture00"], revision=old, endpoint=hub.url, progress=False, size=32)
    # upstream moves on; an unpinned fetch keeps the data home at the commit it holds ...
    hub.repos[("dataset", RELEASE)]["NEWS.md"] = b"new commit"
    with pytest.raises(ReleaseError, match="revision not found"):
        fetch_release(["capture01"], endpoint=hub.url, progress=False, size=32)
    # ... and fetching at the new commit into it is refused: one folder, one upstream version
    with pytest.raises(ReleaseError, match=f"converted from {RELEASE}@{old[:12]}"):
        fetch_release(["capture01"], revision="main", endpoint=hub.url, progress=False)


# ----------------------------------------------------------------------------- errors


def test_repo_without_capture_folders(hub, home):
    from hwp_bench.data.release import ReleaseError, fetch_release

    hub.add("dataset", "someone/empty", {"README.md": b"hi", "docs/a.txt": b"x"})
    with pytest.raises(ReleaseError) as err:
        fetch_release(["capture04"], repo_id="someone/empty", endpoint=hub.url, progress=False)
    msg = str(err.value)
    assert "holds no capture folders" in msg and "top level: README.md, docs/" in msg
    assert "\n" not in msg


def test_missing_capture_names_what_the_repo_has(hub, home):
    import hwp_bench
    from hwp_bench.data.loading import DatasetNotFoundError

    with pytest.raises(DatasetNotFoundError) as err:
        hwp_bench.load_dataset("hwp", "capture07", endpoint=hub.url)
    msg = str(err.value)
    assert "capture07 not in XuanHuang0/WildGHand@" in msg
    assert "it has capture00 (dataset/WildGHand/capture0_subsample3_single)" in msg
    for tried in (
        "local folder",
        "data home",
        "Hub repo hwp-bench/hwp in our layout (repository not found",
    ):
        assert tried in msg
    assert hub.downloads() == []  # nothing downloaded for a capture that is not there


def test_no_network_lists_everything_tried(home):
    import hwp_bench
    from hwp_bench.data.loading import DatasetNotFoundError

    dead = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(DatasetNotFoundError) as err:
        hwp_bench.load_dataset("hwp", "capture04", endpoint=dead)
    msg = str(err.value)
    assert msg.count(f"no network: cannot reach {dead}") == 2  # our repo and the release
    assert "local folder" in msg and "data home" in msg and "`hwp-bench data fetch`" in msg


def test_download_cut_half_way_is_resumed(hub, home):
    from hwp_bench.data.release import fetch_release

    name = f"{ROOT}/capture0_subsample3_single/imgs/00003.jpg"
    hub.cut_once.add(name)
    res = fetch_release(["capture00"], endpoint=hub.url, progress=False, size=32, keep_raw=True)
    assert res.fetched == ["capture00"] and res.reports[0].converted == 10
    ranged = [h.get("Range") for m, p, h in hub.requests if m == "GET" and p.endswith(name)]
    # huggingface_hub retried at once: with a Range request from the bytes it had written, or
    # (here: the cut fell inside its first 10 MB chunk) the whole file again; never a mix
    assert len(ranged) == 2 and ranged[0] is None
    assert ranged[1] is None or ranged[1].startswith("bytes=")
    raw = home / "downloads" / "XuanHuang0--WildGHand" / name
    assert raw.read_bytes() == hub.repos[("dataset", RELEASE)][name]


def test_corrupt_download_restarts_cleanly(hub, home):
    from hwp_bench.data.release import ReleaseError, fetch_release

    name = f"{ROOT}/capture1_subsample2_single/masks_sam1/00004.png"
    hub.corrupt_once.add(name)
    with pytest.raises(ReleaseError) as err:
        fetch_release(["capture01"], endpoint=hub.url, progress=False, size=32)
    msg = str(err.value)
    assert "SHA-256 differs from the Hub's" in msg and "run the same command again" in msg
    raw = home / "downloads" / "XuanHuang0--WildGHand" / name
    assert not raw.exists()  # the bad file is gone, not reused
    assert not (home / "datasets" / "hwp" / "splits" / "capture01.json").exists()
    before = len(hub.downloads())
    res = fetch_release(["capture01"], endpoint=hub.url, progress=False, size=32)
    assert res.reports[0].converted == 10
    # the second run fetched only what the first did not finish
    assert len(hub.downloads()) - before < 21


# ----------------------------------------------------------------------------- SAM checkpoint


def test_assets_fetch_sam_and_wildghand_finds_it(hub, home, monkeypatch):
    import types

    from typer.testing import CliRunner

    from hwp_bench.assets import asset_path, sam_checkpoint
    from hwp_bench.cli import app

    ckpt = np.random.default_rng(0).bytes(300_000)  # a stand-in for the 2.4 GB file
    hub.add("model", CHECKPOINTS, {"vit_h.pth": ckpt, "EXPERIMENTS/checkpoints/0.ckpt": b"p"})
    assert sam_checkpoint() == ""
    res = CliRunner().invoke(app, ["assets", "fetch", "sam", "--endpoint", hub.url])
    assert res.exit_code == 0, res.output
    path = home / "weights" / "sam" / "vit_h.pth"
    assert path.read_bytes() == ckpt
    record = json.loads(path.with_name("vit_h.pth.json").read_text())
    assert record["sha256"] == hashlib.sha256(ckpt).hexdigest() == record["hub_sha256"]
    assert record["commit"] == hub.commit("model", CHECKPOINTS)
    assert sam_checkpoint() == str(path) and asset_path("sam", verify=True) == path
    res = CliRunner().invoke(app, ["assets", "list"])
    assert f"sam: {CHECKPOINTS}/vit_h.pth" in res.output and str(path) in res.output
    # WildGHand's pao_segmenter=auto: SAM with that checkpoint once segment_anything imports
    from wildghand.segments import propose_regions

    loaded = []

    class Generator:
        def __init__(self, model):
            pass

        def generate(self, img):
            m = np.zeros(img.shape[:2], bool)
            m[:4] = True
            return [{"segmentation": m}]

    fake = types.ModuleType("segment_anything")
    fake.SamAutomaticMaskGenerator = Generator
    fake.sam_model_registry = {"vit_h": lambda checkpoint: loaded.append(checkpoint)}
    img = np.zeros((16, 16, 3), np.uint8)
    monkeypatch.setitem(sys.modules, "segment_anything", fake)
    levels = propose_regions(img, method="auto")
    assert loaded == [str(path)] and levels.shape == (1, 16, 16) and (levels[0, :4] == 0).all()
    # a truncated file is not used
    path.write_bytes(ckpt[:1000])
    assert sam_checkpoint() == ""
    # a missing asset repo: one line naming what was tried
    hub.repos.pop(("model", CHECKPOINTS))
    res = CliRunner().invoke(app, ["assets", "fetch", "sam", "--endpoint", hub.url])
    assert res.exit_code == 2 and f"cannot fetch vit_h.pth from {CHECKPOINTS}@main" in res.output
    assert "repository not found" in res.output
