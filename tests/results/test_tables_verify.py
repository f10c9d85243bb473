"""Tables refuse result files that fail verification (issue 17, item 1), and ``results verify``
reports every file, bad types included, then goes on (item 6)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.results import build_result, read_result, verify_result, write_result
from hwp_bench.results.collect import collect, collect_results

CAPTURES = ["capture00", "capture02", *(f"capture{i:02d}" for i in range(4, 11))]
ROW = "Handy"  # a paper method: its Table III row label is fixed


def _result(capture: str, psnr: float, *, seed: int = 0) -> dict:
    """Two frames whose PSNR mean is exactly ``psnr``; frame 1 tagged blur."""
    frames = {
        0: {"psnr": psnr - 0.5, "ssim": 0.8, "lpips": 0.2},
        1: {"psnr": psnr + 0.5, "ssim": 0.9, "lpips": 0.1},
    }
    return build_result(
        dataset={"id": "tiny", "revision": "t", "config": capture, "capture": capture},
        method={"id": "handy", "version": "0", "preset": "quick", "config": {}},
        seed=seed,
        protocol="hwp-v1",
        frames=frames,
        frame_tags={1: ["blur"]},
        predictions_sha256="p" * 64,
        ground_truth_sha256="g" * 64,
    )


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "runs"
    for cap in CAPTURES:
        write_result(root / f"{cap}.json", _result(cap, 18.0 + int(cap[-2:]) / 10))
    (root / "run.json").write_text(json.dumps({"not": "a result"}))  # ignored, not refused
    return root


def _table(root):
    res = CliRunner().invoke(
        app, ["results", "table", "-t", "III", "-r", str(root), "-f", "json", "--no-paper"]
    )
    return res


def _inter_psnr(res) -> float:
    cells = json.loads(res.stdout)["cells"]
    return next(
        c["value"]
        for c in cells
        if c["row"] == ROW and c["group"] == "inter" and c["metric"] == "psnr"
    )


def _edit(path, fn, *, raw=False):
    data = json.loads(path.read_text())
    out = fn(data)
    path.write_text(out if raw else json.dumps(data, indent=2))


def _fix_means(d):
    """What a careful editor does: change a frame and recompute its means (not the hash)."""
    d["frames"]["0"]["psnr"] += 3.0
    d["means"]["psnr"] = (d["frames"]["0"]["psnr"] + d["frames"]["1"]["psnr"]) / 2


EDITS = {
    "mean+10": (lambda d: d["means"].update(psnr=d["means"]["psnr"] + 10), "mean psnr"),
    "string-mean": (lambda d: d["means"].update(psnr=str(d["means"]["psnr"])), "means"),
    "bool-mean": (lambda d: d["means"].update(ssim=True), "means"),
    "means-list": (lambda d: d.update(means=[1.0, 2.0, 3.0]), "means must be an object"),
    "frames-list": (lambda d: d.update(frames=[1, 2]), "frames must be"),
    "stale-integrity": (_fix_means, "integrity hash mismatch"),
    # found by the fuzz pass: the one object no hash covers may hold nothing else
    "integrity-extra": (lambda d: d["integrity"].update(note="x"), "integrity holds unknown"),
    "nan-mean": (
        lambda d: json.dumps({**d, "means": {**d["means"], "psnr": float("nan")}}),
        "NaN",
    ),
    "overflow-mean": (
        lambda d: json.dumps(d).replace(f'"psnr": {d["means"]["psnr"]}', '"psnr": 1e999', 1),
        "overflows",
    ),
    "truncated": (lambda d: json.dumps(d)[:200], "not valid JSON"),
    "deep-extra": (
        lambda d: json.dumps(d)[:-1] + ', "extra": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "not valid JSON",
    ),
}


def test_untouched_files_make_the_table(results):
    res = _table(results)
    assert res.exit_code == 0, res.output
    # inter = captures 4..10: 18 + mean(0.4 .. 1.0) = 18.7
    assert _inter_psnr(res) == pytest.approx(18.7)
    records, skipped = collect([results])
    assert len(records) == 9 and skipped == []
    assert collect_results([results]).ignored == [str(results / "run.json")]


@pytest.mark.parametrize("name", sorted(EDITS))
def test_a_table_refuses_an_edited_or_broken_file_and_names_it(results, name):
    fn, fragment = EDITS[name]
    target = results / "capture07.json"
    _edit(target, fn, raw=name in ("nan-mean", "overflow-mean", "truncated", "deep-extra"))
    res = _table(results)
    assert res.exit_code == 2, res.output
    assert res.stdout == ""  # no table at all, not a table with a moved cell
    assert str(target) in res.stderr and fragment in res.stderr, res.stderr
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    # the other files still verify and are the only ones collected
    got = collect_results([results])
    assert [p for p, _ in got.invalid] == [str(target)] and len(got.records) == 8


def test_the_report_refuses_too(results, tmp_path):
    _edit(results / "capture04.json", EDITS["mean+10"][0])
    res = CliRunner().invoke(
        app, ["results", "report", "-r", str(results), "-o", str(tmp_path / "r.html")]
    )
    assert res.exit_code == 2 and "capture04.json" in res.stderr
    assert not (tmp_path / "r.html").exists()


def test_load_results_refuses_an_edited_file(results):
    from hwp_bench.results import ResultError
    from hwp_bench.results.aggregate import load_results

    assert len(load_results(results)) == 9
    _edit(results / "capture05.json", EDITS["mean+10"][0])
    with pytest.raises(ResultError, match="capture05.json: mean psnr"):
        load_results(results)


def test_verify_reports_every_file_and_goes_on(tmp_path):
    good = write_result(tmp_path / "z-good.json", _result("capture04", 20.0))
    bad = {
        "a-string-integrity": lambda d: d.update(integrity="abc"),
        "b-frames-list": lambda d: d.update(frames=[{"psnr": 1}]),
        "c-nan-timing": None,
        "d-seed-bool": lambda d: d.update(seed=True),
        "e-frame-key": lambda d: d["frames"].update({"٣": d["frames"]["0"]}),
    }
    paths = []
    for name, fn in bad.items():
        p = write_result(tmp_path / f"{name}.json", _result("capture04", 20.0))
        if fn is None:
            d = json.loads(p.read_text())
            d["timings"] = {"fit_s": float("nan")}
            p.write_text(json.dumps(d))  # Python writes the NaN token
        else:
            _edit(p, fn)
        paths.append(p)
    missing = tmp_path / "f-missing.json"
    res = CliRunner().invoke(app, ["results", "verify", *map(str, [*paths, missing, good])])
    assert res.exit_code == 1
    assert res.exception is None or isinstance(res.exception, SystemExit)
    for p in [*paths, missing]:
        assert f"FAIL {p}" in res.stderr
    assert f"OK   {good}" in res.stdout
    assert "6 of 7 file(s) failed" in res.stderr
    for fragment in ("integrity must be an object", "frames must be", "NaN", "seed must be"):
        assert fragment in res.stderr
    assert "frames keys must be frame indices" in res.stderr


def test_verify_result_never_raises_on_wrong_types():
    base = _result("capture04", 20.0)
    for key, value in [
        ("means", "x"),
        ("tag_means", {"blur": [1]}),
        ("protocol", {"id": 3}),
        ("metrics", ["psnr", 3]),
        ("frame_tags", {"0": "blur"}),
        ("hashes", None),
        ("frames_expected", "2"),
        ("method", {"id": ""}),
    ]:
        problems = verify_result({**base, key: value})
        assert problems and all(isinstance(p, str) for p in problems), key
    assert verify_result({**base, "protocol": {"id": "no-such", "params": {}}})[0].startswith(
        "cannot recompute means"
    )
    assert verify_result(base) == []
    assert verify_result([1, 2])  # not even an object


def test_duplicate_keys_are_refused(tmp_path):
    p = write_result(tmp_path / "r.json", _result("capture04", 20.0))
    text = p.read_text().replace('"seed": 0', '"seed": 0, "seed": 1', 1)
    p.write_text(text)
    from hwp_bench.results import ResultError

    with pytest.raises(ResultError, match="appears twice"):
        read_result(p)
