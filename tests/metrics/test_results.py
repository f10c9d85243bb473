"""Result files: build, atomic write, read, verify, tamper detection."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.data import Frame
from hwp_bench.results import (
    ResultError,
    build_result,
    hash_ground_truth,
    hash_predictions,
    read_result,
    result_filename,
    verify_result,
    write_result,
)


def _result(protocol="hwp-v1", n=4, **kw):
    frames = {
        i: {"psnr": 20.0 + i, "ssim": 0.9 - 0.01 * i, "lpips": 0.1 + 0.02 * i} for i in range(n)
    }
    tags = {i: (["blur"] if i % 2 else ["clean"]) for i in range(n)}
    return build_result(
        dataset={
            "id": "synth",
            "revision": "abc",
            "config": "single",
            "capture": "capture04",
            "split": "test",
        },
        method={"id": "mean-color", "version": "0.1", "preset": "quick", "config": {"lr": 1e-3}},
        seed=0,
        protocol=protocol,
        frames=frames,
        frame_tags=tags,
        predictions_sha256="p" * 64,
        ground_truth_sha256="g" * 64,
        timings={"fit_s": 1.5, "render_s_per_frame": 0.01},
        peak_memory={"cpu_rss": 1000},
        **kw,
    )


def test_build_write_read_roundtrip(tmp_path):
    res = _result()
    assert res["means"]["psnr"] == pytest.approx(21.5)
    assert res["tag_means"]["blur"]["psnr"] == pytest.approx(22.0)
    assert res["tag_means"]["clean"]["lpips"] == pytest.approx(0.12)
    assert res["method"]["config_hash"] and res["packages"]["torch"].startswith("2.")
    path = write_result(
        tmp_path / result_filename("mean-color", "quick", "synth", "capture04", 0), res
    )
    assert path.name == "mean-color__quick__synth__capture04__s0.json"
    back = read_result(path)
    assert back == json.loads(json.dumps(res))
    assert verify_result(back) == []
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind


def test_paper_protocol_means_are_rounded():
    res = _result("wildghand-paper")
    assert res["means"]["ssim"] == 0.885  # mean 0.885 of 0.9, 0.89, 0.88, 0.87
    assert res["means"]["lpips"] == 0.13


def test_partial_results_are_refused():
    with pytest.raises(ResultError, match="partial"):
        _result(frames_expected=5)
    frames = {0: {"psnr": 20.0, "ssim": 0.9}}
    with pytest.raises(ResultError, match="lacks lpips"):
        build_result(
            dataset={},
            method={"id": "m"},
            seed=0,
            protocol="hwp-v1",
            frames=frames,
            predictions_sha256="",
            ground_truth_sha256="",
        )


def test_verify_detects_tampering(tmp_path):
    path = write_result(tmp_path / "r.json", _result())
    assert CliRunner().invoke(app, ["results", "verify", str(path)]).exit_code == 0
    data = json.loads(path.read_text())
    data["frames"]["2"]["psnr"] += 0.5  # edit one per-frame value only
    path.write_text(json.dumps(data))
    problems = verify_result(read_result(path))
    assert any("mean psnr" in p for p in problems) and any("integrity" in p for p in problems)
    # also "fixing" the means is caught by the integrity hash
    data["means"]["psnr"] += 0.5 / 4
    data["tag_means"]["clean"]["psnr"] += 0.5 / 2
    path.write_text(json.dumps(data))
    problems = verify_result(read_result(path))
    assert len(problems) == 1 and "integrity" in problems[0]
    out = CliRunner().invoke(app, ["results", "verify", str(path)])
    assert out.exit_code == 1 and "integrity" in out.output
    assert verify_result(read_result(path), predictions_sha256="x" * 64)[-1].startswith(
        "predictions"
    )


def test_hashes_depend_on_pixels_not_encoding():
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    f32 = u8.astype(np.float32) / np.float32(255)
    assert hash_predictions([(0, u8, None)]) == hash_predictions([(0, f32, None)])
    assert hash_predictions([(1, f32, None), (0, f32, None)]) == hash_predictions(
        [(0, f32, None), (1, f32, None)]
    )
    assert hash_predictions([(0, f32, None)]) != hash_predictions([(0, f32, np.ones((4, 5)))])
    f2 = f32.copy()
    f2[0, 0, 0] += 1e-6
    assert hash_predictions([(0, f32, None)]) != hash_predictions([(0, f2, None)])
    fr = Frame(image=f32, capture="capture00", index=0, num_frames=1, K=np.eye(3), hands={})
    assert hash_ground_truth([fr]) == hash_predictions([(0, f32, None)])


def test_missing_silhouette_flag_becomes_a_note():
    frames = {
        i: {"psnr": 20.0, "ssim": 0.9, "lpips": 0.1, "silhouette_missing": 1.0} for i in (0, 1)
    }
    res = build_result(
        dataset={},
        method={"id": "m"},
        seed=0,
        protocol="wildghand-paper",
        frames=frames,
        predictions_sha256="",
        ground_truth_sha256="",
    )
    assert res["notes"] == [
        "silhouette missing on 2 of 2 frames: scored with alpha = 1 (protocol wildghand-paper "
        "expects the method's rendered silhouette)"
    ]
    assert set(res["means"]) == {"psnr", "ssim", "lpips"}
