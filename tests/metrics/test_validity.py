"""The validity table: hwp-v3 (the default) and hwp-v2 rank the perfect avatar first and its
degradations in order.

Fast: one tiny HWP-Synth capture through ``hwp-bench protocol validate``. Slow: HWP-Synth quick,
seed 0, all 11 captures, every claim of docs/validity.md.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.metrics.validity import BEGIN, END, ValidityReport, compute_validity


@pytest.fixture(scope="module")
def tiny_report(tiny_synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("validity")
    doc = out / "validity.md"
    doc.write_text(f"# Validity\n\nprose before\n\n{BEGIN}\nold table\n{END}\n\nprose after\n")
    res = CliRunner().invoke(
        app,
        ["protocol", "validate", "--dataset", str(tiny_synth), "--captures", "capture00"]
        + ["--protocols", "hwp-v3,hwp-v2,hwp-v1"]
        + ["--out", str(doc), "--json", str(out / "v.json"), "--no-progress"],
    )
    assert res.exit_code == 0, res.output  # --check (the default protocol) passed
    return ValidityReport.from_dict(json.loads((out / "v.json").read_text())), doc


def test_the_command_writes_the_table_between_the_markers_and_keeps_the_prose(tiny_report):
    _, doc = tiny_report
    text = doc.read_text()
    assert text.startswith("# Validity\n\nprose before") and text.endswith("prose after\n")
    assert "old table" not in text and "#### Protocol `hwp-v2`" in text
    assert "| perfect avatar |" in text and "Test-pose joint errors" in text


@pytest.mark.parametrize("protocol", ["hwp-v2", "hwp-v3"])
def test_the_protocol_orders_the_references_on_aligned_and_exact(tiny_report, protocol):
    r, _ = tiny_report
    assert r.check(protocol) == []
    c = "capture00"
    for track in ("aligned", "exact"):
        v = {row: r.values[c][protocol][track][row] for row in r.rows}
        for a, b in (("perfect", "blur1"), ("blur1", "blur2"), ("blur2", "blur4")):
            assert v[a]["psnr"] > v[b]["psnr"] and v[a]["ssim"] > v[b]["ssim"]
            assert v[a]["lpips"] < v[b]["lpips"]
        for row in ("erode1", "erode2"):  # the gaming attempt does not pay
            assert v[row]["psnr"] <= v["perfect"]["psnr"] - 3
        assert v["flat"]["psnr"] <= v["perfect"]["psnr"] - 8
    exact = r.values[c][protocol]["exact"]["perfect"]
    assert exact["psnr"] >= 35 and exact["ssim"] >= 0.98 and exact["lpips"] <= 0.02


def test_the_sub_pixel_grid_closes_part_of_the_aligned_gap(tiny_report):
    r, _ = tiny_report
    v = {p: r.values["capture00"][p] for p in ("hwp-v2", "hwp-v3")}
    gap = {p: v[p]["exact"]["perfect"]["psnr"] - v[p]["aligned"]["perfect"]["psnr"] for p in v}
    assert gap["hwp-v3"] < gap["hwp-v2"]
    assert r.aligner["version"] >= 4 and r.aligner["image_edges"] is True  # the default aligner
    assert "with image edges" in r.to_markdown()


def test_alignment_recovers_what_the_estimated_poses_cost(tiny_report):
    r, _ = tiny_report
    p = {t: r.values["capture00"]["hwp-v2"][t]["perfect"]["psnr"] for t in r.tracks}
    assert p["exact"] - p["aligned"] <= 3.0
    assert p["aligned"] - p["estimated"] >= 10.0
    j = r.joints["capture00"]
    assert j["aligned"]["px"] < 0.5 * j["estimated"]["px"]


def test_hwp_v1_is_shown_to_fail_the_same_claims(tiny_report):
    r, _ = tiny_report
    bad = r.check("hwp-v1")
    assert any("perfect on exact" in b and "< 35" in b for b in bad)
    assert any("flat only" in b for b in bad)


def test_bad_input_is_a_one_line_error(tiny_synth, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["protocol", "validate", "--test-poses", "guessed"])
    assert res.exit_code == 2 and "estimated, aligned, exact" in res.output
    assert "Traceback" not in res.output
    not_synth = tmp_path / "plain"
    not_synth.mkdir()
    res = runner.invoke(app, ["protocol", "validate", "--dataset", str(not_synth)])
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_the_silhouette_aligner_option_reaches_the_aligned_track(tiny_synth, tmp_path):
    res = CliRunner().invoke(
        app,
        ["protocol", "validate", "--dataset", str(tiny_synth), "--captures", "capture00"]
        + ["--protocols", "hwp-v3", "--test-poses", "aligned,exact", "--metrics", "psnr"]
        + ["--no-aligner-edges", "--json", str(tmp_path / "v.json"), "--no-progress"]
        + ["--check", ""],
    )
    assert res.exit_code == 0, res.output
    r = ValidityReport.from_dict(json.loads((tmp_path / "v.json").read_text()))
    assert "image_edges" not in r.aligner and "with image edges" not in r.to_markdown()


@pytest.fixture(scope="module")
def quick_report():
    return compute_validity("synth", progress=False)


def _is_aligned_gap(claim: str) -> bool:
    return claim.startswith("perfect on aligned is") and "below exact" in claim


@pytest.mark.slow
def test_hwp_v2_is_valid_on_every_capture_of_hwp_synth_quick(quick_report):
    """Every claim but the aligned gap (the test below) holds on all 11 captures."""
    assert len(quick_report.captures) == 11
    assert [c for c in quick_report.check("hwp-v2") if not _is_aligned_gap(c)] == []
    assert quick_report.check("hwp-v1")  # the reason hwp-v2 exists


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="open under hwp-v2: with the default aligner the perfect avatar is 4.54 dB below "
    "exact on aligned (target 3 dB); hwp-v3, the default protocol, meets it (below)",
)
def test_the_perfect_avatar_on_aligned_is_within_3_db_of_exact(quick_report):
    assert not any(_is_aligned_gap(c) for c in quick_report.check("hwp-v2"))


@pytest.mark.slow
def test_hwp_v3_with_the_default_aligner_meets_every_claim(quick_report):
    """hwp-v3 (the default) on test poses aligned with image edges (the default aligner):
    every claim, the 3 dB one included."""
    assert len(quick_report.captures) == 11
    assert quick_report.aligner["image_edges"] is True
    assert quick_report.check("hwp-v3") == []
