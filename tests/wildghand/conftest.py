"""A tiny synthetic capture for WildGHand's tests, independent of HWP-Synth.

Ground truth comes from a fixed "teacher" avatar: one opaque Gaussian per vertex of the open
hand, coloured by a smooth function of its template position, posed by the hand model and
drawn by the rasterizer. Train and test frames use different poses, so the test clip checks
that the fitted avatar generalises to new poses, as the benchmark does.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwp_bench.data import Frame, HandParams


def _teacher_frames(n: int, *, seed: int, size: int, start: int, total: int, split: str):
    from wildghand.geometry import vertex_rotations

    from hwp_bench.hand import load_hand_model
    from hwp_bench.render import rasterize

    hand = load_hand_model("open", 0)
    rng = np.random.default_rng(seed)
    zero = torch.zeros(1, 48)
    rest = hand(zero, torch.zeros(1, 10), torch.zeros(1, 3), side="right").vertices[0]
    lo, hi = rest.min(0).values, rest.max(0).values
    u = (rest - lo) / (hi - lo)
    colors = torch.stack(
        [0.55 + 0.35 * u[:, 1], 0.35 + 0.3 * torch.sin(6 * u[:, 0]) ** 2, 0.3 + 0.2 * u[:, 2]], -1
    ).clamp(0, 1)
    f = 1.6 * size
    K = np.array([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1]], np.float32)
    frames = []
    for k in range(n):
        pose = np.zeros(48, np.float32)
        pose[:3] = [-np.pi / 2, 0.0, 0.0] + rng.normal(0, 0.2, 3)  # palm towards the camera
        pose[3:] = rng.normal(0, 0.2, 45)
        trans = np.array([0.1, 0.0, 0.5], np.float32) + rng.normal(0, 0.005, 3).astype(np.float32)
        p = torch.from_numpy(pose)[None]
        v = hand(p, torch.zeros(1, 10), torch.from_numpy(trans)[None], side="right").vertices[0]
        out = rasterize(
            v,
            torch.tensor([1.0, 0, 0, 0]).expand(v.shape[0], 4),
            torch.full((v.shape[0], 3), 0.0045),
            torch.full((v.shape[0],), 0.95),
            colors,
            torch.eye(4),
            torch.from_numpy(K),
            size,
            size,
            background=torch.zeros(3),
        )
        _ = vertex_rotations  # imported to fail loudly if geometry breaks
        img = out["color"].detach().numpy().astype(np.float32)
        mask = (out["alpha"].detach().numpy() > 0.5).astype(np.float32)
        frames.append(
            Frame(
                image=img,
                capture="capture-test",
                index=start + k,
                num_frames=total,
                K=K,
                hands={"right": HandParams(pose=pose, shape=np.zeros(10), trans=trans)},
                mask=mask,
                split=split,
            )
        )
    return frames


@pytest.fixture(scope="session")
def tiny_capture():
    """(train, test) frames of a 64 px synthetic single-hand capture."""
    train = _teacher_frames(12, seed=0, size=64, start=0, total=16, split="train")
    test = _teacher_frames(4, seed=1, size=64, start=12, total=16, split="test")
    return train, test


def masked_psnr(pred: np.ndarray, frame) -> float:
    """PSNR of ``pred`` against ``frame`` over its hand mask (the tiny capture's scale)."""
    m = frame.mask > 0.5
    return float(-10 * np.log10(((pred - frame.image) ** 2)[m].mean()))


def clip_psnr(method, test) -> float:
    """Mean masked PSNR of ``method``'s renders over the test frames (pixels withheld)."""
    return float(
        np.mean([masked_psnr(method.render(f.without_pixels())["color"], f) for f in test])
    )


def short_fit(train, **config):
    """A WildGHand fitted on ``train`` for ``config["iterations"]`` steps (the tests' form).

    The training poses are the frames' own (``train_poses=estimated``): the tiny capture's are
    exact, and its masks are the teacher's Gaussian alphas, wider than the hand model's mesh
    silhouette, which the mask aligner would meet by moving the hand 9-11 cm towards the camera
    (measured): a default fit on it scores 18 dB on the test clip rendered at the true poses."""
    from wildghand.method import WildGHand

    m = WildGHand(config={"perceptual": "dssim", "seed": 0, "train_poses": "estimated", **config})
    m.setup(train)
    for s in range(m.num_iterations):
        m.train_iteration(s)
    return m
