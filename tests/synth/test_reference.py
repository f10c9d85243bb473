"""The reference renderer (the perfect avatar) against the generator's own frames."""

from __future__ import annotations

import numpy as np
import pytest

from hwp_bench.data import load_frames
from hwp_bench.synth.reference import ReferenceRenderer, develop_noise_free, reference_scene


def _scene(root, capture):
    """The scene the generator drew ``capture`` of the folder ``root`` from."""
    from hwp_bench.metrics.validity import synth_generation

    g = synth_generation(root)
    assert (g["preset"], g["seed"], g["clean"]) == ("tiny", 0, False)
    return reference_scene(capture, preset="tiny", seed=0, num_frames=g["num_frames"])


@pytest.mark.parametrize("capture", ["capture00", "capture04"])
def test_at_the_exact_parameters_it_is_the_ground_truth_without_its_sensor_noise(
    tiny_synth, capture
):
    renderer = ReferenceRenderer(_scene(tiny_synth, capture))
    for frame in load_frames(tiny_synth, capture, "test"):
        color, alpha = renderer.render(frame.index, frame.annotations["exact_hands"])
        assert color.shape == (40, 40, 3) and alpha.shape == (40, 40)
        assert color.dtype == np.float32 and 0 <= color.min() and color.max() <= 1
        visible = frame.annotations["visible_mask"]
        # hands are never hidden by forearms in the render: alpha covers the visible hand
        assert (alpha >= visible - 1.01 / 255).all()  # masks are stored as 8-bit PNGs
        full = visible >= 0.999
        err = color[full] - frame.image[full]
        # sensor noise (1.2/255) and 8-bit rounding only: about 46 dB
        psnr = -10 * np.log10(np.mean(err**2))
        assert psnr > 42, psnr
        assert np.abs(err).max() < 8 / 255
        # hand on black: nothing is drawn where no hand is
        assert (color[alpha == 0] == 0).all()


def test_other_parameters_move_the_hand(tiny_synth):
    renderer = ReferenceRenderer(_scene(tiny_synth, "capture00"))
    frame = next(iter(load_frames(tiny_synth, "capture00", "test")))
    exact_c, exact_a = renderer.render(frame.index, frame.annotations["exact_hands"])
    est_c, est_a = renderer.render(frame.index, frame.hands)
    assert np.abs(est_a - exact_a).sum() > 5  # the estimator noise misplaces the silhouette
    with pytest.raises(ValueError, match="left"):
        renderer.render(frame.index, {"left": frame.hands["right"]})


def test_noise_free_development_is_the_generators_camera_pipeline_minus_the_noise(tiny_synth):
    scene = _scene(tiny_synth, "capture00")
    rng = np.random.default_rng(0)
    linear = rng.uniform(0, 1, (40, 40, 3))
    clean = develop_noise_free(linear)
    noisy = scene.develop(linear, 18).astype(np.float64) / 255.0
    diff = noisy - clean
    # what develop() adds: N(0, 1.2/255) noise and rounding to 1/255
    assert abs(diff.mean()) < 0.5 / 255
    assert 1.0 / 255 < diff.std() < 1.5 / 255
    assert np.abs(diff).max() < 6 * 1.2 / 255 + 0.5 / 255
