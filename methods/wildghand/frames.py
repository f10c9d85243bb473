"""Training frames as WildGHand fits them: tensors at the training resolution.

``setup`` turns each dataset frame with hand parameters into a :class:`TrainFrame` once, so the
training loop, the objective (``losses.py``) and the training hooks (``hooks.py``) all see the
same downscaled image, mask, intrinsics and hand tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F


@dataclass
class TrainFrame:
    """A training frame as tensors at the training resolution.

    ``position`` is the frame's place in the method's list of prepared frames (what per-frame
    learned codes are indexed by); ``index`` is its frame number in the capture.
    """

    index: int
    image: torch.Tensor  # [H, W, 3]
    mask: torch.Tensor | None  # [H, W]
    K: torch.Tensor  # [3, 3]
    t: float
    hands: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]  # side -> pose, shape, trans
    image_np: np.ndarray  # for region proposals
    position: int = 0


def downscale(frame, max_size: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Image, mask and K at most ``max_size`` px on the long side (area filter, exact K)."""
    img = np.asarray(frame.image)
    if img.dtype == np.uint8:
        img = img.astype(np.float32) / 255.0
    img = img.astype(np.float32)
    mask = None if frame.mask is None else np.asarray(frame.mask, np.float32)
    if mask is not None and mask.max() > 1.5:
        mask = mask / 255.0
    K = np.asarray(frame.K, np.float32).copy()
    h, w = img.shape[:2]
    if max_size <= 0 or max(h, w) <= max_size:
        return img, mask, K
    s = max_size / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    t = torch.from_numpy(img).permute(2, 0, 1)[None]
    img = F.interpolate(t, size=(nh, nw), mode="area")[0].permute(1, 2, 0).numpy()
    if mask is not None:
        m = torch.from_numpy(mask)[None, None]
        mask = F.interpolate(m, size=(nh, nw), mode="area")[0, 0].numpy()
    # The rasterizer puts pixel j's centre at j + 0.5 (continuous coordinates), so resizing
    # scales the whole projection: x' = sx * x.
    sx, sy = nw / w, nh / h
    K[0, :] *= sx
    K[1, :] *= sy
    return img, mask, K


def hand_tensors(hands, device) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """side -> (pose [1, 48], shape [1, 10], trans [1, 3]) float32 tensors on ``device``."""
    return {
        side: tuple(
            torch.as_tensor(np.asarray(x, np.float32), device=device)[None]
            for x in (hp.pose, hp.shape, hp.trans)
        )
        for side, hp in hands.items()
    }
