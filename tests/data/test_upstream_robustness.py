"""The upstream converter survives broken captures (issue 17, item 7): a persistent-id pickle,
an undefined memo, a 1e12 array shape, an empty ``output.pkl`` and a 1e12-pixel box each get a
line in the report, and the good captures after them are converted."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.data import load_frames
from hwp_bench.data.upstream import convert_upstream

H, W = 48, 64


def _entry(name: str, rng, *, box=(10, 5, 50, 45)) -> dict:
    e = {"img_path": f"/data/{name}", "bbox_inter": np.array(box, np.float32)}
    for side in ("right", "left"):
        e[f"mano_pose_{side}"] = rng.normal(size=48).astype(np.float32)
        e[f"mano_shape_{side}"] = np.zeros(10, np.float32)
        e[f"cam_aligned_{side}"] = np.array([0.0, 0.0, 0.5], np.float32)
    return e


def _capture(folder, entries=None, *, raw: bytes | None = None, frames: int = 3):
    folder.mkdir(parents=True)
    for k in range(frames):
        Image.fromarray(np.full((H, W, 3), 40 * k, np.uint8)).save(folder / f"img_{k}.png")
    if raw is None:
        raw = pickle.dumps(entries)
    (folder / "output.pkl").write_bytes(raw)


@pytest.fixture
def release(tmp_path):
    rng = np.random.default_rng(0)
    src = tmp_path / "release"
    good = [_entry(f"img_{k}.png", rng) for k in range(3)]
    # single-hand captures 0-3: each pickle broken in its own way
    _capture(src / "capture0_subsample3_single", raw=b"\x80\x02P42\n.")  # persistent id
    _capture(src / "capture1_subsample3_single", raw=b"\x80\x02]h\x05a.")  # undefined memo
    n = (10**12).to_bytes(6, "little")
    huge = (
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b\x87R"
        + b"(K\x01\x8a\x06"
        + n
        + b"\x85cnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R\x89C\x08"
        + bytes(8)
        + b"tb."
    )
    _capture(src / "capture2_subsample3_single", raw=huge)  # an array of shape (1e12,)
    _capture(src / "capture3_subsample3_single", raw=b"")  # empty output.pkl
    _capture(src / "capture4_subsample3", good)  # fine
    bad_box = [*good[:2], _entry("img_2.png", rng, box=(0, 0, 1e12, 1e12))]
    _capture(src / "capture5_subsample3", bad_box)  # one frame with a 1e12-pixel box
    return src


def test_every_capture_is_reported_and_the_good_ones_converted(release, tmp_path):
    dst = tmp_path / "out"
    report = convert_upstream(release, dst, size=32, progress=False, hand_model=None)
    by = {c.capture: c for c in report.captures}
    assert sorted(by) == [f"capture{i:02d}" for i in range(6)]
    assert "persistent ids" in by["capture00"].error
    assert "Memo" in by["capture01"].error
    assert "does not match" in by["capture02"].error
    assert "empty" in by["capture03"].error
    assert by["capture04"].error is None and by["capture04"].converted == 3
    assert by["capture05"].error is None and by["capture05"].converted == 2
    (skipped,) = [f for f in by["capture05"].frames if not f.converted]
    assert skipped.index == 2 and "far larger than the image" in " ".join(skipped.problems)
    assert (
        len(load_frames(str(dst), "capture04", "train"))
        + len(load_frames(str(dst), "capture04", "test"))
        >= 2
    )
    lines = report.summary_lines()
    for cap in ("capture00", "capture01", "capture02", "capture03"):
        assert any(line.startswith(f"{cap} ") and "NOT CONVERTED" in line for line in lines)


def test_the_command_reports_every_capture_without_a_traceback(release, tmp_path, monkeypatch):
    monkeypatch.delenv("HWP_MANO_DIR", raising=False)
    res = CliRunner().invoke(
        app, ["data", "convert-upstream", str(release), str(tmp_path / "o"), "--size", "32"]
    )
    assert res.exit_code == 0, res.output
    assert res.exception is None
    for i in range(6):
        assert f"capture{i:02d} (capture{i}_subsample3" in res.output
    assert "capture04 (capture4_subsample3): 3/3 frames converted" in res.output
