"""A capture whose test clip has a frame without any hand (an imported video where the hands
left the view) is scored on its other frames; with no scorable frame it stops before the fit."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from hwp_bench.cli import app

from .conftest import HAND_TYPE, tiny_frames

N = 20  # frames 18 and 19 are the test clip (hwp_bench.data.layout.split_bounds)


def _dataset(root: Path, empty: set[int]) -> Path:
    from hwp_bench.data.layout import DatasetWriter

    def frames():
        for f in tiny_frames("capture00", N):
            if f.index in empty:  # the hand left the view: no hand pixel, no hand parameters
                f = dataclasses.replace(
                    f, image=np.zeros_like(f.image), mask=np.zeros_like(f.mask), hands={}
                )
            yield f

    writer = DatasetWriter(root, name="tiny-gap", description="a test frame without a hand")
    writer.write_capture("capture00", frames(), num_frames=N, hand_type=HAND_TYPE["capture00"])
    writer.finalize()
    return root


def _run(dataset: Path, out: Path, poses: str = "estimated"):
    args = ["run", "--method", "toy-mean", "--split", "capture00", "--dataset", str(dataset),
            "--executor", "inline", "--out", str(out), "--metrics", "psnr,ssim",
            "--no-progress", "--test-poses", poses]  # fmt: skip
    res = CliRunner().invoke(app, args)
    return res.exit_code, res.output


def test_a_test_frame_without_a_hand_is_left_out_listed_and_the_result_verifies(
    tmp_path, toy_plugin
):
    data = _dataset(tmp_path / "data", empty={19})
    code, text = _run(data, tmp_path / "runs")
    assert code == 0, text
    (path,) = (tmp_path / "runs").glob("*/results/capture00.*.json")
    res = json.loads(path.read_text())
    assert list(res["frames"]) == ["18"] and res["frames_expected"] == 1
    assert "hand mask is empty" in res["unscored_frames"]["19"]
    assert any("not scored" in n for n in res["notes"])
    # the frame was still rendered (a later protocol may score it), only not scored
    assert len(list(path.parent.parent.glob("renders/*/capture00/00019.npy"))) == 1
    check = CliRunner().invoke(app, ["results", "verify", str(path)])
    assert check.exit_code == 0, check.output
    # The toy method paints its mean colour everywhere: the scored frame's PSNR is finite.
    assert 5 < res["means"]["psnr"] < 60


def test_no_scorable_test_frame_stops_before_the_fit_with_the_reason(tmp_path, toy_plugin):
    data = _dataset(tmp_path / "data", empty={18, 19})
    code, text = _run(data, tmp_path / "runs")
    assert code != 0
    assert "none of the 2 test frames of capture00 can be scored" in text
    assert "hand mask is empty" in text
    # nothing was fitted: no checkpoint was written
    assert not list((tmp_path / "runs").glob("*/checkpoints/capture00/*"))
