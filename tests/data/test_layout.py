"""Writing dataset folders, the schema round trip, and offline loading with ``datasets``."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from hwp_bench.data.frame import Frame, HandParams
from hwp_bench.data.layout import DatasetWriter, LayoutError, read_captures, shard_files
from hwp_bench.data.schema import FIELD_DOCS, features, frame_to_row, row_to_frame
from hwp_bench.data.splits import split_indices
from hwp_bench.data.tags import CONFIGS, TABLE_II, captures_for
from hwp_bench.data.toy import toy_frames


def _assert_same_frame(a: Frame, b: Frame) -> None:
    assert (a.capture, a.index, a.num_frames, a.hand_type) == (
        b.capture,
        b.index,
        b.num_frames,
        b.hand_type,
    )
    np.testing.assert_allclose(a.image, b.image, atol=0.5 / 255)  # 8-bit PNG
    np.testing.assert_array_equal(a.K, b.K)
    assert sorted(a.hands) == sorted(b.hands)
    for side in a.hands:
        np.testing.assert_array_equal(a.hands[side].pose, b.hands[side].pose)
        np.testing.assert_array_equal(a.hands[side].shape, b.hands[side].shape)
        np.testing.assert_array_equal(a.hands[side].trans, b.hands[side].trans)
    assert (a.mask is None) == (b.mask is None)
    if a.mask is not None:
        np.testing.assert_allclose(a.mask, b.mask, atol=0.5 / 255)
    ann_a, ann_b = a.annotations, b.annotations
    assert sorted(ann_a) == sorted(ann_b)
    for k in (
        "occlusion_fraction",
        "illumination_gain",
        "blur_length",
        "clean",
        "frame_tags",
        "seed_note",
    ):
        if k in ann_a:
            assert ann_a[k] == ann_b[k]
    if "occluder_mask" in ann_a:
        np.testing.assert_allclose(ann_a["occluder_mask"], ann_b["occluder_mask"], atol=0.5 / 255)
        np.testing.assert_array_equal(ann_a["hand_box"], ann_b["hand_box"])
        np.testing.assert_array_equal(
            ann_a["exact_hands"]["right"].trans, ann_b["exact_hands"]["right"].trans
        )


def test_schema_documents_every_field():
    f = features()
    assert list(f) == list(FIELD_DOCS)
    for col in (
        "image",
        "mask",
        "occluder_mask",
        "visible_mask",
        "right_exact",
        "left_exact",
        "annotations",
    ):
        assert col in f


def test_schema_round_trip_through_parquet(tmp_path):
    frames = list(toy_frames("capture04", 12, "inter"))
    w = DatasetWriter(tmp_path / "ds")
    w.write_capture("capture04", frames, num_frames=12, hand_type="inter", tags=["hoi", "blur"])
    got = []
    for split in ("train", "validation", "test"):
        for f in shard_files(tmp_path / "ds", "capture04", split):
            table = pq.read_table(f)
            assert table.schema.metadata[b"huggingface"]  # datasets restores features from this
            got += [row_to_frame(r) for r in table.to_pylist()]
    assert [g.index for g in got] == list(range(12))
    assert [g.split for g in got] == ["train"] * 9 + ["validation"] + ["test"] * 2
    for a, b in zip(frames, got, strict=True):
        _assert_same_frame(a, b)
        assert b.tags == ["hoi", "blur"] and b.t == pytest.approx(a.index / 12)
    # a single frame with nothing optional: nullable columns come back as None / absent
    bare = Frame(
        np.zeros((4, 5, 3), np.float32),
        "capture00",
        0,
        1,
        np.eye(3),
        {"right": HandParams(np.zeros(48), np.zeros(10), np.zeros(3))},
    )
    row = frame_to_row(bare)
    assert row["left"] is None and row["mask"] is None and row["annotations"] is None
    assert (row["width"], row["height"]) == (5, 4)
    back = row_to_frame(row)
    assert back.mask is None and back.annotations == {} and list(back.hands) == ["right"]


def test_folder_layout_and_split_json(tiny_dataset):
    caps = read_captures(tiny_dataset)
    assert list(caps) == [c.capture for c in TABLE_II]
    for cap, info in caps.items():
        n = info["num_frames"]
        assert {s: info[s] for s in ("train", "validation", "test")} == split_indices(n)
        for split, files in info["files"].items():
            for f in files:
                assert f.startswith(f"data/{cap}/{split}-") and f.endswith(".parquet")
                assert (tiny_dataset / f).is_file()
    card = (tiny_dataset / "README.md").read_text()
    assert card.startswith("---\n") and "config_name: capture10" in card
    for field in FIELD_DOCS:
        assert f"`{field}`" in card
    manifest = json.loads((tiny_dataset / "hwp_dataset.json").read_text())
    assert sorted(manifest["configs"]) == sorted(CONFIGS)


def test_datasets_load_dataset_offline_every_config(tiny_dataset, offline_hf):
    import datasets

    for cfg in CONFIGS:
        dd = datasets.load_dataset(str(tiny_dataset), cfg, cache_dir=str(offline_hf / "cache"))
        caps = captures_for(cfg)
        for split in ("train", "validation", "test"):
            expect = sum(len(split_indices(10 + int(c[-2:]))[split]) for c in caps)
            assert dd[split].num_rows == expect, (cfg, split)
        assert sorted(set(dd["test"]["capture"])) == caps
    # decoded fields keep their meaning
    row = datasets.load_dataset(
        str(tiny_dataset), "capture04", split="train", cache_dir=str(offline_hf / "cache")
    )[1]
    assert row["image"].size == (12, 12) and row["mask"].mode == "L"
    assert row["left"] is not None and len(row["right"]["pose"]) == 48
    assert row["annotations"]["occlusion_fraction"] == pytest.approx(0.25)
    assert json.loads(row["annotations"]["extra"]) == {"seed_note": {"k": [1, 2]}}
    row0 = datasets.load_dataset(
        str(tiny_dataset), "capture00", split="train", cache_dir=str(offline_hf / "cache")
    )[0]
    assert row0["left"] is None and row0["mask"] is None and row0["annotations"] is None


def test_write_is_atomic_and_resumable(tmp_path):
    root = tmp_path / "ds"
    w = DatasetWriter(root)
    w.write_capture(
        "capture01", toy_frames("capture01", 10, "single"), num_frames=10, hand_type="single"
    )

    def broken():
        yield from list(toy_frames("capture02", 10, "single"))[:5]
        raise RuntimeError("generator crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        w.write_capture("capture02", broken(), num_frames=10, hand_type="single")
    assert w.completed_captures() == ["capture01"] and not w.has_capture("capture02")
    assert not (root / "data" / "capture02").exists()
    assert not list((root / "data").glob(".tmp-*"))
    # rewrite replaces an existing capture in one swap
    before = read_captures(root)["capture01"]
    w.write_capture(
        "capture01", toy_frames("capture01", 20, "single"), num_frames=20, hand_type="single"
    )
    after = read_captures(root)["capture01"]
    assert before["num_frames"] == 10 and after["num_frames"] == 20
    assert len(list((root / "data" / "capture01").glob("*.parquet"))) == 3
    # a crash between the folder swap and the marker leaves the capture "not written"
    (root / "splits" / "capture01.json").unlink()
    assert not w.has_capture("capture01")


def test_writer_rejects_bad_rows(tmp_path):
    w = DatasetWriter(tmp_path / "ds")
    frames = list(toy_frames("capture01", 10, "single"))
    with pytest.raises(ValueError, match="missing"):
        w.write_capture("capture01", frames[:9], num_frames=10, hand_type="single")
    with pytest.raises(ValueError, match="increase"):
        w.write_capture(
            "capture01",
            [frames[1], frames[0]],
            num_frames=10,
            hand_type="single",
            allow_missing=True,
        )
    with pytest.raises(ValueError, match="hand_type"):
        w.write_capture("capture01", frames, num_frames=10, hand_type="inter")
    row = frame_to_row(frames[0])
    row["split"] = "test"
    with pytest.raises(ValueError, match="split rule"):
        w.write_capture("capture01", [row], num_frames=10, hand_type="single", allow_missing=True)
    with pytest.raises(ValueError, match="unknown capture"):
        w.write_capture("capture11", frames, num_frames=10, hand_type="single")
    summary = w.write_capture(
        "capture01", frames[:9], num_frames=10, hand_type="single", allow_missing=True
    )
    assert summary.missing == [9] and summary.indices["test"] == []
    with pytest.raises(LayoutError, match="no hwp-bench dataset"):
        read_captures(tmp_path / "empty")
    marker = tmp_path / "ds" / "splits" / "capture01.json"
    marker.write_text(marker.read_text().replace('"schema_version": 1', '"schema_version": 99'))
    with pytest.raises(LayoutError, match="upgrade hwp-bench"):
        read_captures(tmp_path / "ds")


def test_writer_accepts_loose_row_dicts(tmp_path):
    """Generators may hand rows as dicts with arrays and HandParams instead of Frames."""
    rows = []
    for i in range(10):
        rows.append(
            {
                "image": np.full((6, 8, 3), i / 10, np.float32),
                "mask": np.ones((6, 8), np.float32),
                "capture": "capture02",
                "index": i,
                "num_frames": 10,
                "hand_type": "single",
                "K": np.eye(3),
                "right": HandParams(np.full(48, i), np.zeros(10), [0, 0, 1]),
                "annotations": {
                    "occlusion_fraction": 0.0,
                    "illumination_gain": 2.0,
                    "blur_length": 0.0,
                    "clean": False,
                    "extra": None,
                },
            }
        )
    w = DatasetWriter(tmp_path / "ds")
    w.write_capture("capture02", rows, num_frames=10, hand_type="single", tags=["illumination"])
    from hwp_bench.data import load_frames

    got = load_frames(tmp_path / "ds", "capture02", "train")
    assert len(got) == 8 and got[3].image.shape == (6, 8, 3)
    assert got[3].image[0, 0, 0] == pytest.approx(round(0.3 * 255) / 255)
    assert got[3].hands["right"].pose[0] == 3 and "left" not in got[3].hands
    assert got[3].tags == ["illumination"] and got[3].annotations["illumination_gain"] == 2.0
    assert got[3].t == pytest.approx(0.3)


def test_parallel_writers_of_one_folder_keep_every_capture(tmp_path):
    """Captures written by several processes at once all end up in the card."""
    import multiprocessing as mp

    root = tmp_path / "ds"
    caps = ["capture04", "capture05", "capture06", "capture07"]
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_write_one, args=(root, c)) for c in caps]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert list(read_captures(root)) == caps
    manifest = json.loads((root / "hwp_dataset.json").read_text())
    assert sorted(manifest["captures"]) == caps and manifest["configs"]["inter"] == caps


def _write_one(root, cap):
    DatasetWriter(root).write_capture(
        cap, toy_frames(cap, 10, "inter"), num_frames=10, hand_type="inter"
    )
