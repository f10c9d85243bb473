"""Fixtures for the baseline tests: one tiny HWP-Synth folder (two captures, 20 frames each).

Generated once per session with the real generator, so the baselines see the same data path as
`hwp-bench run`; tiny preset (40 px) to keep the whole folder under a few seconds of CPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwp_bench.data import HandParams


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory) -> Path:
    from hwp_bench.synth import generate

    root = tmp_path_factory.mktemp("synth") / "tiny"
    return generate(root, preset="tiny", captures=["capture00", "capture04"], num_frames=20,
                    progress=False)  # fmt: skip


@pytest.fixture(scope="session")
def inter_frames(tiny_synth):
    from hwp_bench.data import load_frames

    return load_frames(str(tiny_synth), "capture04", "train"), load_frames(
        str(tiny_synth), "capture04", "test"
    )


@pytest.fixture(scope="session")
def repose():
    return _repose


@pytest.fixture(scope="session")
def other_pixels():
    return _other_pixels


def _repose(frame, delta: float = 0.3):
    """A pixel-free copy of ``frame`` with every hand's fingers bent by ``delta`` radians."""
    f = frame.without_pixels()
    hands = {}
    for side, h in f.hands.items():
        pose = np.array(h.pose, copy=True)
        pose[3:] += delta
        hands[side] = HandParams(pose, h.shape, h.trans)
    f.hands = hands
    return f


def _other_pixels(frame, index: int):
    """The same camera and hands with different pixels, mask and frame index (and time)."""
    import dataclasses

    rng = np.random.default_rng(index)
    return dataclasses.replace(
        frame,
        image=rng.random(frame.image.shape).astype(np.float32),
        mask=(rng.random(frame.image.shape[:2]) > 0.5).astype(np.float32),
        index=index,
    )
