"""The HTML report renders every section from result files, renders and a dataset folder."""

from __future__ import annotations

import numpy as np
import pytest

from hwp_bench.data.layout import DatasetWriter
from hwp_bench.data.toy import toy_frames
from hwp_bench.results import build_result, write_result
from hwp_bench.results.collect import ResultRecord
from hwp_bench.results.omega import frame_strengths, omega_correlation, spearman, strengths_for
from hwp_bench.results.report import build_report, summary


def _run(tmp_path, dataset, method, capture, config, n_test_index, omega=None):
    run = tmp_path / "runs" / f"{method}-{len(config)}"
    res = build_result(
        dataset={
            "id": str(dataset),
            "revision": "t",
            "config": capture,
            "capture": capture,
            "split": "test",
        },
        method={"id": method, "version": "0", "preset": "quick", "config": config},
        seed=0,
        protocol="hwp-v1",
        frames={n_test_index: {"psnr": 20.0 + len(config), "ssim": 0.8, "lpips": 0.2}},
        predictions_sha256="p" * 64,
        ground_truth_sha256="g" * 64,
        extra={"diagnostics": {"omega": omega}} if omega else None,
    )
    write_result(run / "results" / f"{capture}.hwp-v1.json", res)
    rd = run / "renders" / capture
    rd.mkdir(parents=True)
    np.save(rd / f"{n_test_index:05d}.npy", np.full((12, 12, 3), 0.5, np.float32))


def test_report_renders_all_sections(tmp_path):
    ds = tmp_path / "toyds"
    w = DatasetWriter(ds, name="toy")
    w.write_capture(
        "capture04",
        list(toy_frames("capture04", 20, "inter")),
        num_frames=20,
        hand_type="inter",
        tags=["hoi"],
    )
    w.finalize()
    omega = {str(i): 0.01 * i for i in range(16)}
    _run(tmp_path, ds, "wildghand", "capture04", {"dpd": True, "pao": "full"}, 19, omega=omega)
    _run(tmp_path, ds, "handy", "capture04", {}, 19)
    out = build_report([tmp_path / "runs"], tmp_path / "rep" / "report.html")
    text = out.read_text()
    s = summary(out)
    assert s["tables"] == 10  # III, IV (online videos), V-X, the oracle gap, per capture
    # bars psnr + lpips, qualitative grid, omega plot
    assert s["images"] == 4, text
    for name in ("bars_psnr.png", "bars_lpips.png", "qualitative.png", "omega.png"):
        assert (tmp_path / "rep" / "report_files" / name).stat().st_size > 1000
    assert "capture04" in text and "Spearman" in text


def test_omega_correlation_known_values():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) is None
    corr = omega_correlation([-0.4, 0.1, 0.3, -0.2], {"blur": [4, 1, 3, 2]})
    assert corr["blur"] == pytest.approx(1.0)


def test_frame_strengths_sources():
    assert frame_strengths({"strengths": {"hoi": 0.5, "blur": 0.0}}) == {"hoi": 0.5, "blur": 0.0}
    assert frame_strengths({"extra": {"strengths": {"illumination": 0.2}}}) == {"illumination": 0.2}
    got = frame_strengths({"occlusion_fraction": 0.3, "illumination_gain": 1.4, "blur_length": 0.0})
    assert got == pytest.approx({"hoi": 0.3, "illumination": 0.4, "blur": 0.0})

    class F:
        def __init__(self, i, s):
            self.index, self.annotations = i, {"strengths": s}

    series = strengths_for(
        [F(0, {"hoi": 0.1, "blur": 0.7}), F(1, {"hoi": 0.9, "blur": 0.0})], [0, 1]
    )
    assert series == {"hoi": [0.1, 0.9], "blur": [0.7, 0.0], "any": [0.7, 0.9]}


def test_capture_bars_without_table_rows_still_draws(tmp_path):
    # An imported video has no Table III rows: the figure is drawn (empty), not a crash.
    from PIL import Image

    from hwp_bench.results.plots import capture_bars

    path = capture_bars([], [], ["capture00", "capture01"], "psnr", tmp_path / "bars.png")
    with Image.open(path) as img:
        assert img.size[0] > 100 and img.size[1] > 100


def test_hand_box_is_a_padded_square_inside_the_image():
    from hwp_bench.results.plots import hand_box

    mask = np.zeros((40, 60), np.float32)
    mask[10:20, 30:36] = 1.0  # 10 rows x 6 columns
    r0, r1, c0, c1 = hand_box(mask, pad=2)
    assert (r1 - r0, c1 - c0) == (14, 14)  # the longer side plus twice the pad, square
    assert r0 <= 10 and r1 >= 20 and c0 <= 30 and c1 >= 36  # contains the hand
    # at the image's corner the box slides inside instead of leaving it
    mask = np.zeros((40, 60), np.float32)
    mask[0:8, 55:60] = 1.0
    assert hand_box(mask, pad=3) == (0, 14, 46, 60)
    # nothing to centre on: the whole image
    assert hand_box(np.zeros((40, 60)), pad=3) == (0, 40, 0, 60)


def test_the_per_capture_bars_show_the_paper_variants_only():
    from hwp_bench.results.report import _method_rows
    from hwp_bench.results.tables import Selection

    def rec(method, variant):
        return ResultRecord(
            method=method, variant=variant, preset="quick", dataset="synth",
            capture="capture04", seed=0, protocol="hwp-v2", means={"psnr": 30.0},
        )  # fmt: skip

    records = [
        rec("wildghand", "full"),
        rec("wildghand", "dpd=off,pao=off"),  # Table VI: kept
        rec("wildghand", "pao=binary"),  # Table VII: kept
        rec("wildghand", "colour_hand_from=1.0"),  # another training option: left out
        rec("wildghand", "dpd=off,colour_hand_from=1.0"),  # left out
        rec("wildghand", "pao_mu=region"),  # any other --set: left out
        rec("intergaussianhand", "full"),
        rec("intergaussianhand", "colour_hand_from=1.0"),  # left out
    ]
    sel = Selection(records, [], "hwp-v2", "quick", "synth")
    kept = {(m, v) for m, v, _ in _method_rows(sel)}
    assert kept == {
        ("wildghand", "full"),
        ("wildghand", "dpd=off,pao=off"),
        ("wildghand", "pao=binary"),
        ("intergaussianhand", "full"),
    }
    assert len(_method_rows(sel, every_variant=True)) == len(records)


def test_the_image_grid_gives_each_rendered_pixel_more_screen_pixels_at_a_higher_dpi(tmp_path):
    from PIL import Image

    from hwp_bench.results.plots import image_grid
    from hwp_bench.results.report import QUALITATIVE_DPI

    crop = np.random.default_rng(0).random((90, 90, 3))
    rows = [("capture00 #95", [crop, crop])]
    small = image_grid(rows, ["truth", "method"], tmp_path / "small.png")
    large = image_grid(rows, ["truth", "method"], tmp_path / "large.png", dpi=QUALITATIVE_DPI)
    w_small, w_large = Image.open(small).size[0], Image.open(large).size[0]
    # two 90 px crops: about 2 screen pixels per pixel at the default, 4 at the report's dpi
    assert 2 * 90 * 1.6 < w_small < 2 * 90 * 2.6
    assert 2 * 90 * 3.4 < w_large < 2 * 90 * 5.0
