"""Robustness sweep: levels scale exactly one perturbation, everything else stays identical."""

from __future__ import annotations

import numpy as np
import pytest

from hwp_bench.data import load_frames
from hwp_bench.runner.sweep import generate_level, slope


@pytest.fixture(scope="module")
def levels(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    return {
        lv: generate_level(
            root / f"L{lv}", "capture04", "blur", lv, preset="tiny", num_frames=20, progress=False
        )
        for lv in (0.0, 0.5, 1.0)
    }


def test_levels_scale_only_the_chosen_perturbation(levels):
    train = {lv: load_frames(p, "capture04", "train") for lv, p in levels.items()}
    s = {
        lv: np.array(
            [
                [
                    f.annotations["strengths"][k]
                    for k in ("hoi", "complex_pose", "illumination", "blur")
                ]
                for f in fr
            ]
        )
        for lv, fr in train.items()
    }
    assert s[1.0][:, 3].max() > 0.3  # blur present at level 1
    np.testing.assert_allclose(s[0.5][:, 3], 0.5 * s[1.0][:, 3], atol=1e-6)
    assert np.all(s[0.0] == 0)
    for lv in levels:  # no other perturbation at any level
        assert np.all(s[lv][:, :3] == 0)
    # identical clean test clip at every level, pixel for pixel
    tests = {lv: load_frames(p, "capture04", "test") for lv, p in levels.items()}
    for a, b in zip(tests[0.0], tests[1.0], strict=True):
        np.testing.assert_array_equal(a.image, b.image)
    # blur changes some training frames' pixels
    diff = max(
        float(np.abs(a.image - b.image).max()) for a, b in zip(train[0.0], train[1.0], strict=True)
    )
    assert diff > 0.05


def test_level_bounds(tmp_path):
    with pytest.raises(ValueError, match="outside"):
        generate_level(tmp_path / "x", "capture04", "blur", 3.0, preset="tiny", num_frames=20)
    with pytest.raises(KeyError):
        generate_level(tmp_path / "x", "capture04", "rain", 1.0, preset="tiny", num_frames=20)


def test_slope():
    assert slope([0, 0.5, 1], [30, 28, 26]) == pytest.approx(-4.0)


@pytest.mark.slow
def test_run_sweep_end_to_end(tmp_path):
    """The trivial method through the real runner on two levels: a sweep.json and a plot."""
    import json

    from hwp_bench.runner.sweep import run_sweep

    doc = run_sweep(
        "occlusion",
        [0.0, 1.0],
        ["mean-color"],
        out=tmp_path,
        capture="capture01",
        synth_preset="tiny",
        num_frames=20,
        cpus=1,
        progress=False,
    )
    assert doc["failures"] == []
    assert [v is not None for v in doc["psnr"]["mean-color"]] == [True, True]
    saved = json.loads((tmp_path / "sweep-occlusion" / "sweep.json").read_text())
    assert saved["levels"] == [0.0, 1.0] and saved["psnr"] == doc["psnr"]
    assert (tmp_path / "sweep-occlusion" / "robustness.png").stat().st_size > 1000
