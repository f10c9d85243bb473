"""``hwp-bench hand show`` writes a picture in which the hand covers a sensible area."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.hand import load_hand_model
from hwp_bench.hand.poses import POSES, named_pose
from hwp_bench.hand.preview import render_mesh


def test_show_writes_png(tmp_path):
    out = tmp_path / "hand.png"
    res = CliRunner().invoke(
        app,
        ["hand", "show", "--pose", "fist", "--views", "palm", "--size", "64", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape[0] > 64 and img.shape[1] > 64
    assert (img.mean(-1) < 240).mean() > 0.05  # something was drawn


def test_show_rejects_unknown_pose(tmp_path):
    res = CliRunner().invoke(app, ["hand", "show", "--pose", "nope", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2


def test_preview_silhouettes():
    model = load_hand_model("open", dtype=torch.float64)
    faces = model.faces.numpy()
    flat = model(None).vertices[0].numpy()
    fist = model(torch.as_tensor(named_pose("fist"))[None]).vertices[0].numpy()
    extent = 0.3
    a_flat = (render_mesh(flat, faces, view="palm", size=64, extent=extent).mean(-1) < 1).sum()
    a_fist = (render_mesh(fist, faces, view="palm", size=64, extent=extent).mean(-1) < 1).sum()
    assert a_fist < 0.8 * a_flat  # a fist covers less of the palm view than a flat hand
    # the flat hand is thin from the side and wide from the front
    a_side = (render_mesh(flat, faces, view="side", size=64, extent=extent).mean(-1) < 1).sum()
    assert a_side < 0.6 * a_flat
    assert set(POSES) >= {"flat", "fist", "pointing", "spread"}


def test_info_lists_joints_and_shape_directions():
    res = CliRunner().invoke(app, ["hand", "info"])
    assert res.exit_code == 0, res.output
    assert "V=1609" in res.output and "thumb_tip" in res.output
    assert "shape[0] size" in res.output and "shape[9] fleshiness" in res.output


def test_info_mano_missing_names_variable(monkeypatch):
    monkeypatch.delenv("HWP_MANO_DIR", raising=False)
    res = CliRunner().invoke(app, ["hand", "info", "--model", "mano"])
    assert res.exit_code == 2 and "HWP_MANO_DIR" in res.output
