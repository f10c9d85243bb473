"""Fixtures shared by several test areas (kept lazy: nothing is built unless a test asks)."""

from __future__ import annotations

import pytest

#: A single-hand and a two-hand capture, as few frames as the splits allow a 2-frame test clip.
TINY_SYNTH_CAPTURES = ("capture00", "capture04")
TINY_SYNTH_FRAMES = 20


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory):
    """An HWP-Synth folder (preset ``tiny``: 40 px, seed 0) with captures 0 and 4, 20 frames
    each (test clip: frames 18 and 19), written by the real generator."""
    from hwp_bench.synth import generate

    root = tmp_path_factory.mktemp("tiny-synth") / "hwp-synth-tiny"
    return generate(
        root,
        preset="tiny",
        seed=0,
        captures=list(TINY_SYNTH_CAPTURES),
        num_frames=TINY_SYNTH_FRAMES,
        progress=False,
    )
