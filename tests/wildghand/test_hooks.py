"""WildGHand's public training hooks (hooks.py): each hook point takes effect in a short fit,
hooks combine in order, and the documented example (docs/extending_methods_hooks.md) works."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from wildghand.hooks import HookChain, TrainingHooks
from wildghand.method import WildGHand

#: A small, fast configuration: tiny network, 32 px, plain L1 weights (no PAO regions).
FAST = {
    "seed": 0,
    "perceptual": "none",
    "pao": "off",
    "train_resolution": 32,
    "identity_height": 16,
    "identity_width": 32,
    "tex_channels": 8,
    "hidden": 32,
    "feat_dim": 16,
    "lr_halve_epochs": 100.0,
}
DOC = Path(__file__).resolve().parents[2] / "docs" / "extending_methods_hooks.md"


def _doc_example() -> dict:
    """Run the tested code block of the hooks guide, as written there."""
    text = DOC.read_text()
    block = text.split("<!-- tested-example -->", 1)[1].split("```python", 1)[1].split("```")[0]
    namespace: dict = {}
    exec(compile(block, str(DOC), "exec"), namespace)
    return namespace


class Brightness(TrainingHooks):
    """An extra loss term: the mean training render, weighted 1000."""

    def frame_loss_terms(self, method, ctx):
        return {"brightness": (1000.0, ctx.render.mean())}


def test_an_extra_loss_term_is_added_logged_and_trained(tiny_capture):
    train, _ = tiny_capture
    cfg = {**FAST, "lr": 1e-2}
    plain = WildGHand(config=cfg)
    hooked = WildGHand(config=cfg, hooks=Brightness())
    plain.setup(train[:4])
    hooked.setup(train[:4])
    a, b = plain.train_iteration(0), hooked.train_iteration(0)
    # same parameters at step 0: the hooked loss is the plain one plus 1000 x the logged value
    assert b["rec"] == a["rec"] and b["brightness"] > 0.01
    assert b["loss"] == pytest.approx(a["loss"] + 1000.0 * b["brightness"], rel=1e-6)
    for s in range(1, 6):
        plain.train_iteration(s)
        hooked.train_iteration(s)
    frame = train[0].without_pixels()
    dark = hooked.render(frame)["color"].mean()
    assert dark < 0.6 * plain.render(frame)["color"].mean()  # measured 0.047 vs 0.097


class Behind(TrainingHooks):
    """Pose hook: every training hand moved 10 m backwards (behind the camera)."""

    def frame_hands(self, method, frame, hands):
        shift = torch.tensor([[0.0, 0.0, 10.0]])
        return {side: (p, s, t - shift) for side, (p, s, t) in hands.items()}


def test_the_pose_hook_moves_the_training_hands(tiny_capture):
    train, _ = tiny_capture
    m = WildGHand(config=FAST, hooks=Behind())
    m.setup(train[:4])
    logs = m.train_iteration(0)
    fr = m.prepared_frames[m._batch_indices(0)[0]]
    # nothing is drawn: the silhouette loss is the mask's mean, the L1 the target's mean
    assert logs["silhouette"] == pytest.approx(float(fr.mask.mean()), abs=1e-7)
    assert logs["rec"] == pytest.approx(float(m.training_target(fr).mean()), abs=1e-7)
    assert fr.hands["right"][2][0, 2] > 0.3  # the frame's own parameters are untouched


class WhiteBackground(TrainingHooks):
    """Rasterize hook: white background, and which frames it drew."""

    def attach(self, method):
        self.frames = []

    def rasterize(self, method, gaussians, K, height, width, frame):
        from wildghand.gaussians import concat_hands

        from hwp_bench.render import rasterize

        self.frames.append(frame)
        g = concat_hands(list(gaussians.values()), 0)
        ones = torch.ones(3, device=method.device)
        return rasterize(g["means"], g["quats"], g["scales"], g["opacities"], g["colors"],
                         torch.eye(4), K, width, height, background=ones)  # fmt: skip


def test_the_rasterize_hook_draws_training_and_test_renders(tiny_capture):
    train, test = tiny_capture
    m = WildGHand(config={**FAST, "iterations": 2}, hooks=WhiteBackground())
    m.setup(train[:4])
    for s in range(2):
        m.train_iteration(s)
    hook = m.hooks.get(WhiteBackground)
    drawn = [f.position for f in hook.frames]
    assert drawn == [m._batch_indices(0)[0], m._batch_indices(1)[0]]
    out = m.render(test[0].without_pixels())
    assert hook.frames[-1] is None  # a test render
    assert out["alpha"][0, 0] < 1e-4 and np.allclose(out["color"][0, 0], 1.0, atol=1e-4)
    plain = WildGHand(config=FAST).render(test[0].without_pixels())
    assert np.allclose(plain["color"][0, 0], 0.0, atol=1e-4)


def test_documented_example_learns_per_frame_gains_and_round_trips(tiny_capture, tmp_path):
    train, test = tiny_capture
    frame_gain = _doc_example()["FrameGain"]
    frames = [
        f if k % 2 else dataclasses.replace(f, image=f.image * 0.4)  # every other one dark
        for k, f in enumerate(train[:4])
    ]
    cfg = {**FAST, "iterations": 8}
    m = WildGHand(config=cfg, hooks=[frame_gain()])
    m.setup(frames)
    logs = [m.train_iteration(s) for s in range(8)]
    assert all("gain" in x for x in logs)
    hook = m.hooks.get(frame_gain)
    gains = hook.log_gain.detach().clone()
    dark = [f.position for f in m.prepared_frames if f.index % 2 == 0]
    bright = [f.position for f in m.prepared_frames if f.index % 2 == 1]
    assert gains[dark].mean() < gains[bright].mean() - 0.05, gains

    # test renders skip frame_render: the gains do not change them
    frame = test[0].without_pixels()
    before = m.render(frame)["color"]
    m.save(tmp_path / "ckpt")
    with torch.no_grad():
        hook.log_gain.fill_(2.0)
    np.testing.assert_array_equal(m.render(frame)["color"], before)

    # the hook's state and optimizer group travel with the checkpoint: a resumed fit continues
    with torch.no_grad():
        hook.log_gain.copy_(gains)
    m2 = WildGHand(config=cfg, checkpoint=tmp_path / "ckpt", hooks=[frame_gain()])
    torch.testing.assert_close(m2.hooks.get(frame_gain).log_gain.detach(), gains)
    m2.setup(frames)
    assert m2.train_iteration(8) == m.train_iteration(8)


class Marker(TrainingHooks):
    def __init__(self, name, log):
        self.name, self.log = name, log

    def frame_hands(self, method, frame, hands):
        self.log.append(self.name)
        return hands

    def frame_loss_terms(self, method, ctx):
        return {self.name: (0.0, ctx.render.sum() * 0)}

    def state_dict(self, method):
        return {self.name: torch.zeros(1)}


class Drawer(TrainingHooks):
    def rasterize(self, method, gaussians, K, height, width, frame):
        raise AssertionError("not reached")


def test_hooks_combine_in_order_and_refuse_clashes(tiny_capture):
    log: list[str] = []
    train, _ = tiny_capture
    m = WildGHand(config=FAST, hooks=[Marker("a", log), Marker("b", log)])
    m.setup(train[:2])
    out = m.train_iteration(0)
    assert log == ["a", "b"] and out["a"] == 0.0 and out["b"] == 0.0
    assert {"a", "b"} <= set(m.state_dict())
    ctx = SimpleNamespace(render=torch.zeros(1))
    with pytest.raises(ValueError, match="same loss term"):
        HookChain([Marker("a", log), Marker("a", log)]).frame_loss_terms(m, ctx)
    with pytest.raises(ValueError, match="same checkpoint entry"):
        HookChain([Marker("a", log), Marker("a", log)]).state_dict(m)
    with pytest.raises(ValueError, match="at most one"):
        HookChain([Drawer(), Drawer()])
    with pytest.raises(TypeError, match="TrainingHooks"):
        HookChain([object()])
    with pytest.raises(LookupError):
        m.hooks.get(Drawer)


def test_a_class_declares_its_hooks():
    class Declared(WildGHand):
        training_hooks = (Brightness,)

    m = Declared(config=FAST)
    assert isinstance(m.hooks.get(Brightness), Brightness)
    # WildGHand itself declares one hook: training-pose refinement (refine.py).
    from wildghand.refine import PoseRefinement

    assert [type(h) for h in WildGHand(config=FAST).hooks.hooks] == [PoseRefinement]
