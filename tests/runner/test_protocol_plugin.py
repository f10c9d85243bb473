"""A protocol plugin registered through an entry point reaches the runner's worker processes.

The plugin is a real installed distribution as far as ``importlib.metadata`` is concerned: a
``*.dist-info`` folder with an ``entry_points.txt`` on ``PYTHONPATH``, which is exactly what
``pip install`` of a package declaring ``[project.entry-points."hwp_bench.protocols"]`` leaves
behind. Nothing is registered in the test process itself, so the score can only come from the
worker finding the entry point on its own.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hwp_bench.cli import app

PLUGIN = textwrap.dedent(
    '''
    import numpy as np
    from hwp_bench.metrics.protocols import Protocol


    class MaskedL1(Protocol):
        """Mean absolute error over the ground-truth mask (a toy protocol)."""

        id = "toy-l1"
        description = "mean absolute error over the ground-truth hand mask"
        metrics = ("l1",)

        @property
        def params(self):
            return {"region": "mask >= 0.5", "l1": "mean |pred - gt| over mask pixels x 3"}

        def score_frame(self, pred_color, pred_alpha, frame, *, metrics=None, hand_vertices=None):
            mask = np.asarray(frame.mask) >= 0.5
            diff = np.abs(np.asarray(pred_color, np.float64) - np.asarray(frame.image, np.float64))
            return {"l1": float(diff[mask].mean())}
    '''
)


@pytest.fixture
def protocol_plugin(tmp_path, monkeypatch) -> Path:
    site = tmp_path / "site"
    (site / "toy_protocols").mkdir(parents=True)
    (site / "toy_protocols" / "__init__.py").write_text(PLUGIN)
    dist = site / "toy_protocols-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-protocols\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[hwp_bench.protocols]\ntoy-l1 = toy_protocols:MaskedL1\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    return site


def test_entry_point_protocol_is_listed_and_scores_in_local_workers(
    tiny_dataset, toy_plugin, protocol_plugin, tmp_path
):
    runner = CliRunner()
    listed = runner.invoke(app, ["protocol", "list"])
    assert listed.exit_code == 0, listed.output
    assert "toy-l1" in listed.output and "entry point (toy-protocols 0.1)" in listed.output

    out = tmp_path / "runs"
    args = ["run", "--method", "toy-mean", "--split", "capture00", "--dataset", str(tiny_dataset)]
    args += ["--protocol", "toy-l1", "--executor", "local", "--out", str(out), "--no-progress"]
    args += ["--test-poses", "estimated"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    (path,) = out.glob("*/results/capture00.toy-l1.estimated.json")
    body = json.loads(path.read_text())
    assert body["protocol"]["id"] == "toy-l1"
    assert body["protocol"]["params"]["region"] == "mask >= 0.5"

    # Recompute the metric here from the saved renders and the dataset: the worker used the
    # plugin's formula, not a default protocol's.
    from hwp_bench.data import load_frames
    from hwp_bench.runner.renders import read_frame

    renders = path.parent.parent / "renders" / "estimated" / "capture00"
    for frame in load_frames(str(tiny_dataset), "capture00", "test"):
        color, _ = read_frame(renders, frame.index)
        mask = frame.mask >= 0.5
        expected = np.abs(color.astype(np.float64) - frame.image.astype(np.float64))[mask].mean()
        assert body["frames"][str(frame.index)]["l1"] == pytest.approx(expected, abs=1e-6)
    assert 0.01 < body["means"]["l1"] < 0.2  # a disc of flat colour plus 5% noise


def test_unknown_protocol_is_one_line_naming_the_known_ones(tiny_dataset, toy_plugin, tmp_path):
    res = CliRunner().invoke(
        app,
        ["run", "--method", "toy-mean", "--split", "capture00", "--dataset", str(tiny_dataset)]
        + ["--protocol", "hwp-v9", "--out", str(tmp_path / "r"), "--no-progress"],
    )
    assert res.exit_code != 0
    assert "hwp-v9" in res.output and "hwp-v1" in res.output and "Traceback" not in res.output
