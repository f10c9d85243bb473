"""The whole quick preset (slow: about 95 s of CPU). Run with ``pytest -m slow``."""

from __future__ import annotations

import numpy as np
import pytest

from hwp_bench.data.layout import read_captures
from hwp_bench.data.loading import load_frames
from hwp_bench.data.tags import TABLE_II


@pytest.mark.slow
def test_quick_preset_mirrors_table_ii(tmp_path):
    from hwp_bench.synth import ensure_synth

    root = ensure_synth(preset="quick", seed=0, root=tmp_path / "q", progress=False)
    caps = read_captures(root)
    assert sorted(caps) == [c.capture for c in TABLE_II]
    for info in TABLE_II:
        meta = caps[info.capture]
        assert meta["num_frames"] == 100 and meta["hand_type"] == info.hand_type
        frames = []
        for split in ("train", "validation", "test"):
            frames += load_frames(root, info.capture, split)
        assert len(frames) == 100
        sides = {"single": {"right"}, "inter": {"right", "left"}}[info.hand_type]
        assert all(set(f.hands) == sides for f in frames)
        strengths = {
            p: max(f.annotations["strengths"][p] for f in frames)
            for p in ("hoi", "complex_pose", "illumination", "blur")
        }
        for p, s in strengths.items():
            if p in info.perturbations:
                assert s > 0.3, (info.capture, p)
            else:
                assert s == 0, (info.capture, p)
        if "hoi" in info.perturbations:
            # Objects are in the picture and hide part of the hand (a pen hides little).
            assert max(float(np.mean(f.annotations["occluder_mask"])) for f in frames) > 0.005
            assert max(f.annotations["occlusion_fraction"] for f in frames) > 0.01
        if "blur" in info.perturbations:
            assert max(f.annotations["blur_length"] for f in frames) > 3.0
        if "illumination" in info.perturbations:
            gains = np.array([f.annotations["illumination_gain"] for f in frames])
            assert np.abs(np.log(gains)).max() > 0.3
        assert all(f.annotations["clean"] for f in frames if f.split == "test")
        # Hands are in the picture: the hand mask covers a fair share of most frames.
        cover = np.array([f.mask.mean() for f in frames])
        assert np.median(cover) > 0.08
