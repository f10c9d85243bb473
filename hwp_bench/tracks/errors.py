"""Joint errors of test poses against the exact ones (synthetic data): what alignment buys.

Per frame and hand, the 21 joints (16 MANO joints and 5 fingertips) of the hand model posed
from a track's parameters are compared with those posed from the exact parameters:

* ``mm``: mean 3-D distance, millimetres (depth included: at HWP's focal length depth is nearly
  invisible in the image, so neither an estimator nor a silhouette pins it down);
* ``mm_root``: the same after moving both wrists to the origin (articulation and rotation);
* ``px``: mean distance of the projected joints in the image, pixels (what a render sees).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hwp_bench.data.frame import Frame, HandParams

__all__ = ["joint_errors"]


def _joints(model, hp: HandParams, side: str) -> np.ndarray:
    import torch

    out = model(
        torch.as_tensor(np.asarray(hp.pose, np.float64))[None],
        torch.as_tensor(np.asarray(hp.shape, np.float64))[None],
        torch.as_tensor(np.asarray(hp.trans, np.float64))[None],
        side=side,
    )
    return out.joints[0].detach().numpy()


def joint_errors(
    frames: Sequence[Frame],
    hands: Mapping[tuple[str, int], Mapping[str, HandParams]],
    *,
    hand_model: str = "open",
) -> dict[str, float]:
    """Mean ``mm``, ``mm_root`` and ``px`` joint errors of ``hands`` (keyed like
    :func:`hwp_bench.tracks.track_hands`) over every hand of ``frames`` that has exact
    parameters. Raises ``ValueError`` when none has."""
    import torch

    from hwp_bench.hand import load_hand_model

    model = load_hand_model(hand_model, 0, dtype=torch.float64)
    mm, mm_root, px = [], [], []
    for f in frames:
        exact = (f.annotations or {}).get("exact_hands") or {}
        K = np.asarray(f.K, np.float64)
        for side, hp in hands[(f.capture, int(f.index))].items():
            if side not in exact:
                continue
            a, b = _joints(model, hp, side), _joints(model, exact[side], side)
            mm.append(1000.0 * np.linalg.norm(a - b, axis=1).mean())
            mm_root.append(1000.0 * np.linalg.norm((a - a[0]) - (b - b[0]), axis=1).mean())
            pa = (a[:, :2] / a[:, 2:]) @ np.diag(K[[0, 1], [0, 1]]) + K[:2, 2]
            pb = (b[:, :2] / b[:, 2:]) @ np.diag(K[[0, 1], [0, 1]]) + K[:2, 2]
            px.append(np.linalg.norm(pa - pb, axis=1).mean())
    if not mm:
        raise ValueError("no frame has exact hand parameters to compare with")
    return {
        "mm": float(np.mean(mm)),
        "mm_root": float(np.mean(mm_root)),
        "px": float(np.mean(px)),
        "hands": len(mm),
    }
