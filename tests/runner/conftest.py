"""Fixtures for the runner tests: a tiny dataset folder and a toy plugin method.

The dataset is written with the real writer (``hwp_bench.data.layout``), so the runner reads it
through the same path as HWP-Synth. The plugin is registered through ``HWP_BENCH_METHODS`` (a
file path), the door local plugins use; subprocesses inherit it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from hwp_bench.data import Frame, HandParams

SIZE = 40
COLORS = {"capture00": (0.8, 0.3, 0.2), "capture04": (0.2, 0.5, 0.9), "capture01": (0.5, 0.5, 0.1)}
HAND_TYPE = {"capture00": "single", "capture01": "single", "capture04": "inter"}


def tiny_frames(capture: str, n: int):
    """A disc of the capture's colour (plus deterministic noise) on black; its mask."""
    rng = np.random.default_rng(int(capture[-2:]))
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    for i in range(n):
        cx, cy = 20 + 4 * np.sin(i / 3), 20 + 4 * np.cos(i / 3)
        mask = (((xx - cx) ** 2 + (yy - cy) ** 2) <= 11**2).astype(np.float32)
        img = mask[..., None] * np.asarray(COLORS[capture], np.float32)
        img = np.clip(img + rng.normal(0, 0.05, img.shape) * mask[..., None], 0, 1)
        hands = {"right": HandParams(np.zeros(48), np.zeros(10), [0.0, 0.0, 0.5])}
        if HAND_TYPE[capture] == "inter":
            hands["left"] = HandParams(np.zeros(48), np.zeros(10), [0.05, 0.0, 0.5])
        yield Frame(
            image=img.astype(np.float32),
            capture=capture,
            index=i,
            num_frames=n,
            K=np.array([[50.0, 0, 20], [0, 50.0, 20], [0, 0, 1]], np.float32),
            hands=hands,
            mask=mask,
            hand_type=HAND_TYPE[capture],
        )


def write_tiny_dataset(root: Path, captures=("capture00", "capture04"), n: int = 20) -> Path:
    from hwp_bench.data.layout import DatasetWriter

    writer = DatasetWriter(root, name="tiny", description="runner test data")
    for capture in captures:
        writer.write_capture(
            capture, tiny_frames(capture, n), num_frames=n, hand_type=HAND_TYPE[capture]
        )
    writer.finalize()
    return root


TOY_PLUGIN = textwrap.dedent(
    '''
    """Toy plugin for the runner tests: learns the mean masked colour, one frame per step."""
    import os
    import signal
    import time
    from pathlib import Path

    import numpy as np
    from hwp_bench.api import MethodBase, MethodInfo


    class ToyMean(MethodBase):
        @classmethod
        def method_info(cls):
            return MethodInfo(
                id="toy-mean", name="Toy mean", implementation_status="trivial",
                default_config={"iterations": 12, "sleep": 0.0, "fail_flag": "",
                                "crash_capture": "", "lr": 0.5},
                presets={"quick": {}, "paper": {"iterations": 50}},
            )

        def initialize(self):
            self.color = np.zeros(3)
            self.step_sum = 0

        def setup(self, train_frames, val_frames=None):
            super().setup(train_frames, val_frames)
            capture = self.train_frames[0].capture
            flag = self.config["fail_flag"]
            if flag and Path(flag + "." + capture).exists():
                raise RuntimeError(f"asked to fail on {capture}")
            if self.config["crash_capture"] == capture:
                os.kill(os.getpid(), signal.SIGKILL)

        def train_iteration(self, step):
            f = self.train_frames[step % len(self.train_frames)]
            target = f.image[f.mask > 0.5].mean(axis=0)
            self.color = self.color + self.config["lr"] * (target - self.color)
            self.step_sum += step
            if self.config["sleep"]:
                time.sleep(self.config["sleep"])
            return {"loss": float(np.mean((target - self.color) ** 2))}

        def render(self, frame):
            assert frame.image.size == 0, "render() must not see pixels"
            c = np.broadcast_to(self.color.astype(np.float32), (frame.height, frame.width, 3))
            return {"color": c.copy(), "alpha": np.ones((frame.height, frame.width), np.float32)}

        def state_dict(self):
            import torch
            return {"color": torch.tensor(self.color), "step_sum": self.step_sum}

        def load_state_dict(self, state):
            self.color = state["color"].numpy()
            self.step_sum = int(state["step_sum"])

        def diagnostics(self):
            return {"step_sum": self.step_sum, "color": np.asarray(self.color),
                    "pao_weight": {3: np.eye(4), 11: np.zeros((4, 4))}}
    '''
)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny") / "tiny")


@pytest.fixture
def toy_plugin(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "toy_plugin.py"
    path.write_text(TOY_PLUGIN)
    monkeypatch.setenv("HWP_BENCH_METHODS", f"toy-mean={path}:ToyMean")
    return path
