"""Table IV over imported videos, from result files alone."""

from __future__ import annotations

import pytest

from hwp_bench.results import build_result, write_result
from hwp_bench.results.collect import collect
from hwp_bench.results.tables import TableError, make_table

VIDEO_REV = "hwp_bench.video v1 0123456789ab"


def _write(root, method, dataset, capture, seed, psnr, revision=VIDEO_REV, ssim=0.9):
    frames = {0: {"psnr": psnr - 1.0, "ssim": ssim, "lpips": 0.1},
              1: {"psnr": psnr + 1.0, "ssim": ssim, "lpips": 0.1}}  # fmt: skip
    res = build_result(
        dataset={
            "id": dataset,
            "revision": revision,
            "config": capture,
            "capture": capture,
            "split": "test",
        },  # fmt: skip
        method={"id": method, "version": "0", "preset": "quick", "config": {}},
        seed=seed,
        protocol="hwp-v1",
        frames=frames,
        predictions_sha256="p" * 64,
        ground_truth_sha256="g" * 64,
    )
    write_result(
        root / f"{method}-{dataset.strip('/').replace('/', '_')}-{capture}-{seed}.json", res
    )


def test_table_iv_averages_every_imported_video(tmp_path):
    # Two imported folders (one with two videos), two seeds on one video, and a synthetic
    # result that must be left out.
    _write(tmp_path, "wildghand", "/data/phone", "capture00", 0, 20.0)
    _write(tmp_path, "wildghand", "/data/phone", "capture00", 1, 22.0)  # seed mean 21
    _write(tmp_path, "wildghand", "/data/phone", "capture01", 0, 25.0)
    _write(tmp_path, "wildghand", "/data/webcam", "capture00", 0, 27.0)
    _write(tmp_path, "mean-color", "/data/phone", "capture00", 0, 10.0)
    _write(tmp_path, "mean-color", "/data/phone", "capture01", 0, 12.0)
    _write(tmp_path, "wildghand", "hwp-synth-quick-s0", "capture04", 0, 99.0, revision="x")
    records, _ = collect([tmp_path])
    table = make_table("IV", records)
    rows = {r.label: r for r in table.rows}
    assert rows["WildGHand"].cells[0].value == pytest.approx((21.0 + 25.0 + 27.0) / 3)
    assert rows["WildGHand"].cells[0].best is False  # the only measured PSNR: nothing to beat
    # mean-color lacks the webcam video: no value, and a note says which video.
    mc = rows["Mean colour (trivial)"]
    assert mc.cells[0].value is None
    assert any("Mean colour" in n and "webcam/capture00" in n for n in table.notes)
    assert rows["WildGHand (paper)"].cells[0].value == 27.39
    assert "Handy (paper)" in rows and "3 imported video(s)" in table.context_line()
    md = table.to_markdown()
    assert "Table IV" in md and "24.33" in md


def test_table_iv_says_how_to_get_results_when_there_are_none(tmp_path):
    _write(tmp_path, "wildghand", "hwp-synth-quick-s0", "capture04", 0, 20.0, revision="x")
    records, _ = collect([tmp_path])
    with pytest.raises(TableError, match="import-video"):
        make_table("IV", records)
