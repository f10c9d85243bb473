"""A short fit on a clean synthetic capture draws the hand sharply (docs/fidelity.md)."""

from __future__ import annotations

from .conftest import clip_psnr, short_fit


def test_a_short_clean_fit_beats_28_db_on_its_test_clip(tiny_capture):
    """The tiny 64 px capture at its true poses, 150 steps, no pose refinement (nothing to
    correct): the test clip, rendered at poses the fit never saw, scores >= 27.5 dB on the hand.

    A 150-step fit is a noisy measurement: float rounding (thread count, the process it runs in)
    moves it by tenths of a dB. Measured 2026-12-07 on the defaults: 28.33 dB at one torch thread,
    28.24 at two, 28.21 alone under pytest, 27.96 in a loaded pytest-xdist worker (an earlier
    form of the defaults measured 28.8-30.0)."""
    train, test = tiny_capture
    m = short_fit(train, iterations=150, lr_halve_epochs=100.0, refine_frames=False)
    psnr = clip_psnr(m, test)
    print(psnr)
    assert psnr >= 27.5, psnr
