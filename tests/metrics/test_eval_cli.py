"""``hwp-bench eval`` end to end on a dataset folder written by the data area's writer."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.data import Frame, HandParams
from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from hwp_bench.data.layout import DatasetWriter

    root = tmp_path_factory.mktemp("evalds") / "ds"
    w = DatasetWriter(root, name="evaltest")
    rng = np.random.default_rng(0)
    n = 20  # test split: frames 18, 19

    def rows(capture):
        for i in range(n):
            mask = np.zeros((40, 40), np.float32)
            mask[5:35, 8:30] = 1
            img = (rng.random((40, 40, 3)) * 255).astype(np.uint8)
            hands = {"right": HandParams(np.zeros(48), np.zeros(10), [0, 0, 0.5])}
            yield Frame(
                image=img,
                capture=capture,
                index=i,
                num_frames=n,
                K=np.diag([50.0, 50.0, 1.0]).astype(np.float32),
                hands=hands,
                mask=mask,
                hand_type="inter",
                split="test",
            )

    for c in ("capture04", "capture05"):
        w.write_capture(c, rows(c), num_frames=n, hand_type="inter")
    w.finalize()
    return root


def write_preds(ds, out, captures=("capture04", "capture05"), drop=None):
    from hwp_bench.data import load_frames

    for c in captures:
        (out / c).mkdir(parents=True)
        for f in load_frames(str(ds), c, "test"):
            if (c, f.index) == drop:
                continue
            pred = np.clip(np.asarray(f.image, np.float32) + 0.03, 0, 1).astype(np.float32)
            np.save(out / c / f"{f.index:05d}.npy", pred)


def test_eval_scores_and_writes_results(dataset, tmp_path):
    write_preds(dataset, tmp_path / "pred")
    r = CliRunner().invoke(
        app,
        [
            "eval",
            str(tmp_path / "pred"),
            "--dataset",
            str(dataset),
            "--no-lpips",
            "--out",
            str(tmp_path / "res"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "capture04" in r.output and "mean" in r.output
    files = sorted((tmp_path / "res").glob("*.json"))
    assert len(files) == 2
    data = json.loads(files[0].read_text())
    assert sorted(data["frames"]) == ["18", "19"] and data["protocol"]["id"] == DEFAULT_PROTOCOL
    v = CliRunner().invoke(
        app, ["results", "verify", *map(str, files), "--predictions", str(tmp_path / "pred")]
    )
    assert v.exit_code == 0, v.output


def test_eval_refuses_incomplete_predictions(dataset, tmp_path):
    write_preds(dataset, tmp_path / "pred", drop=("capture05", 19))
    np.save(tmp_path / "pred" / "capture04" / "00003.npy", np.zeros((40, 40, 3), np.float32))
    r = CliRunner().invoke(
        app,
        [
            "eval",
            str(tmp_path / "pred"),
            "--dataset",
            str(dataset),
            "--no-lpips",
            "--out",
            str(tmp_path / "res"),
        ],
    )
    assert r.exit_code == 2
    assert "nothing was scored" in r.output
    assert "missing: 00019" in r.output and "extra: 00003" in r.output
    assert not (tmp_path / "res").exists()


def test_eval_config_needs_the_captures(dataset, tmp_path):
    write_preds(dataset, tmp_path / "pred")
    args = ["eval", str(tmp_path / "pred"), "--dataset", str(dataset), "--no-lpips"]
    r = CliRunner().invoke(app, [*args, "--config", "inter"])
    assert r.exit_code == 2 and "capture06" in r.output
    r = CliRunner().invoke(app, [*args, "--config", "capture04"])
    assert r.exit_code == 2 and "captures not in --config capture04: capture05" in r.output
