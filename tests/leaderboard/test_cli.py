"""The command line: submit pack/check, leaderboard admin and static build."""

from __future__ import annotations

import json
import re
import zipfile

from hwp_leaderboard.database import Store, hash_token
from hwp_leaderboard.files import FileStore
from hwp_leaderboard.worker import Worker
from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL


def test_pack_then_check_with_and_without_spec(tmp_path, frames, ground_truth, lb):
    run = lb.write_run(tmp_path / "run", frames, "inter", noise=0.05, fmt="png")
    out = tmp_path / "sub.zip"
    r = CliRunner().invoke(
        app,
        [
            "submit",
            "pack",
            str(run),
            "--out",
            str(out),
            "--method",
            "M",
            "--author",
            "A",
            "--author",
            "B",
            "--split",
            "inter",
            "--paper",
            "https://arxiv.org/abs/1",
            "--fit-time",
            "12.5",
        ],
    )
    assert r.exit_code == 0, r.output
    with zipfile.ZipFile(out) as zf:
        man = json.loads(zf.read("manifest.json"))
        names = sorted(zf.namelist())
    assert man == {
        "authors": ["A", "B"],
        "fit_time_s": 12.5,
        "method": "M",
        "paper_url": "https://arxiv.org/abs/1",
        "protocol": DEFAULT_PROTOCOL,
        "split": "inter",
        "test_poses": "estimated",  # a run folder from before tracks: renders/<capture>/
    }
    assert names[1:] == sorted(
        f"renders/{c}/{f.index:05d}.png" for c in ("capture04", "capture05") for f in frames[c]
    )
    spec = tmp_path / "spec.json"
    spec.write_text(ground_truth.spec("inter").to_json())
    r = CliRunner().invoke(app, ["submit", "check", str(out), "--spec", str(spec)])
    assert r.exit_code == 0 and "ok: M (inter" in r.output and "5 renders" in r.output
    r = CliRunner().invoke(app, ["submit", "check", str(out)])
    assert r.exit_code == 0 and "not compared" in r.output
    bad = lb.rewrite_zip(out, tmp_path / "bad.zip", drop=["renders/capture05/00046.png"])
    r = CliRunner().invoke(app, ["submit", "check", str(bad), "--spec", str(spec)])
    assert r.exit_code == 2 and "missing-frames" in r.output and "00046.png" in r.output
    r = CliRunner().invoke(app, ["submit", "pack", str(run), "--out", str(out)])
    assert r.exit_code == 2 and "--author" in r.output
    r = CliRunner().invoke(app, ["submit", "pack", str(run), "--out", str(out), "--author", "A"])
    assert r.exit_code == 2 and "method: Field required" in r.output


def test_admin_and_static_site(tmp_path, frames, ground_truth, lb):
    st = tmp_path / "state"
    r = CliRunner().invoke(
        app, ["leaderboard", "admin", "create-team", "alpha", "--storage", str(st)]
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        app, ["leaderboard", "admin", "create-team", "alpha", "--storage", str(st)]
    )
    assert r.exit_code == 2 and "exists" in r.output
    r = CliRunner().invoke(
        app, ["leaderboard", "admin", "create-token", "alpha", "--storage", str(st)]
    )
    token = r.output.strip()
    assert r.exit_code == 0 and re.fullmatch(r"hwpl_[A-Za-z0-9_-]{43}", token)
    storage = FileStore(st)
    store = Store(storage.default_database_url)
    assert store.team_for_token(token).name == "alpha" and hash_token(token) != token
    # enqueue and score one submission, then build the site
    import uuid

    from hwp_leaderboard.archive import inspect_archive

    sub = lb.pack(tmp_path, frames, "single", method='<b>bold</b> & "q"')
    index = inspect_archive(sub)
    sid = uuid.uuid4().hex
    storage.accept(sub, sid)
    store.add_submission(
        submission_id=sid,
        team_id=store.team_by_name("alpha").id,
        quota=5,
        status="pending",
        split="single",
        protocol="hwp-v1",
        method=index.manifest.method,
        manifest=index.manifest.model_dump(exclude_none=True),
    )
    Worker(store, storage, ground_truth, scorer_factory=lb.reference_psnr_scorer).run_once()
    r = CliRunner().invoke(app, ["leaderboard", "admin", "submissions", "--storage", str(st)])
    assert sid in r.output and "done" in r.output
    site = tmp_path / "site"
    r = CliRunner().invoke(app, ["leaderboard", "build", str(site), "--storage", str(st)])
    assert r.exit_code == 0, r.output
    html = (site / "index.html").read_text()
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;q&quot;" in html and "<b>bold</b>" not in html
    assert f'href="submissions/{sid}.html"' in html
    detail = (site / "submissions" / f"{sid}.html").read_text()
    assert (
        f'src="../samples/{sid}/capture00.png"' in detail
        and (site / "samples" / sid / "capture02.png").is_file()
    )
    data = json.loads((site / "leaderboard.json").read_text())
    assert data["submissions"][0]["scores"]["captures"].keys() == {"capture00", "capture02"}
    # nothing in the site is a ground-truth image or the sqlite file
    assert not list(site.rglob("*.sqlite3")) and not list(site.rglob("*.zip"))
    r = CliRunner().invoke(
        app, ["leaderboard", "admin", "revoke-tokens", "alpha", "--storage", str(st)]
    )
    assert r.exit_code == 0 and store.team_for_token(token) is None


def test_pack_takes_defaults_from_the_runner_run_json(tmp_path, frames, lb):
    run = lb.write_run(
        tmp_path / "out" / "wildghand-quick-synth-s0-abc", frames, "single", noise=0.05
    )
    (run / "run.json").write_text(
        json.dumps(
            {
                "method": {
                    "id": "wildghand",
                    "name": "WildGHand",
                    "version": "0.1",
                    "paper": "https://arxiv.org/abs/x",
                },
                "preset": "quick",
                "dataset": "synth",
            }
        )
    )
    (run / "results").mkdir()
    for cap, t in (("capture00", 100.0), ("capture02", 300.0)):
        (run / "results" / f"{cap}.hwp-v1.json").write_text(json.dumps({"timings": {"fit_s": t}}))
    out = tmp_path / "sub.zip"
    # the parent folder holds one run: pack finds its renders/
    r = CliRunner().invoke(
        app, ["submit", "pack", str(tmp_path / "out"), "--out", str(out), "--author", "A"]
    )
    assert r.exit_code == 0, r.output
    with zipfile.ZipFile(out) as zf:
        man = json.loads(zf.read("manifest.json"))
    assert man["method"] == "WildGHand (quick)" and man["method_version"] == "0.1"
    assert (
        man["dataset"] == {"id": "synth"}
        and man["fit_time_s"] == 200.0
        and man["split"] == "single"
    )
    assert man["paper_url"] == "https://arxiv.org/abs/x"
