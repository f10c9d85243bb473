"""The torch hand model: MANO-convention parameters in, posed vertices and joints out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hwp_bench.hand.constants import ALL_JOINT_NAMES, NUM_POSE, NUM_SHAPE, SIDES
from hwp_bench.hand.data import HandData
from hwp_bench.hand.lbs import blend, forward_kinematics, skinning_transforms
from hwp_bench.hand.rotation import axis_angle_to_matrix


@dataclass
class HandOutput:
    """Result of one forward pass (all batched, same dtype and device as the model).

    ``vertices`` [B, V, 3] and ``joints`` [B, 21, 3] (16 MANO joints + 5 tips) in metres;
    ``rest_vertices`` [B, V, 3] the shaped rest surface (with pose correctives) that
    ``joint_transforms`` [B, 16, 3, 4] (rest -> posed, translation included) skin: for any
    rest-space point p with weights w, ``sum_k w_k A_k [p; 1]`` is its posed position (what a
    Gaussian attached to the surface needs).
    """

    vertices: torch.Tensor
    joints: torch.Tensor
    rest_vertices: torch.Tensor
    joint_transforms: torch.Tensor


class _Side:
    """Tensors of one side, on the model's dtype and device."""

    def __init__(self, data: HandData, dtype: torch.dtype, device: torch.device) -> None:
        def t(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.asarray(x, dtype=np.float64), device=device).to(dtype)

        self.data = data
        self.v_template = t(data.v_template)
        self.shapedirs = t(data.shapedirs).reshape(-1, NUM_SHAPE)  # [V*3, 10]
        self.posedirs = None if data.posedirs is None else t(data.posedirs).reshape(-1, 135)
        self.j_template = t(data.j_template)
        self.j_shapedirs = t(data.j_shapedirs).reshape(-1, NUM_SHAPE)
        self.weights = t(data.weights)
        self.faces = torch.as_tensor(data.faces.astype(np.int64), device=device)
        self.uv_faces = torch.as_tensor(data.uv_faces.astype(np.int64), device=device)
        self.tips = torch.as_tensor(data.tip_vertices.astype(np.int64), device=device)


class HandModel:
    """A hand model in the MANO convention (see :func:`hwp_bench.hand.load_hand_model`).

    Call ``model(pose [B, 48], shape [B, 10], trans [B, 3], side="right")``: pose is axis-angle
    (3 global, about the wrist, then 15 finger joints in MANO order); shape the 10 shape
    coefficients; trans the wrist position. ``shape`` and ``trans`` may be None (zeros).
    Differentiable with respect to all three; inputs are cast to the model's dtype.

    Attributes: ``faces`` [F, 3] (right-hand winding; ``faces_for(side)`` for either side),
    ``vertex_uvs`` [V, 2], ``uv_coords`` [U, 2], ``uv_faces`` [F, 3] (``uv_faces_for(side)``),
    ``skinning_weights`` [V, 16], ``num_vertices``, ``num_faces``, ``parents``,
    ``tip_vertices`` [5], ``joint_names`` (21), ``name``, ``subdivision``, ``dtype``, ``device``.
    """

    def __init__(
        self,
        right: HandData,
        left: HandData,
        *,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> None:
        if right.num_vertices != left.num_vertices or right.faces.shape != left.faces.shape:
            raise ValueError("left and right hands must share vertex and face counts")
        self.name = right.name
        self.subdivision = right.subdivision
        self.dtype = dtype
        self.device = torch.device(device)
        self._sides = {
            "right": _Side(right, dtype, self.device),
            "left": _Side(left, dtype, self.device),
        }
        r = self._sides["right"]
        self.parents = tuple(right.parents)
        self.faces = r.faces
        self.uv_faces = r.uv_faces
        self.skinning_weights = r.weights
        self.tip_vertices = r.tips
        self.vertex_uvs = torch.as_tensor(right.vertex_uvs, device=self.device).to(dtype)
        self.uv_coords = torch.as_tensor(right.uv_coords, device=self.device).to(dtype)
        self.num_vertices = right.num_vertices
        self.num_faces = int(right.faces.shape[0])
        self.joint_names = ALL_JOINT_NAMES
        self.meta = dict(right.meta)

    def __repr__(self) -> str:
        return (
            f"HandModel({self.name!r}, subdivision={self.subdivision}, V={self.num_vertices}, "
            f"F={self.num_faces}, dtype={self.dtype}, device={self.device})"
        )

    def data(self, side: str = "right") -> HandData:
        """The numpy arrays behind one side."""
        return self._side(side).data

    def _side(self, side: str) -> _Side:
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, got {side!r}")
        return self._sides[side]

    def faces_for(self, side: str) -> torch.Tensor:
        """Triangles [F, 3] with outward winding for ``side`` (the left hand is mirrored)."""
        return self._side(side).faces

    def uv_faces_for(self, side: str) -> torch.Tensor:
        """Per-corner UV indices [F, 3] matching :meth:`faces_for`."""
        return self._side(side).uv_faces

    def template(self, side: str = "right") -> torch.Tensor:
        """Rest vertices [V, 3] of the mean shape (flat hand, wrist at the origin)."""
        return self._side(side).v_template

    def _batch(self, x: torch.Tensor | None, width: int, what: str, b: int | None) -> torch.Tensor:
        if x is None:
            return torch.zeros(b or 1, width, dtype=self.dtype, device=self.device)
        x = torch.as_tensor(x, device=self.device)
        x = x.to(self.dtype) if x.dtype != self.dtype else x
        if x.dim() == 1:
            x = x.unsqueeze(0)
        if x.dim() != 2 or x.shape[1] != width:
            raise ValueError(f"{what} must be [B, {width}], got {tuple(x.shape)}")
        if b is not None and x.shape[0] != b:
            if x.shape[0] == 1:
                return x.expand(b, width)
            raise ValueError(f"{what} has batch {x.shape[0]}, pose has {b}")
        return x

    def __call__(
        self,
        pose: torch.Tensor | None = None,
        shape: torch.Tensor | None = None,
        trans: torch.Tensor | None = None,
        side: str = "right",
    ) -> HandOutput:
        s = self._side(side)
        sizes = [x.shape[0] for x in (pose, shape, trans) if x is not None and x.dim() == 2]
        b = max(sizes) if sizes else 1
        pose = self._batch(pose, NUM_POSE, "pose", b)
        shape = self._batch(shape, NUM_SHAPE, "shape", b)
        trans = self._batch(trans, 3, "trans", b)

        v = self.num_vertices
        rest = s.v_template + (shape @ s.shapedirs.T).reshape(b, v, 3)
        joints = s.j_template + (shape @ s.j_shapedirs.T).reshape(b, -1, 3)
        rot = axis_angle_to_matrix(pose.reshape(b, -1, 3))
        if s.posedirs is not None:
            eye = torch.eye(3, dtype=self.dtype, device=self.device)
            feat = (rot[:, 1:] - eye).reshape(b, -1)
            rest = rest + (feat @ s.posedirs.T).reshape(b, v, 3)
        world_rot, world_pos = forward_kinematics(rot, joints, self.parents)
        transforms = skinning_transforms(world_rot, world_pos, joints)
        transforms = torch.cat(
            [transforms[..., :3], transforms[..., 3:] + trans[:, None, :, None]], dim=-1
        )
        verts = blend(rest, s.weights, transforms)
        all_joints = torch.cat([world_pos + trans[:, None], verts[:, s.tips]], dim=1)
        return HandOutput(
            vertices=verts, joints=all_joints, rest_vertices=rest, joint_transforms=transforms
        )

    forward = __call__
