"""Evaluator: folder checks (missing/extra/wrong size) and scoring from disk."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hwp_bench.data import Frame
from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL
from hwp_bench.metrics.evaluate import (
    EvaluationError,
    check_prediction_folder,
    evaluate_folder,
    hash_prediction_folder,
    read_prediction,
    scan_prediction_folder,
    score_frames,
)
from hwp_bench.results import verify_result

DATASET = {"id": "test", "revision": "0", "config": "capture04", "split": "test"}


def frames(n=3, size=32):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        mask = np.zeros((size, size), np.float32)
        mask[8:24, 6:26] = 1
        out.append(
            Frame(
                image=rng.random((size, size, 3)).astype(np.float32),
                capture="capture04",
                index=10 + i,
                num_frames=40,
                K=np.eye(3, dtype=np.float32),
                hands={},
                mask=mask,
                split="test",
                tags=["blur"] if i else [],
            )
        )
    return out


def write_preds(root, frs, noise=0.05, png_for=()):
    d = root / "capture04"
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for f in frs:
        pred = np.clip(f.image + noise * rng.standard_normal(f.image.shape), 0, 1).astype(
            np.float32
        )
        if f.index in png_for:
            Image.fromarray((pred * 255 + 0.5).astype(np.uint8)).save(d / f"{f.index:05d}.png")
        else:
            np.save(d / f"{f.index:05d}.npy", pred)
    return d


def test_clean_folder_scores_and_verifies(tmp_path):
    frs = frames()
    write_preds(tmp_path, frs, png_for=(11,))
    res = evaluate_folder(tmp_path, frs, dataset=DATASET, metrics=("psnr", "ssim"), progress=False)
    assert sorted(res["frames"]) == ["10", "11", "12"]
    assert 20 < res["means"]["psnr"] < 30 and res["tag_means"]["blur"]
    assert verify_result(res) == []
    assert res["hashes"]["predictions"] == hash_prediction_folder(
        tmp_path, "capture04", [10, 11, 12]
    )
    # the same numbers as scoring in memory
    preds = {10: (np.load(tmp_path / "capture04/00010.npy"), None)}
    per_frame, _ = score_frames(DEFAULT_PROTOCOL, preds, frs[:1], metrics=("psnr", "ssim"))
    assert per_frame[10] == res["frames"]["10"]


def test_missing_extra_and_wrong_size_are_reported_together(tmp_path):
    frs = frames()
    d = write_preds(tmp_path, frs)
    (d / "00010.npy").unlink()
    np.save(d / "00099.npy", np.zeros((32, 32, 3), np.float32))
    np.save(d / "00011.npy", np.zeros((30, 32, 3), np.float32))
    (d / "notes.txt").write_text("hi")
    with pytest.raises(EvaluationError) as exc:
        evaluate_folder(tmp_path, frs, dataset=DATASET, metrics=("psnr",), progress=False)
    rep = exc.value.report
    assert rep["missing"] == [10] and rep["extra"] == [99] and rep["unrecognised"] == ["notes.txt"]
    assert rep["wrong_size"][0].startswith("00011")
    assert "nothing was scored" in str(exc.value)


def test_untrusted_npy_is_not_unpickled(tmp_path):
    frs = frames(1)
    d = tmp_path / "capture04"
    d.mkdir()
    np.save(d / "00010.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    rep = check_prediction_folder(tmp_path, "capture04", frs)
    assert rep["unreadable"] and "00010" in rep["unreadable"][0]


def test_exr_and_preference_order(tmp_path):
    OpenEXR = pytest.importorskip("OpenEXR", reason="optional openexr package absent")
    d = tmp_path / "capture04"
    d.mkdir()
    rng = np.random.default_rng(3)
    pred = rng.random((32, 32, 3)).astype(np.float32)
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, {"RGB": pred}) as f:
        f.write(str(d / "00010.exr"))
    alpha = (rng.random((32, 32)) > 0.5).astype(np.float32)
    with OpenEXR.File(header, {"A": alpha}) as f:
        f.write(str(d / "00010.alpha.exr"))
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(d / "00010.png")  # loses to the exr
    np.save(d / "00011.npy", pred)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(d / "00011.png")  # loses to the npy
    found, unknown = scan_prediction_folder(tmp_path, "capture04")
    assert unknown == []
    assert found[10].color.name == "00010.exr" and found[10].alpha.name == "00010.alpha.exr"
    assert found[11].color.name == "00011.npy"
    color, a = read_prediction(found[10])
    assert np.array_equal(color, pred) and np.array_equal(a, alpha)


def test_runner_render_writer_is_readable(tmp_path):
    """Frames written by hwp_bench.runner.renders (the runner) are what the evaluator reads."""
    from hwp_bench.runner.renders import write_frame

    frs = frames(1)
    pred = np.clip(frs[0].image + 0.1, 0, 1)
    write_frame(tmp_path / "capture04", 10, pred, np.ones((32, 32), np.float32))
    found, _ = scan_prediction_folder(tmp_path, "capture04")
    color, alpha = read_prediction(found[10])
    assert np.allclose(color, pred, atol=1e-7) and alpha is not None
