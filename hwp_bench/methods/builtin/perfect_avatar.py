"""``perfect-avatar``: HWP-Synth's own renderer, run as a method (the ceiling of every table).

What it is, honestly: not a method but an oracle. On HWP-Synth the generator knows the true
skin texture, light and shadows of every capture, so it can render the test clip as the best
hand avatar possible would, at whatever hand parameters the runner hands over (the test-pose
track's). Every quality table shows it as the *ceiling* row beside the *floor* (the flat
colour of ``mean-color``), so that each number reads between the two (docs/validity.md).

It renders from the frame's camera and hand parameters only, never from the test pixels, like
every method; the renderer is :class:`hwp_bench.synth.reference.ReferenceRenderer`.

"Training" checks that the data really is what the generator makes: it re-generates a few of
the capture's training frames and requires them to be identical, byte for byte, to the
dataset's (the generation's preset is read from the frames; the seed is ``synth_seed``). On any
other data (real HWP, another generator version, another seed) it stops with an error that
says so, instead of scoring a wrong ceiling.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hwp_bench.api import MethodBase, MethodInfo


class PerfectAvatar(MethodBase):
    @classmethod
    def method_info(cls) -> MethodInfo:
        return MethodInfo(
            id="perfect-avatar",
            name="Perfect avatar (HWP-Synth's renderer, ceiling)",
            paper="",
            version="0.1.0",
            description="The HWP-Synth generator's own renderer at the given hand parameters: "
            "true texture and light, hands only, on black. HWP-Synth only.",
            required_features=("hand_params", "camera", "hwp_synth"),
            hand_types=("single", "inter"),
            default_config={
                "synth_seed": 0,  # the seed the HWP-Synth dataset was generated with
                "check_frames": 2,  # training frames re-generated to prove the data is ours
            },
            presets={"quick": {}, "paper": {}},
            implementation_status="oracle",
            notes="The ceiling of the tables, not a method; needs HWP-Synth data.",
        )

    @classmethod
    def check_requirements(cls) -> str | None:
        import importlib.util

        if importlib.util.find_spec("hwp_bench.synth") is None:
            return "needs hwp_bench.synth (the HWP-Synth generator), which this build lacks"
        return None

    # -- state ------------------------------------------------------------------------------
    def initialize(self) -> None:
        self.generation: dict[str, Any] = {}
        self._checks: list = []
        self._renderer = None

    def state_dict(self) -> dict[str, Any]:
        return {"generation": dict(self.generation)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generation = dict(state["generation"])
        self._renderer = None

    # -- "training": prove the data is HWP-Synth of this generator --------------------------
    def setup(self, train_frames, val_frames=None) -> None:
        super().setup(train_frames, val_frames)
        frames = sorted(self.train_frames, key=lambda f: f.index)
        if not frames:
            raise ValueError("perfect-avatar needs at least one training frame to check the data")
        n = max(1, int(self.config["check_frames"]))
        picks = np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int)
        self._checks = [frames[i] for i in picks]
        first = frames[0]
        self.generation = {
            "capture": first.capture,
            "preset": _preset_for(first),
            "seed": int(self.config["synth_seed"]),
            "num_frames": int(first.num_frames),
            "clean": None,  # decided by the first check
        }

    @property
    def num_iterations(self) -> int:
        return len(self._checks)

    def train_iteration(self, step: int) -> dict[str, float]:
        frame = self._checks[step]
        got = np.asarray(frame.image)
        if got.dtype != np.uint8:
            got = np.round(np.clip(got, 0, 1) * 255.0).astype(np.uint8)
        g = self.generation
        tried = [g["clean"]] if g["clean"] is not None else [False, True]
        diffs = []
        for clean in tried:
            scene = self._scene(clean)
            want = scene.frame(int(frame.index)).image
            diff = float(np.abs(want.astype(np.int16) - got.astype(np.int16)).max())
            diffs.append(diff)
            if diff == 0:
                g["clean"] = clean
                return {"max_abs_diff": 0.0}
        raise ValueError(
            f"perfect-avatar: training frame {frame.capture}/{frame.index} is not what HWP-Synth "
            f"(preset {g['preset']}, seed {g['seed']}, this generator version) makes (max "
            f"difference {max(diffs):.0f}/255). It only runs on HWP-Synth data: regenerate the "
            "dataset with this toolkit, or set --set synth_seed=<the seed it was made with>"
        )

    # -- rendering --------------------------------------------------------------------------
    def _scene(self, clean: bool):
        from hwp_bench.synth.reference import reference_scene

        g = self.generation
        return reference_scene(
            g["capture"],
            preset=g["preset"],
            seed=g["seed"],
            clean=clean,
            num_frames=g["num_frames"],
        )

    def render(self, frame) -> dict[str, np.ndarray]:
        if not self.generation or self.generation.get("clean") is None:
            raise RuntimeError("perfect-avatar renders only after its data check (fit) passed")
        if frame.capture != self.generation["capture"]:
            raise ValueError(
                f"fitted on {self.generation['capture']}, asked to render {frame.capture}"
            )
        if self._renderer is None:
            from hwp_bench.synth.reference import ReferenceRenderer

            self._renderer = ReferenceRenderer(self._scene(bool(self.generation["clean"])))
        color, alpha = self._renderer.render(int(frame.index), frame.hands)
        return {"color": color, "alpha": alpha}


def _preset_for(frame) -> str:
    """The HWP-Synth preset whose image size this frame has (sizes are distinct)."""
    from hwp_bench.synth.spec import PRESETS

    for name, p in PRESETS.items():
        if p.size == frame.width == frame.height:
            return name
    raise ValueError(
        f"perfect-avatar: {frame.width}x{frame.height} frames match no HWP-Synth preset "
        f"({', '.join(f'{n} {p.size}px' for n, p in PRESETS.items())}): it only runs on HWP-Synth"
    )
