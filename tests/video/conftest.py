"""Helpers for the import tests: small videos whose frames say their own index, and a
scripted estimator that returns known landmarks for them (no MediaPipe needed)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from hwp_bench.video.landmarks import MP_TO_MODEL, Detection

SIZE = 64  # video frames, pixels
LEVEL0, STEP = 24, 8  # frame k is a flat grey of LEVEL0 + STEP * k


def index_of(image: np.ndarray) -> int:
    return int(round((float(np.asarray(image, np.float64).mean()) - LEVEL0) / STEP))


def make_video(path, frames: int, size: int = SIZE):
    pytest.importorskip("av", reason="PyAV (the dev and video extras) decodes the test videos")
    from hwp_bench.video.decode import write_video

    imgs = (np.full((size, size, 3), LEVEL0 + STEP * k, np.uint8) for k in range(frames))
    return write_video(path, imgs, fps=25)


def known_hands(model, frames: int, K: np.ndarray, side: str = "right"):
    """Per-frame known parameters of one slowly turning hand and its landmarks."""
    from scipy.spatial.transform import Rotation

    from hwp_bench.hand.poses import named_pose

    fingers = named_pose("relaxed", side)[3:]
    base = Rotation.from_rotvec([1.2, 0.4, 0.3])
    pose = np.stack(
        [
            np.concatenate([(Rotation.from_rotvec([0, 0, 0.04 * t]) * base).as_rotvec(), fingers])
            for t in range(frames)
        ]
    )
    trans = np.stack([[0.004 * t, 0.0, 4.9] for t in range(frames)])
    shape = np.zeros(10)
    out = model(
        torch.tensor(pose, dtype=torch.float32),
        torch.tensor(shape, dtype=torch.float32)[None].expand(frames, -1),
        torch.tensor(trans, dtype=torch.float32),
        side=side,
    )
    J = out.joints.detach().double().numpy()
    uv = (J @ np.asarray(K).T)[..., :2] / J[..., 2:3]
    z = J[..., 2]
    rel = (z - z[:, :1]) * K[0, 0] / z[:, :1]
    return J, uv[:, list(MP_TO_MODEL)], rel[:, list(MP_TO_MODEL)]


class ScriptedEstimator:
    """Returns ``script[frame index]`` (a list of Detection) for each frame it is shown."""

    name = "scripted"

    def __init__(self, script: dict[int, list[Detection]], fail_at: int | None = None):
        self.script = script
        self.fail_at = fail_at
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        k = index_of(image)
        if self.fail_at is not None and k == self.fail_at:
            raise RuntimeError(f"estimator crashed at frame {k}")
        return copy.deepcopy(self.script.get(k, []))

    def close(self):
        pass


@pytest.fixture(scope="session")
def hand_model():
    from hwp_bench.hand import load_hand_model

    return load_hand_model("open")
