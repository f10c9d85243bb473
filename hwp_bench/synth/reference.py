"""Reference predictions: HWP-Synth's own renderer as a *perfect* hand avatar.

A benchmark is only valid if the best possible avatar scores best. On HWP-Synth the best
possible avatar exists: the generator itself, which knows the true skin texture, the true
light and shadows. :class:`ReferenceRenderer` renders a capture's frame the way the generator
does, at *any* hand parameters (the exact ones, the ones methods receive, the aligned ones),
and returns what a hand avatar returns: the hands only, on black, and their silhouette.

Exactly like the generator (:meth:`CaptureScene.render_frame`): same meshes, light, shadow
map (forearms and props still cast their shadows on the hands), supersampling and camera
pipeline (vignetting, sRGB). What differs, on purpose:

* only hand pixels are drawn: forearms, props and the backdrop are kept in the scene so that
  they shade the hands, but they never hide a hand (an avatar renders its hand whole) and they
  are black;
* no sensor noise and no 8-bit quantisation (an avatar renders a clean float image);
* one instant per frame (the test clip has no motion blur).

So at the exact parameters, every pixel that the ground truth shows as fully visible hand is
the ground-truth pixel without its sensor noise (about 46 dB PSNR): what "perfect" means.
The colour is premultiplied by the alpha (hand on black), as methods return it.

It uses :class:`~hwp_bench.synth.scene.CaptureScene`'s public methods only (``hand_states``,
``strengths``, ``light_at``, ``meshes_at``, ``model``, ``K``, ``size``, ``preset``), so it
follows the generator when its internals change; ``tests/synth/test_reference.py`` holds it to
the generator's own frames.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from hwp_bench.data.frame import HandParams

__all__ = ["ReferenceRenderer", "develop_noise_free", "reference_scene"]

#: Depth added to non-hand meshes in the z-test: they can shade a hand but never hide it.
_BEHIND = 1e3


def develop_noise_free(linear: np.ndarray) -> np.ndarray:
    """The generator's camera pipeline without sensor noise and quantisation: lens vignetting
    and sRGB encoding of a linear image ``[H, W, 3]`` (see ``CaptureScene.develop``)."""
    from hwp_bench.synth.skin import linear_to_srgb

    h, w = linear.shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    r2 = ((x + 0.5 - w / 2) ** 2 + (y + 0.5 - h / 2) ** 2) / (0.5 * max(h, w)) ** 2
    return linear_to_srgb(linear * (1.0 - 0.12 * r2)[..., None])


class ReferenceRenderer:
    """Perfect-avatar renders of one capture's frames at given hand parameters."""

    def __init__(self, scene) -> None:
        self.scene = scene

    def _states(self, index: int, hands: Mapping[str, HandParams]):
        """The scene's state at frame ``index`` with the hands posed from ``hands``.

        Forearms keep their true direction and follow the given wrist."""
        import torch

        states = self.scene.hand_states([float(index)])[0]
        unknown = set(hands) - set(states)
        if unknown:
            raise ValueError(
                f"{sorted(unknown)} hand(s) given, but the capture has {sorted(states)}"
            )
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the generator's model calls run on one thread too
        try:
            for side, hp in hands.items():
                out = self.scene.model(
                    torch.as_tensor(np.asarray(hp.pose).reshape(1, 48), dtype=torch.float32),
                    torch.as_tensor(np.asarray(hp.shape).reshape(1, 10), dtype=torch.float32),
                    torch.as_tensor(np.asarray(hp.trans).reshape(1, 3), dtype=torch.float32),
                    side=side,
                )
                st = states[side]
                st.pose = np.asarray(hp.pose, np.float64)
                st.shape = np.asarray(hp.shape, np.float64)
                st.trans = np.asarray(hp.trans, np.float64)
                st.verts = out.vertices[0].detach().double().numpy()
                st.joints = out.joints[0].detach().double().numpy()
        finally:
            torch.set_num_threads(threads)
        return states

    def render(self, index: int, hands: Mapping[str, HandParams]) -> tuple[np.ndarray, np.ndarray]:
        """``(color [H, W, 3] float32 premultiplied on black, alpha [H, W] float32)`` of frame
        ``index`` with the hands at ``hands`` (side -> parameters; sides left out are not
        drawn)."""
        from hwp_bench.synth.shading import render

        scene = self.scene
        t = float(index)
        states = {s: st for s, st in self._states(index, hands).items() if s in hands}
        strengths = scene.strengths(t)
        light, gain, tint = scene.light_at(t, strengths)
        meshes = []
        for m in scene.meshes_at(t, strengths, states):
            if not m.kind.startswith("hand_"):
                m = dataclasses.replace(
                    m,
                    texture=np.zeros_like(m.texture),
                    specular=0.0,
                    depth_bias=m.depth_bias + _BEHIND,
                )
            meshes.append(m)
        p = scene.preset
        out = render(
            meshes, scene.K, scene.size, scene.size, light, ss=p.ss, shadow_res=p.shadow_res
        )
        alpha = out["hand_right"] + out["hand_left"]
        linear = out["color"] * gain * tint  # hand light only: the rest is black
        straight = linear / np.maximum(alpha, 1e-12)[..., None]
        color = develop_noise_free(straight) * alpha[..., None]
        return color.astype(np.float32), alpha.astype(np.float32)


def reference_scene(
    capture: str,
    *,
    preset: str = "quick",
    seed: int = 0,
    clean: bool = False,
    num_frames: int | None = None,
):
    """The :class:`CaptureScene` that HWP-Synth ``(preset, seed, clean, num_frames)`` drew
    ``capture`` from (what :func:`hwp_bench.synth.generate` renders)."""
    from hwp_bench.data.tags import capture_info
    from hwp_bench.synth.scene import CaptureScene
    from hwp_bench.synth.spec import get_preset

    return CaptureScene(
        capture_info(capture), get_preset(preset), seed, clean=clean, num_frames=num_frames
    )
