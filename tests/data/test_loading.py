"""Resolution (local path, HWP_HOME, Hub offline), load_frames, and the torch view."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import hwp_bench
from hwp_bench.data import load_frames
from hwp_bench.data.layout import LayoutError
from hwp_bench.data.loading import DatasetNotFoundError, resolve
from hwp_bench.data.torch_view import FrameDataset
from hwp_bench.data.toy import toy_frames


def test_load_frames_matches_what_was_written(tiny_dataset):
    written = list(toy_frames("capture05", 15, "inter"))
    got = (
        load_frames(str(tiny_dataset), "capture05", "train")
        + load_frames(tiny_dataset, "capture05", "validation")
        + load_frames(tiny_dataset, "capture05", "test")
    )
    assert [f.index for f in got] == list(range(15))
    assert [f.split for f in got] == ["train"] * 12 + ["validation"] + ["test"] * 2
    for a, b in zip(written, got, strict=True):
        np.testing.assert_allclose(a.image, b.image, atol=0.5 / 255)
        assert b.image.dtype == np.float32 and b.image.shape == (12, 12, 3)
        np.testing.assert_array_equal(a.hands["left"].pose, b.hands["left"].pose)
        assert b.tags == ["hoi", "blur"] and b.hand_type == "inter"
    with pytest.raises(ValueError, match="unknown split"):
        load_frames(tiny_dataset, "capture05", "val")
    with pytest.raises(ValueError, match="unknown capture"):
        load_frames(tiny_dataset, "capture5", "test")


def test_torch_view_from_folder_and_from_datasets(tiny_dataset, offline_hf):
    import torch.utils.data

    view = FrameDataset.from_folder(tiny_dataset, "inter", "test")
    assert isinstance(view, torch.utils.data.Dataset)
    assert len(view) == sum(len(range((9 * n) // 10, n)) for n in range(14, 21))
    assert view[0].capture == "capture04" and view[-1].capture == "capture10"
    ds = hwp_bench.load_dataset(
        tiny_dataset, "inter", split="test", cache_dir=str(offline_hf / "c")
    )
    view2 = FrameDataset(ds)
    assert len(view2) == len(view)
    for a, b in zip(view, view2, strict=True):
        assert (a.capture, a.index) == (b.capture, b.index)
        np.testing.assert_array_equal(a.image, b.image)
    loader = torch.utils.data.DataLoader(view, batch_size=4, collate_fn=list)
    assert sum(len(b) for b in loader) == len(view)
    with pytest.raises(IndexError):
        view[len(view)]


def test_resolution_order(tiny_dataset, offline_hf, monkeypatch):
    # 1. a local path
    assert resolve(str(tiny_dataset)) == tiny_dataset
    # 2. a folder named hwp in the working directory
    monkeypatch.chdir(tiny_dataset.parent)
    assert resolve("hwp").resolve() == tiny_dataset.resolve()
    ds = hwp_bench.load_dataset(
        "hwp", "capture03", split="validation", cache_dir=str(offline_hf / "c")
    )
    assert ds.num_rows == 1 and ds[0]["index"] == 10
    # 3. the data home
    home = offline_hf / "hwp_home" / "datasets" / "hwp"
    shutil.copytree(tiny_dataset, home)
    monkeypatch.chdir(offline_hf)
    assert resolve("hwp") == home
    assert len(load_frames("hwp", "capture00", "train")) == 8


def test_offline_without_data_gives_a_clear_message(offline_hf, monkeypatch):
    monkeypatch.chdir(offline_hf)
    with pytest.raises(DatasetNotFoundError) as err:
        hwp_bench.load_dataset("hwp", "inter", split="test")
    msg = str(err.value)
    assert "hwp-bench/hwp" in msg and "HF_HUB_OFFLINE" in msg and "synth" in msg
    assert "hwp_home" in msg  # says where it looked
    monkeypatch.setenv("HWP_HUB_REPO", "someone/elsewhere")
    with pytest.raises(DatasetNotFoundError, match="someone/elsewhere"):
        load_frames("hwp", "capture04", "test")
    with pytest.raises(DatasetNotFoundError, match="not found"):
        resolve("no-such-thing")


def test_clear_errors_for_wrong_config_and_empty_folder(tiny_dataset, tmp_path, offline_hf):
    with pytest.raises(ValueError, match="unknown config 'pairs'"):
        hwp_bench.load_dataset(tiny_dataset, "pairs")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LayoutError, match="holds no hwp-bench dataset"):
        hwp_bench.load_dataset(empty, "inter")
    with pytest.raises(LayoutError, match="holds no hwp-bench dataset"):
        load_frames(empty, "capture04", "test")
    # a folder with only some captures: other configs say what exists
    part = tmp_path / "part"
    from hwp_bench.data.layout import DatasetWriter

    DatasetWriter(part).write_capture(
        "capture01", toy_frames("capture01", 10, "single"), num_frames=10, hand_type="single"
    )
    with pytest.raises(ValueError, match="config 'inter' has no captures"):
        hwp_bench.load_dataset(part, "inter")
    with pytest.raises(ValueError, match="has no capture04"):
        load_frames(part, "capture04", "test")


def test_synth_source_errors_clearly_when_generator_is_missing(monkeypatch):
    import hwp_bench.synth

    if hasattr(hwp_bench.synth, "ensure_synth"):
        calls = []
        monkeypatch.setattr(hwp_bench.synth, "ensure_synth", lambda **kw: calls.append(kw) or "/x")
        assert str(resolve("synth-clean")) == "/x"
        assert calls == [{"preset": "quick", "seed": 0, "clean": True}]
    else:
        with pytest.raises(RuntimeError, match="ensure_synth is missing"):
            resolve("synth")
