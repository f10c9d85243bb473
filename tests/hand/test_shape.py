"""The open hand's 10 shape directions do what their documentation says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwp_bench.hand import load_hand_model


@pytest.fixture(scope="module")
def model():
    return load_hand_model("open", dtype=torch.float64)


def _measures(model, shape):
    out = model(None, torch.as_tensor(shape, dtype=torch.float64))
    j = out.joints.numpy()
    v = out.vertices.numpy()
    return {
        "hand_length": np.linalg.norm(j[:, 18] - j[:, 0], axis=-1),  # wrist to middle tip
        "finger_length": np.linalg.norm(j[:, 18] - j[:, 4], axis=-1),  # middle finger
        "palm_length": np.linalg.norm(j[:, 4] - j[:, 0], axis=-1),
        "palm_width": np.linalg.norm(j[:, 1] - j[:, 7], axis=-1),
        "thickness": np.ptp(v[:, :, 1], axis=1),
        "thumb": np.linalg.norm(j[:, 16] - j[:, 13], axis=-1),
        "pinky": np.linalg.norm(j[:, 20] - j[:, 7], axis=-1),
        "index": np.linalg.norm(j[:, 17] - j[:, 1], axis=-1),
        "ring": np.linalg.norm(j[:, 19] - j[:, 10], axis=-1),
    }


def _sweep(model, k, values=np.linspace(-3, 3, 13)):
    shape = np.zeros((len(values), 10))
    shape[:, k] = values
    return _measures(model, shape)


def test_size_direction_monotone_in_hand_length(model):
    m = _sweep(model, 0)
    assert np.all(np.diff(m["hand_length"]) > 0)
    # documented: +1 is +10 mm hand length; the whole hand scales (width too)
    step = np.diff(m["hand_length"]).mean() * 2  # sweep step is 0.5
    assert 0.008 < step < 0.012
    assert np.all(np.diff(m["palm_width"]) > 0)
    # within +-3 the hand stays a plausible adult hand (wrist to middle tip, metres)
    assert 0.16 < m["hand_length"].min() and m["hand_length"].max() < 0.25


@pytest.mark.parametrize(
    ("k", "grows", "fixed"),
    [
        (1, "finger_length", "palm_length"),
        (2, "palm_length", "finger_length"),
        (3, "palm_width", "hand_length"),
        (4, "thickness", "hand_length"),
        (6, "thumb", "hand_length"),
        (8, "pinky", "hand_length"),
    ],
)
def test_proportion_directions(model, k, grows, fixed):
    m = _sweep(model, k)
    assert np.all(np.diff(m[grows]) > 0), grows
    rel_grow = np.ptp(m[grows]) / m[grows].mean()
    rel_fixed = np.ptp(m[fixed]) / m[fixed].mean()
    assert rel_grow > 0.1 and rel_fixed < 0.2 * rel_grow


def test_index_ring_ratio_and_fleshiness(model):
    m = _sweep(model, 7)
    ratio = m["index"] / m["ring"]
    assert np.all(np.diff(ratio) > 0)
    flat = model(None).joints.numpy()
    plus = model(None, torch.eye(10, dtype=torch.float64)[9:10])
    np.testing.assert_allclose(plus.joints.numpy()[0, :16], flat[0, :16], atol=1e-9)
    assert np.ptp(plus.vertices.numpy()[0, :, 1]) > np.ptp(model(None).vertices.numpy()[0, :, 1])


def test_wrist_stays_at_origin_for_every_shape(model):
    g = torch.Generator().manual_seed(0)
    shape = 2 * torch.randn(16, 10, generator=g, dtype=torch.float64)
    j = model(None, shape).joints
    assert j[:, 0].abs().max() < 1e-12
