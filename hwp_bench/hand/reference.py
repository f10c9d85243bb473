"""Slow, obviously-correct MANO-style skinning: the oracle the fast LBS is tested against.

Per sample, per joint and per vertex, in float64 numpy with 4x4 homogeneous matrices and
scipy's rotation code (an independent Rodrigues). Never used outside tests and checks.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from hwp_bench.hand.data import HandData


def _homogeneous(rot: np.ndarray, t: np.ndarray) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = rot
    m[:3, 3] = t
    return m


def reference_forward(
    data: HandData, pose: np.ndarray, shape: np.ndarray, trans: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Vertices [V, 3] and joints [21, 3] for one sample (pose 48, shape 10, trans 3)."""
    pose = np.asarray(pose, dtype=np.float64).reshape(16, 3)
    shape = np.asarray(shape, dtype=np.float64)
    trans = np.asarray(trans, dtype=np.float64)
    rest = data.v_template + np.einsum("vcs,s->vc", data.shapedirs, shape)
    joints = data.j_template + np.einsum("jcs,s->jc", data.j_shapedirs, shape)
    rots = [Rotation.from_rotvec(p).as_matrix() for p in pose]
    if data.posedirs is not None:
        feature = np.concatenate([(r - np.eye(3)).reshape(-1) for r in rots[1:]])
        rest = rest + np.einsum("vcp,p->vc", data.posedirs, feature)
    world = [None] * 16
    for k in range(16):
        parent = data.parents[k]
        if parent < 0:
            world[k] = _homogeneous(rots[k], joints[k])
        else:
            world[k] = world[parent] @ _homogeneous(rots[k], joints[k] - joints[parent])
    skin = [world[k] @ _homogeneous(np.eye(3), -joints[k]) for k in range(16)]
    out = np.zeros_like(rest)
    for i in range(rest.shape[0]):
        p = np.append(rest[i], 1.0)
        acc = np.zeros(4)
        for k in range(16):
            if data.weights[i, k] != 0.0:
                acc += data.weights[i, k] * (skin[k] @ p)
        out[i] = acc[:3] + trans
    posed_joints = np.stack([world[k][:3, 3] for k in range(16)]) + trans
    return out, np.concatenate([posed_joints, out[data.tip_vertices]])
