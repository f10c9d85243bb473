"""Pieces of the runner: checkpoint folders, render files, the splatter, CLI errors, test-method."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.methods.builtin.mean_color import splat_labels
from hwp_bench.runner.checkpoint import find_checkpoint, save_checkpoint
from hwp_bench.runner.renders import frame_indices, read_frame, write_frame


def cli(*args):
    res = CliRunner().invoke(app, [str(a) for a in args])
    return res.exit_code, res.output


class _Saver:
    def __init__(self, payload, fail=False):
        self.payload, self.fail = payload, fail

    def save(self, path):
        (path / "w.txt").write_text(self.payload)
        if self.fail:
            raise KeyboardInterrupt  # a kill in the middle of save()


def test_checkpoint_swap_keeps_the_last_complete_one(tmp_path):
    folder = tmp_path / "ckpt"
    assert find_checkpoint(folder) is None
    save_checkpoint(_Saver("one"), folder, {"step": 1})
    save_checkpoint(_Saver("two"), folder, {"step": 2})
    path, state = find_checkpoint(folder)
    assert state["step"] == 2 and (path / "w.txt").read_text() == "two"
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(_Saver("three", fail=True), folder, {"step": 3})
    path, state = find_checkpoint(folder)
    assert state["step"] == 2 and (path / "w.txt").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    # A kill between the two renames leaves only the ".old" folder: it is still found.
    folder.rename(tmp_path / "ckpt.old")
    path, state = find_checkpoint(folder)
    assert path.name == "ckpt.old" and state["step"] == 2


def test_render_files_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    color = rng.random((6, 7, 3), dtype=np.float32)
    alpha = rng.random((6, 7), dtype=np.float32)
    write_frame(tmp_path, 3, color, alpha)
    write_frame(tmp_path, 12, color, None)
    assert frame_indices(tmp_path) == [3, 12]
    c, a = read_frame(tmp_path, 3)
    assert np.array_equal(c, color) and np.array_equal(a, alpha)
    (tmp_path / "00012.npy").unlink()  # png only: 8-bit quantised
    c, a = read_frame(tmp_path, 12)
    assert a is None and np.abs(c - color).max() <= 0.5 / 255 + 1e-6


def _splat_reference(points, K, h, w, radius):
    """Per pixel: among discs covering it, the nearest point (later index on equal depth)."""
    xyz = np.concatenate(list(points.values()))
    ids = np.concatenate([np.full(len(v), k) for k, v in points.items()])
    out = np.full((h, w), -1)
    for y in range(h):
        for x in range(w):
            best = None
            for i, (px, py, pz) in enumerate(xyz):
                if pz <= 1e-3:
                    continue
                u, v = K[0, 0] * px / pz + K[0, 2], K[1, 1] * py / pz + K[1, 2]
                r = max(K[0, 0] * radius / pz, 0.5)
                if (x - u) ** 2 + (y - v) ** 2 <= r**2 and (
                    best is None or pz < best[0] or (pz == best[0] and i > best[1])
                ):
                    best = (pz, i)
            if best is not None:
                out[y, x] = ids[best[1]]
    return out


def test_splat_matches_the_per_pixel_reference():
    rng = np.random.default_rng(1)
    K = np.array([[30.0, 0, 12], [0, 30.0, 10], [0, 0, 1]])
    pts = {
        0: np.c_[rng.uniform(-0.2, 0.2, (25, 2)), rng.uniform(0.4, 0.8, 25)],
        1: np.c_[rng.uniform(-0.2, 0.2, (25, 2)), rng.uniform(0.4, 0.8, 25)],
    }
    pts[1][0] = [0.0, 0.0, -0.5]  # behind the camera: ignored
    got = splat_labels(pts, K, 20, 24, 0.02)
    assert np.array_equal(got, _splat_reference(pts, K, 20, 24, 0.02))
    assert (got == 0).any() and (got == 1).any() and (got == -1).any()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method", "no-such"], "no method 'no-such' is registered"),
        (["--method", "toy-mean", "--set", "iteratons=3"], "did you mean iterations"),
        (["--method", "toy-mean", "--seeds", "a"], "--seeds"),
        (["--method", "toy-mean", "--split", "pairs"], "--split"),
        (["--method", "toy-mean", "--executor", "slurm"], "--executor must be one of"),
        (["--method", "toy-mean", "--protocol", "x"], "unknown protocol 'x'"),
        (["--method", "toy-mean", "--dataset", "/nonexistent/ds"], "--dataset /nonexistent/ds"),
    ],
)
def test_run_refuses_bad_input_with_exit_2(args, message, toy_plugin, tmp_path):
    code, text = cli("run", *args, "--out", tmp_path)
    assert code == 2 and message in text, text


def test_methods_lists_status_and_hand_types(toy_plugin):
    code, text = cli("methods", "--json")
    assert code == 0
    rows = {r["id"]: r for r in json.loads(text)}
    assert rows["toy-mean"]["available"] and rows["toy-mean"]["info"]["hand_types"] == [
        "single",
        "inter",
    ]
    assert "mean-color" in rows and "wildghand" in rows
    code, text = cli("methods")
    assert code == 0 and "toy-mean" in text and "available" in text


def test_test_method_passes_a_good_plugin_and_catches_a_bad_one(
    tiny_dataset, toy_plugin, tmp_path, monkeypatch
):
    args = ["--dataset", tiny_dataset, "--metrics", "psnr,ssim"]
    code, text = cli("test-method", "toy-mean", *args)
    assert code == 0, text
    assert text.count("[PASS]") == 6 and "all 6 checks passed" in text
    # A method whose load() forgets the state renders differently after save/load.
    bad = tmp_path / "bad_plugin.py"
    bad.write_text(
        toy_plugin.read_text().replace('id="toy-mean"', 'id="forgetful"')
        + "\n\nclass Forgetful(ToyMean):\n    def load_state_dict(self, state):\n        pass\n"
    )
    monkeypatch.setenv("HWP_BENCH_METHODS", f"forgetful={bad}:Forgetful")
    code, text = cli("test-method", "forgetful", *args)
    assert code == 1
    assert "[FAIL] save, load, render again: identical: AssertionError: after save/load" in text
