"""Issue 17 on the leaderboard: malformed uploads are coded 4xx rejections that count (item
3), archive and manifest leniency (item 9), signed records (item 8). In-process through
FastAPI's TestClient, which re-raises any server exception: a 500 cannot pass unnoticed."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hwp_leaderboard.archive import check_submission
from hwp_leaderboard.database import Store
from hwp_leaderboard.errors import SubmissionError
from hwp_leaderboard.manifest import parse_manifest
from hwp_leaderboard.server import Settings, create_app
from hwp_leaderboard.site import build_site, public_record
from hwp_leaderboard.worker import Worker
from typer.testing import CliRunner

from hwp_bench.cli import app as cli_app
from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL

KEY = bytes(range(100, 132))
FIRST = "renders/capture04/00036.png"


@pytest.fixture
def served(tmp_path, ground_truth, lb):
    """(client, token, app) on SQLite, no scoring threads: tests score with drain()."""
    settings = Settings(
        storage=tmp_path / "srv",
        quota_per_day=20,
        workers=0,
        allowed_protocols=(DEFAULT_PROTOCOL,),
        signing_key=KEY,
    )
    app = create_app(settings, ground_truth, scorer_factory=lb.reference_psnr_scorer)
    store = Store(app.state.storage.default_database_url)
    store.create_team("alpha")
    token = store.create_token("alpha")
    app.state.ground_truth = ground_truth  # for the tests' own worker
    with TestClient(app) as client:
        yield client, token, app


def _post(client, token, data: bytes):
    return client.post(
        "/api/submissions", content=data, headers={"Authorization": f"Bearer {token}"}
    )


def _used(client, token) -> int:
    r = client.get("/api/submissions", headers={"Authorization": f"Bearer {token}"})
    return r.json()["quota"]["used"]


# -- item 3: uploads that used to make the server fail -------------------------------------------
def _corrupt_deflate(src, dst, name="manifest.json"):
    """Overwrite an entry's deflate stream with 0xff bytes: 'invalid block type' in zlib."""
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(name)
    assert info.compress_type == zipfile.ZIP_DEFLATED
    off = info.header_offset
    n, m = struct.unpack_from("<HH", data, off + 26)
    start = off + 30 + n + m
    data[start : start + info.compress_size] = b"\xff" * info.compress_size
    dst.write_bytes(bytes(data))
    return dst


def test_corrupt_deflate_and_deep_manifest_are_coded_rejections_that_count(
    served, tmp_path, frames, lb
):
    client, token, _ = served
    good = lb.pack(tmp_path, frames, "inter", name="good.zip")
    deflate = _corrupt_deflate(good, tmp_path / "deflate.zip")
    with pytest.raises(zlib.error):  # what the archive does to a plain reader
        with zipfile.ZipFile(deflate) as zf:
            zf.read("manifest.json")
    deep = b'{"method": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    deep_zip = lb.rewrite_zip(good, tmp_path / "deep.zip", replace={"manifest.json": deep})
    for path, code in [(deflate, "bad-zip"), (deep_zip, "bad-manifest")]:
        with pytest.raises(SubmissionError) as err:
            check_submission(path)
        assert err.value.code == code
        before = _used(client, token)
        r = _post(client, token, path.read_bytes())
        assert r.status_code == 422 and r.json()["code"] == code, r.text
        assert _used(client, token) == before + 1  # the rejection counts towards the quota
        res = CliRunner().invoke(cli_app, ["submit", "check", str(path)])
        assert res.exit_code == 2 and f"({code})" in res.output
        assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)


def test_an_unexpected_validation_fault_is_a_counted_422_not_a_500(
    served, tmp_path, frames, lb, monkeypatch, caplog
):
    import hwp_leaderboard.server as server_mod

    client, token, _ = served

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003 - fault injection
        raise ZeroDivisionError("validator bug")

    monkeypatch.setattr(server_mod, "inspect_archive", broken)
    before = _used(client, token)
    r = _post(client, token, lb.pack(tmp_path, frames, "inter").read_bytes())
    assert r.status_code == 422 and r.json()["code"] == "unreadable-archive"
    assert "validator bug" not in r.text  # the message is for the operator's log
    assert _used(client, token) == before + 1
    assert any("ZeroDivisionError" in rec.getMessage() for rec in caplog.records)


# -- item 9: leniency ----------------------------------------------------------------------------
def _raw_png(h: int, w: int, depth: int, ctype: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    channels = {0: 1, 2: 3}[ctype]
    row = b"\x00" + bytes(w * channels * depth // 8)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(row * h))
        + chunk(b"IEND", b"")
    )


def _apng(lb) -> bytes:
    from PIL import Image

    a = Image.fromarray(np.zeros((lb.H, lb.W, 3), np.uint8))
    b = Image.fromarray(np.full((lb.H, lb.W, 3), 200, np.uint8))
    buf = io.BytesIO()
    a.save(buf, format="PNG", save_all=True, append_images=[b])
    return buf.getvalue()


def test_archive_leniency_is_gone(tmp_path, frames, ground_truth, lb):
    spec = {s: ground_truth.spec(s) for s in ("single", "inter")}
    good = lb.pack(tmp_path, frames, "inter", name="good.zip")
    png = zipfile.ZipFile(good).read(FIRST)
    check_submission(good, spec=spec)
    assert _raw_png(lb.H, lb.W, 8, 2)  # the helper writes valid 8-bit PNGs too:
    ok8 = lb.rewrite_zip(good, tmp_path / "ok8.zip", replace={FIRST: _raw_png(lb.H, lb.W, 8, 2)})
    check_submission(ok8, spec=spec)
    cases = {
        "arabic-digits": ({"drop": [FIRST], "add": [("renders/capture04/٠٠٠٣٦.png", png)]},
                          "unexpected-file"),
        "trailing-newline": ({"drop": [FIRST], "add": [(FIRST + "\n", png)]}, "unexpected-file"),
        "16-bit-rgb": ({"replace": {FIRST: _raw_png(lb.H, lb.W, 16, 2)}}, "bad-png-mode"),
        "animated": ({"replace": {FIRST: _apng(lb)}}, "bad-png-mode"),
    }  # fmt: skip
    for label, (kw, code) in cases.items():
        path = lb.rewrite_zip(good, tmp_path / f"{label}.zip", **kw)
        with pytest.raises(SubmissionError) as err:
            check_submission(path, spec=spec)
        assert err.value.code == code, (label, err.value.reason)
        assert "\n" not in err.value.reason
    # the 16-bit case: PIL alone would have read it as mode RGB
    from PIL import Image

    assert Image.open(io.BytesIO(_raw_png(lb.H, lb.W, 16, 2))).mode == "RGB"


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"fit_time_s": "12"}, "fit_time_s"),
        ({"fit_time_s": True}, "fit_time_s"),
        ({"method": "good\x00method"}, "U+0000"),
        ({"method": "evil\u202etxt.exe"}, "U+202E"),
        ({"authors": ["A\u2066B"]}, "U+2066"),
        ({"description": "line\u2028break"}, "U+2028"),
        ({"dataset": {"id": 3}}, "dataset.id"),
    ],
)
def test_manifest_types_and_invisible_characters(change, fragment, lb):
    base = {**lb.MANIFEST, "split": "inter"}
    assert parse_manifest({**base, "fit_time_s": 12}).fit_time_s == 12.0  # an int is a number
    assert parse_manifest({**base, "description": "two\nlines\tand a tab"}).description
    assert parse_manifest({**base, "method": "Kamran\u200cpour"}).method  # ZWNJ is text
    with pytest.raises(SubmissionError) as err:
        parse_manifest({**base, **change})
    assert err.value.code == "bad-manifest" and fragment in err.value.reason


# -- item 9 (contact) and item 8 (signatures) ----------------------------------------------------
def _scored(served, tmp_path, frames, lb) -> tuple[str, dict]:
    client, token, app = served
    sub = lb.pack(tmp_path, frames, "inter", contact="me@example.org", name="signed.zip")
    r = _post(client, token, sub.read_bytes())
    assert r.status_code == 202, r.text
    worker = Worker(
        app.state.store,
        app.state.storage,
        app.state.ground_truth,
        scorer_factory=lb.reference_psnr_scorer,
    )
    assert worker.drain(timeout=60) == 1
    return r.json()["id"], client.get("/leaderboard.json").json()


def test_contact_is_stored_but_never_published(served, tmp_path, frames, lb):
    sid, doc = _scored(served, tmp_path, frames, lb)
    client, _, app = served
    (rec,) = doc["submissions"]
    assert rec["id"] == sid and "contact" not in rec["manifest"]
    assert "me@example.org" not in json.dumps(doc)
    assert "me@example.org" not in client.get(f"/submissions/{sid}.html").text
    assert "me@example.org" not in client.get("/").text
    assert app.state.store.get(sid)["manifest"]["contact"] == "me@example.org"  # organisers
    out = build_site(app.state.store, app.state.storage, tmp_path / "site", signing_key=KEY)
    assert "me@example.org" not in (out / "leaderboard.json").read_text()


def test_published_records_are_signed_and_checked(served, tmp_path, frames, lb):
    sid, doc = _scored(served, tmp_path, frames, lb)
    client, _, app = served
    (rec,) = doc["submissions"]
    assert rec["signature"]["alg"] == "hmac-sha256" and rec["archive_sha256"]
    assert client.post("/api/verify", content=json.dumps(doc)).json()["valid"] is True
    assert client.post("/api/verify", content=json.dumps(rec)).json()["valid"] is True
    key = tmp_path / "lb.key"
    key.write_text(KEY.hex())
    exported = tmp_path / "leaderboard.json"
    exported.write_text(json.dumps(doc))
    runner = CliRunner()
    res = runner.invoke(cli_app, ["results", "verify", "--key", str(key), str(exported)])
    assert res.exit_code == 0 and "1 leaderboard record(s)" in res.stdout, res.output
    # a better PSNR typed into a copy is caught offline and by the server
    forged = json.loads(json.dumps(doc))
    forged["submissions"][0]["scores"]["metrics"]["psnr"] += 3.0
    exported.write_text(json.dumps(forged))
    res = runner.invoke(cli_app, ["results", "verify", "--key", str(key), str(exported)])
    assert res.exit_code == 1 and "signature mismatch" in res.stderr
    body = client.post("/api/verify", content=json.dumps(forged)).json()
    assert body["valid"] is False and "signature mismatch" in body["records"][0]["problems"][0]
    # malformed bodies are 4xx, never 500
    assert client.post("/api/verify", content=b"[" * 50_000).status_code == 400
    assert client.post("/api/verify", content=b"\xff\xfe").status_code == 400
    assert client.post("/api/verify", content=b'"just a string"').json()["valid"] is False
    # the static site signs the same records
    out = build_site(app.state.store, app.state.storage, tmp_path / "site", signing_key=KEY)
    assert json.loads((out / "leaderboard.json").read_text()) == doc
    # a record signed here that the leaderboard no longer publishes as is
    stale = json.loads(json.dumps(rec))
    stale["scores"]["num_frames"] = 0
    from hwp_bench.results.signature import attach_signature

    attach_signature(stale, KEY)
    body = client.post("/api/verify", content=json.dumps(stale)).json()
    assert body["valid"] is False and "other values" in body["records"][0]["problems"][0]
    assert public_record(app.state.store.get(sid), signing_key=KEY) == rec


def test_without_a_key_nothing_is_signed_and_verify_is_404(tmp_path, ground_truth, lb):
    settings = Settings(storage=tmp_path / "s", workers=0, allowed_protocols=(DEFAULT_PROTOCOL,))
    app = create_app(settings, ground_truth, scorer_factory=lb.reference_psnr_scorer)
    with TestClient(app) as client:
        assert client.post("/api/verify", content=b"{}").status_code == 404
