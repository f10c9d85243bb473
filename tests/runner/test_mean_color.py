"""mean-color: learns each hand's colour and paints it on the posed silhouette."""

from __future__ import annotations

import numpy as np

from hwp_bench.data import Frame, HandParams
from hwp_bench.methods.builtin.mean_color import MeanColorSplat, splat_labels

K = np.array([[120.0, 0, 32], [0, 120.0, 32], [0, 0, 1]], np.float32)
TRUE = {0: (0.9, 0.6, 0.4), 1: (0.2, 0.4, 0.8)}  # right, left


def _frames(n):
    """Two hands; pixels of each hand (from the same splatting) in that hand's colour."""
    m = MeanColorSplat(config={})
    rng = np.random.default_rng(0)
    for i in range(n):
        pose = rng.normal(0, 0.15, (2, 48))
        hands = {
            "right": HandParams(pose[0], np.zeros(10), [0.03, 0.0, 0.6]),
            "left": HandParams(pose[1], np.zeros(10), [-0.05, 0.01, 0.65]),
        }
        f = Frame(
            image=np.zeros((64, 64, 3), np.float32),
            capture="capture04",
            index=i,
            num_frames=n,
            K=K,
            hands=hands,
            hand_type="inter",
        )
        labels = splat_labels(m._vertices(f), K.astype(np.float64), 64, 64, 0.006)
        for side, color in TRUE.items():
            f.image[labels == side] = color
        f.mask = (labels >= 0).astype(np.float32)
        yield f


def test_recovers_each_hands_colour_and_renders_the_frame():
    frames = list(_frames(4))
    method = MeanColorSplat(config=MeanColorSplat.method_info().resolve_config("quick"))
    info = method.fit(frames[:3], progress=False)
    assert info["iterations"] == 3 and info["last"]["loss"] < 1e-12
    np.testing.assert_allclose(method.colors(), [TRUE[0], TRUE[1]], atol=1e-6)
    held_out = frames[3]
    out = method.render(held_out.without_pixels())
    assert out["color"].shape == (64, 64, 3) and out["alpha"].dtype == np.float32
    assert 0.02 < out["alpha"].mean() < 0.9  # both hands visible, not the whole frame
    np.testing.assert_allclose(out["color"], held_out.image, atol=1e-6)
    np.testing.assert_array_equal(out["alpha"], held_out.mask)
