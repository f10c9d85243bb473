"""Shared fixtures: a tiny dataset folder with every capture, written by the real writer."""

from __future__ import annotations

import pytest

from hwp_bench.data.tags import TABLE_II
from hwp_bench.data.toy import toy_frames


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """All 11 captures, 10 + capture-number frames each, 12x12 images."""
    from hwp_bench.data.layout import DatasetWriter

    root = tmp_path_factory.mktemp("tiny") / "hwp"
    w = DatasetWriter(root, name="tiny", description="test data")
    for info in TABLE_II:
        n = 10 + info.number
        w.write_capture(
            info.capture,
            toy_frames(info.capture, n, info.hand_type),
            num_frames=n,
            hand_type=info.hand_type,
            tags=info.perturbations,
        )
    return root


@pytest.fixture
def offline_hf(tmp_path, monkeypatch):
    """No network for datasets / huggingface_hub, caches under tmp_path.

    Both libraries read these variables once, at import; another test may have imported them
    already, so their module-level copies are patched too.
    """
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HWP_HOME", str(tmp_path / "hwp_home"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf" / "datasets")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    return tmp_path


# ----------------------------------------------------------------------------- fake Hub


class FakeHub:
    """A local stand-in for the few Hugging Face Hub endpoints push and download use.

    Real ``huggingface_hub`` code talks to it over HTTP on 127.0.0.1: repo creation, README
    metadata validation, pre-upload (every file is answered "regular", i.e. sent inline in
    the commit, so no LFS/Xet storage is needed), commits (NDJSON with base64 files and
    deletions), repo info, tree listing and file download (HEAD + GET on ``resolve``).
    """

    def __init__(self) -> None:
        self.repos: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self.commits: list[dict] = []

    def start(self) -> str:
        import threading
        from http.server import ThreadingHTTPServer

        hub = self

        from http.server import BaseHTTPRequestHandler

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                hub._handle(self, "GET")

            def do_HEAD(self):
                hub._handle(self, "HEAD")

            def do_POST(self):
                hub._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- helpers
    @staticmethod
    def blob_oid(data: bytes) -> str:
        import hashlib

        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()

    def _sha(self, repo: str) -> str:
        import hashlib

        files = self.repos[repo]["files"]
        h = hashlib.sha1()
        for p in sorted(files):
            h.update(p.encode() + self.blob_oid(files[p]).encode())
        return h.hexdigest()

    def _send(self, req, code, body=b"", headers=None, ctype="application/json"):
        import json as _json

        if not isinstance(body, bytes):
            body = _json.dumps(body).encode()
        req.send_response(code)
        req.send_header("Content-Type", ctype)
        req.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        if req.command != "HEAD":
            req.wfile.write(body)

    def _handle(self, req, method):  # noqa: C901 - a small router
        import base64
        import json as _json
        import re
        from urllib.parse import unquote, urlparse

        url = urlparse(req.path)
        path = unquote(url.path)
        self.requests.append((method, path))
        n = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(n) if n else b""
        repo_re = r"/api/datasets/([^/]+/[^/]+)"
        if method == "POST" and path == "/api/repos/create":
            d = _json.loads(body)
            repo = f"{d['organization']}/{d['name']}" if d.get("organization") else d["name"]
            if repo in self.repos:
                # the real Hub also names the repo url in its 409 answer; create_repo reads it
                err = {"error": "You already created this dataset repo"}
                return self._send(req, 409, {**err, "url": f"{self.url}/datasets/{repo}"})
            self.repos[repo] = {"files": {}, "private": d.get("private")}
            return self._send(req, 200, {"url": f"{self.url}/datasets/{repo}"})
        if method == "POST" and path == "/api/validate-yaml":
            import yaml

            content = _json.loads(body)["content"]
            errors = []
            try:
                meta = yaml.safe_load(content.split("---")[1])
                for cfg in meta.get("configs", []):
                    if "config_name" not in cfg or not cfg.get("data_files"):
                        errors.append({"message": f"bad config {cfg}"})
            except Exception as exc:  # noqa: BLE001
                errors.append({"message": str(exc)})
            return self._send(req, 400 if errors else 200, {"errors": errors, "warnings": []})
        m = re.fullmatch(repo_re + r"/preupload/([^/]+)", path)
        if method == "POST" and m:
            files = _json.loads(body)["files"]
            out = [
                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files
            ]
            return self._send(req, 200, {"files": out})
        m = re.fullmatch(repo_re + r"/commit/([^/]+)", path)
        if method == "POST" and m:
            repo = m.group(1)
            if repo not in self.repos:
                return self._send(
                    req, 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}
                )
            files = self.repos[repo]["files"]
            lines = [_json.loads(x) for x in body.splitlines() if x.strip()]
            commit = {"repo": repo, "header": lines[0]["value"], "added": [], "deleted": []}
            for item in lines[1:]:
                v = item["value"]
                if item["key"] == "file":
                    assert v["encoding"] == "base64"
                    files[v["path"]] = base64.b64decode(v["content"])
                    commit["added"].append(v["path"])
                elif item["key"] == "deletedFile":
                    files.pop(v["path"])
                    commit["deleted"].append(v["path"])
                else:
                    return self._send(req, 400, {"error": f"unsupported {item['key']}"})
            self.commits.append(commit)
            sha = self._sha(repo)
            return self._send(
                req,
                200,
                {"commitUrl": f"{self.url}/datasets/{repo}/commit/{sha}", "commitOid": sha},
            )
        m = re.fullmatch(repo_re + r"/revision/(.+)", path)
        if method == "GET" and m:
            repo = m.group(1)
            if repo not in self.repos:
                return self._send(
                    req, 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}
                )
            sib = [{"rfilename": p} for p in sorted(self.repos[repo]["files"])]
            return self._send(
                req, 200, {"id": repo, "sha": self._sha(repo), "siblings": sib, "private": False}
            )
        m = re.fullmatch(repo_re + r"/tree/([^/]+)(/.*)?", path)
        if method == "GET" and m:
            repo = m.group(1)
            if repo not in self.repos:
                return self._send(
                    req, 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}
                )
            files = self.repos[repo]["files"]
            out = [
                {"type": "file", "path": p, "size": len(b), "oid": self.blob_oid(b)}
                for p, b in sorted(files.items())
            ]
            return self._send(req, 200, out)
        m = re.fullmatch(r"/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if method in ("GET", "HEAD") and m:
            repo, _, fname = m.groups()
            data = self.repos.get(repo, {}).get("files", {}).get(fname)
            if data is None:
                return self._send(
                    req, 404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"}
                )
            headers = {"X-Repo-Commit": self._sha(repo), "ETag": f'"{self.blob_oid(data)}"'}
            return self._send(req, 200, data, headers, ctype="application/octet-stream")
        return self._send(req, 404, {"error": f"fake hub: no route {method} {path}"})


@pytest.fixture
def fake_hub():
    hub = FakeHub()
    hub.start()
    yield hub
    hub.stop()
