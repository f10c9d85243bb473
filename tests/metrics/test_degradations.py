"""The controlled degradations of the validity table do what their names say."""

from __future__ import annotations

import numpy as np
import pytest

from hwp_bench.metrics.degradations import DEGRADATIONS, REFERENCE_ROWS, degrade, straight_color


@pytest.fixture()
def prediction():
    """A premultiplied textured square on black, with a soft one-pixel edge."""
    h = w = 40
    a = np.zeros((h, w))
    a[10:30, 12:28] = 1.0
    a[9, 12:28] = a[30, 12:28] = a[10:30, 11] = a[10:30, 28] = 0.5
    rng = np.random.default_rng(0)
    straight = np.clip(0.5 + 0.15 * rng.normal(size=(h, w, 3)), 0, 1)
    return straight * a[..., None], a


def test_every_row_has_a_label_and_the_identity_is_exact(prediction):
    assert list(DEGRADATIONS)[0] == "perfect" and set(REFERENCE_ROWS) == set(DEGRADATIONS)
    c, a = degrade("perfect", *prediction)
    np.testing.assert_array_equal(c, prediction[0])
    with pytest.raises(KeyError, match="unknown degradation"):
        degrade("sharpen", *prediction)


def test_blur_keeps_the_premultiplied_mass_and_spreads_into_black(prediction):
    c0, a0 = prediction
    for s in (1, 2, 4):
        c, a = degrade(f"blur{s}", c0, a0)
        if s < 4:  # (at sigma 4 the tails reach past the 40x40 frame)
            assert abs(a.sum() - a0.sum()) < 1e-3 * a0.sum()
        assert a[10:30, 12:28].min() < 1.0  # the edge darkens into black
        assert (a > 0).sum() > (a0 > 0).sum()
    assert degrade("blur4", c0, a0)[0].std() < degrade("blur1", c0, a0)[0].std()


def test_erosion_shrinks_by_the_radius_and_keeps_the_colour(prediction):
    c0, a0 = prediction
    for r in (1, 2):
        c, a = degrade(f"erode{r}", c0, a0)
        inside = a >= 0.5
        ys, xs = np.nonzero(inside)
        # the alpha >= 0.5 square, rows 9..30 and columns 11..28, shrinks by r on every side
        assert (ys.min(), ys.max(), xs.min(), xs.max()) == (9 + r, 30 - r, 11 + r, 28 - r)
        keep = a > 0
        np.testing.assert_allclose(
            straight_color(c, a)[keep], straight_color(c0, a0)[keep], atol=1e-12
        )


def test_dilation_grows_the_silhouette_and_extends_the_edge_colour(prediction):
    c0, a0 = prediction
    c, a = degrade("dilate2", c0, a0)
    assert a.sum() > a0.sum() and (a >= a0).all()
    assert a[10:30, 10:30].min() == 1.0
    # outside, the colour of the nearest pixel the hand covers at least half of
    np.testing.assert_allclose(c[20, 10], straight_color(c0, a0)[20, 11], atol=1e-12)


def test_gain_and_flat_colour(prediction):
    c0, a0 = prediction
    up, a = degrade("gain+10", c0, a0)
    np.testing.assert_allclose(up, np.clip(c0 * 1.1, 0, 1))
    down, _ = degrade("gain-10", c0, a0)
    np.testing.assert_allclose(down, c0 * 0.9)
    flat, fa = degrade("flat", c0, a0)
    np.testing.assert_array_equal(fa, a0)
    s = straight_color(flat, fa)[a0 > 0]
    assert np.ptp(s, axis=0).max() < 1e-12  # one colour
    np.testing.assert_allclose(s[0], c0.reshape(-1, 3).sum(0) / a0.sum())
