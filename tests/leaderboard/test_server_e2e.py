"""End to end through the real HTTP server (uvicorn on 127.0.0.1, a free port)."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest
from hwp_leaderboard.database import Store
from hwp_leaderboard.limits import Limits
from hwp_leaderboard.server import Settings, create_app

from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL


def _wait_status(client, sid, token, want=("done", "failed"), timeout=30.0):  # noqa: ANN001
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        r = client.get(f"/api/submissions/{sid}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        body = r.json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] in want:
            return body, seen
        time.sleep(0.05)
    raise AssertionError(f"still {seen} after {timeout} s")


@pytest.fixture
def server(tmp_path, ground_truth, lb, db_url):  # every test here: on SQLite and on PostgreSQL
    settings = Settings(
        storage=tmp_path / "srv",
        database_url=db_url,
        quota_per_day=4,
        poll_s=0.2,
        lease_s=10,
        limits=Limits(max_upload_bytes=4 * 1024 * 1024),
        allowed_protocols=(DEFAULT_PROTOCOL,),
    )
    store = Store(db_url)
    store.create_team("alpha")
    store.create_team("beta")
    tokens = {"alpha": store.create_token("alpha"), "beta": store.create_token("beta")}
    app = create_app(settings, ground_truth, scorer_factory=lb.reference_psnr_scorer)
    with lb.LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        yield live, client, tokens


def test_submit_score_rank_and_quota(server, tmp_path, frames, lb):
    live, client, tokens = server
    auth = {"Authorization": f"Bearer {tokens['alpha']}"}
    # the public spec lists frames and sizes, no pixels
    spec = client.get("/api/spec/inter").json()
    assert spec["captures"]["capture04"]["frames"] == [
        [36, lb.H, lb.W],
        [37, lb.H, lb.W],
        [38, lb.H, lb.W],
    ]

    good = lb.pack(tmp_path, frames, "inter", noise=0.03, name="good.zip", method="good-method")
    worse = lb.pack(
        tmp_path, frames, "inter", noise=0.12, seed=2, name="worse.zip", method="worse-method"
    )
    t0 = time.perf_counter()
    r = client.post("/api/submissions", content=good.read_bytes(), headers=auth)
    upload_s = time.perf_counter() - t0
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] in ("pending", "scoring", "done") and body["quota"] == {
        "used": 1,
        "per_day": 4,
    }
    assert upload_s < 10
    done, seen = _wait_status(client, body["id"], tokens["alpha"])
    assert done["status"] == "done", done
    assert 27 < done["scores"]["metrics"]["psnr"] < 33

    r2 = client.post(
        "/api/submissions",
        content=worse.read_bytes(),
        headers={"Authorization": f"Bearer {tokens['beta']}"},
    )
    assert r2.status_code == 202
    _wait_status(client, r2.json()["id"], tokens["beta"])

    # ranked: good above worse, both on the page with links; JSON agrees
    page = client.get("/").text
    assert page.index("good-method") < page.index("worse-method")
    assert f'href="submissions/{body["id"]}.html"' in page and "https://example.org/paper" in page
    assert ">HOI</th>" in page and ">Blur</th>" in page
    board = client.get("/leaderboard.json").json()["submissions"]
    assert {s["method"] for s in board} == {"good-method", "worse-method"}
    detail = client.get(f"/submissions/{body['id']}.html")
    assert (
        detail.status_code == 200 and "capture05" in detail.text and "Sample renders" in detail.text
    )
    img = client.get(f"/samples/{body['id']}/capture04.png")
    assert img.status_code == 200 and img.headers["content-type"] == "image/png"

    # a team sees only its own submissions
    mine = client.get("/api/submissions", headers=auth).json()
    assert [s["id"] for s in mine["submissions"]] == [body["id"]]
    assert client.get(f"/api/submissions/{r2.json()['id']}", headers=auth).status_code == 404

    # quota: 4 per 24 h, failed uploads count too
    bad = (
        lb.malicious_zips(tmp_path / "bad", frames) if (tmp_path / "bad").mkdir() is None else None
    )
    r = client.post("/api/submissions", content=bad["traversal"][0].read_bytes(), headers=auth)
    assert r.status_code == 422 and r.json()["code"] == "traversal"
    for _ in range(2):
        assert (
            client.post("/api/submissions", content=good.read_bytes(), headers=auth).status_code
            == 202
        )
    r = client.post("/api/submissions", content=good.read_bytes(), headers=auth)
    assert r.status_code == 429 and "quota" in r.json()["detail"]
    assert client.get("/api/submissions", headers=auth).json()["quota"]["used"] == 4


def test_bad_tokens_are_rejected(server, tmp_path, frames, lb):
    live, client, tokens = server
    data = lb.pack(tmp_path, frames, "single").read_bytes()
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Bearer {tokens['alpha']}x"},
        {"Authorization": f"Basic {tokens['alpha']}"},
        {"Authorization": "Bearer  x"},
    ):
        r = client.post("/api/submissions", content=data, headers=headers)
        assert r.status_code == 401, headers
        assert client.get("/api/submissions", headers=headers).status_code == 401
    assert client.get("/api/health").json()["queue"] == {
        "pending": 0,
        "scoring": 0,
        "done": 0,
        "failed": 0,
    }


def test_each_malicious_zip_rejected_over_http(server, tmp_path, frames, ground_truth, lb):
    live, client, tokens = server
    store = live.server.config.app.state.store
    cases = lb.malicious_zips(tmp_path, frames)
    decoded_late = []
    for i, (label, (path, code)) in enumerate(cases.items()):
        store.create_team(f"team{i}")  # a fresh quota for each case
        auth = {"Authorization": f"Bearer {store.create_token(f'team{i}')}"}
        r = client.post("/api/submissions", content=path.read_bytes(), headers=auth)
        if r.status_code == 202:
            # only pixel data problems pass the upload checks; the worker fails them
            decoded_late.append(label)
            st, _ = _wait_status(client, r.json()["id"], auth["Authorization"][7:])
        else:
            assert r.status_code == 422, (label, r.status_code, r.text)
            body = r.json()
            assert body["code"] == code, (label, body)
            st = client.get(f"/api/submissions/{body['id']}", headers=auth).json()
        assert st["status"] == "failed" and st["reason"].startswith(code + ":"), (label, st)
    assert decoded_late == ["truncated-png"]
    # an upload over the size limit is cut off with 413
    store.create_team("big")
    auth = {"Authorization": f"Bearer {store.create_token('big')}"}
    r = client.post("/api/submissions", content=bytes(5 * 1024 * 1024), headers=auth)
    assert r.status_code == 413 and r.json()["code"] == "too-large"
    assert client.get("/leaderboard.json").json()["submissions"] == []


def test_ground_truth_is_never_served(server, tmp_path, frames, ground_truth, lb, caplog):
    live, client, tokens = server
    auth = {"Authorization": f"Bearer {tokens['alpha']}"}
    with caplog.at_level("DEBUG"):
        # a noisy submission: any response equal to ground truth would be a leak
        sub = lb.pack(tmp_path, frames, "inter", noise=0.05, name="noisy.zip")
        sid = client.post("/api/submissions", content=sub.read_bytes(), headers=auth).json()["id"]
        _wait_status(client, sid, tokens["alpha"])
        gt_pngs = set()
        for cap_frames in frames.values():
            for f in cap_frames:
                gt_pngs.add(lb.png_bytes((f.image * 255 + 0.5).astype(np.uint8)))
        paths = [
            "/",
            "/index.html",
            "/leaderboard.json",
            "/api/leaderboard",
            "/api/spec/inter",
            "/api/spec/single",
            f"/submissions/{sid}.html",
            "/api/health",
        ]
        paths += [f"/samples/{sid}/{c}.png" for c in ("capture04", "capture05")]
        bodies = [client.get(p, headers=auth).content for p in paths]
        bodies.append(client.get("/api/submissions", headers=auth).content)
        # path tricks reach nothing
        for p in (
            "/samples/../leaderboard.sqlite3",
            f"/samples/{sid}/..%2F..%2Fleaderboard.sqlite3",
            f"/samples/{sid}/capture04.npy",
            "/archives/" + sid + ".zip",
            "/docs",
            "/openapi.json",
        ):
            assert client.get(p).status_code == 404, p
    for b in bodies:
        assert b not in gt_pngs
        for f in frames["capture04"]:
            # no raw ground-truth bytes (float32 or 8-bit rows) anywhere in a response
            assert f.image[5].tobytes() not in b
            assert (f.image[5] * 255 + 0.5).astype(np.uint8).tobytes() not in b
    samples = [client.get(f"/samples/{sid}/capture04.png").content]
    assert all(s not in gt_pngs for s in samples)
    logged = caplog.text
    for f in frames["capture04"]:
        assert repr(float(f.image[5, 7, 1])) not in logged


def test_cli_check_upload_status_against_the_server(server, tmp_path, frames, lb):
    from typer.testing import CliRunner

    from hwp_bench.cli import app

    live, client, tokens = server
    sub = lb.pack(tmp_path, frames, "single", noise=0.05, method="cli-method")
    runner = CliRunner()
    r = runner.invoke(app, ["submit", "check", str(sub), "--server", live.url])
    assert (
        r.exit_code == 0 and "ok: cli-method (single" in r.output and "not compared" not in r.output
    )
    bad = lb.rewrite_zip(sub, tmp_path / "bad.zip", drop=["renders/capture02/00019.png"])
    r = runner.invoke(app, ["submit", "check", str(bad), "--server", live.url])
    assert r.exit_code == 2 and "missing-frames" in r.output
    r = runner.invoke(
        app,
        ["submit", "upload", str(sub), "--server", live.url],
        env={"HWP_LEADERBOARD_TOKEN": tokens["beta"]},
    )
    assert r.exit_code == 0 and "submitted" in r.output, r.output
    sid = r.output.split()[1].rstrip(":")
    _wait_status(client, sid, tokens["beta"])
    r = runner.invoke(app, ["submit", "status", "--server", live.url, "--token", tokens["beta"]])
    assert r.exit_code == 0 and sid in r.output and "done" in r.output and "psnr=" in r.output
    r = runner.invoke(
        app, ["submit", "upload", str(sub), "--server", live.url, "--token", "hwpl_wrong"]
    )
    assert r.exit_code == 2 and "401" in r.output
    closed = f"http://127.0.0.1:{lb.free_port()}"
    r = runner.invoke(app, ["submit", "upload", str(sub), "--server", closed, "--token", "hwpl_x"])
    assert r.exit_code == 2 and "cannot reach" in r.output
