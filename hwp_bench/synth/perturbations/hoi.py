"""Hand-object interaction (tag ``hoi``): objects of the action occlude the hands.

Each action motif has its props (blocks, marker pen, sticker sheet, lotion bottle, watch, phone,
cards; :mod:`hwp_bench.synth.props`). They are drawn for every capture; with strength ``k`` they
enter the frame and slide in front of the hand they belong to, and stay out of the picture at
``k = 0``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hwp_bench.synth.perturbations.base import Perturbation

if TYPE_CHECKING:
    from hwp_bench.synth.scene import CaptureScene, HandState
    from hwp_bench.synth.shading import Mesh


class HandObjectInteraction(Perturbation):
    tag = "hoi"
    title = "hand-object interaction"
    aliases = ("occlusion",)
    streams = ("schedule", "props")

    def setup(self, scene: CaptureScene, rng: np.random.Generator) -> None:
        from hwp_bench.synth.props import make_props

        self.props = make_props(rng, scene.info.action)

    def meshes(
        self, scene: CaptureScene, t: float, k: float, hands: dict[str, HandState]
    ) -> list[Mesh]:
        from hwp_bench.synth.props import HandFrame
        from hwp_bench.synth.rig import PALM_SIGN

        R_cam, _ = scene.camera.at(t)
        frames = {
            side: HandFrame.from_joints(st.joints, PALM_SIGN[side], scene.rigs[side].tips)
            for side, st in hands.items()
        }
        out = []
        for prop in self.props:
            out.extend(prop.meshes(frames, t, k, R_cam))
        return out
