"""The arrays that define one hand model, independent of torch, dtype and device.

Every model (open, MANO, their subdivisions, the mirrored left hands) is a :class:`HandData`:
plain float64/int64 numpy arrays in the MANO convention, so loading, mirroring and subdividing
are simple array functions and the torch model is built from it once per dtype and device.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hwp_bench.hand.constants import NUM_JOINTS, NUM_SHAPE, PARENTS


@dataclass(frozen=True)
class HandData:
    """One hand side of one model (right unless ``side`` says otherwise).

    Shapes: ``v_template`` [V, 3] metres, rest pose (MANO's flat hand), wrist joint at the
    origin; ``shapedirs`` [V, 3, 10]; ``posedirs`` [V, 3, 135] pose correctives or None;
    ``j_template`` [16, 3] and ``j_shapedirs`` [16, 3, 10] (joints are linear in shape);
    ``weights`` [V, 16] rows summing to 1; ``faces`` [F, 3] outward winding; ``tip_vertices``
    [5] (thumb, index, middle, ring, pinky); ``uv_coords`` [U, 2] and ``uv_faces`` [F, 3]
    per-corner UVs; ``vertex_uvs`` [V, 2] one UV per vertex (seam vertices take one side).
    UVs are in [0, 1] with v pointing up (OBJ convention): flip v to index an image by row.
    """

    name: str
    side: str
    v_template: np.ndarray
    shapedirs: np.ndarray
    j_template: np.ndarray
    j_shapedirs: np.ndarray
    weights: np.ndarray
    faces: np.ndarray
    tip_vertices: np.ndarray
    uv_coords: np.ndarray
    uv_faces: np.ndarray
    vertex_uvs: np.ndarray
    posedirs: np.ndarray | None = None
    parents: tuple[int, ...] = PARENTS
    subdivision: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        v = self.v_template.shape[0]
        checks = {
            "v_template": (self.v_template.shape, (v, 3)),
            "shapedirs": (self.shapedirs.shape, (v, 3, NUM_SHAPE)),
            "j_template": (self.j_template.shape, (NUM_JOINTS, 3)),
            "j_shapedirs": (self.j_shapedirs.shape, (NUM_JOINTS, 3, NUM_SHAPE)),
            "weights": (self.weights.shape, (v, NUM_JOINTS)),
            "vertex_uvs": (self.vertex_uvs.shape, (v, 2)),
            "uv_faces": (self.uv_faces.shape, self.faces.shape),
        }
        for key, (got, want) in checks.items():
            if tuple(got) != tuple(want):
                raise ValueError(f"{self.name}: {key} has shape {tuple(got)}, expected {want}")
        if self.posedirs is not None and self.posedirs.shape[:2] != (v, 3):
            raise ValueError(f"{self.name}: posedirs has shape {self.posedirs.shape}")
        if self.faces.max() >= v or self.faces.min() < 0:
            raise ValueError(f"{self.name}: faces index outside the {v} vertices")

    @property
    def num_vertices(self) -> int:
        return int(self.v_template.shape[0])

    def replace(self, **changes: Any) -> HandData:
        return dataclasses.replace(self, **changes)

    def mirrored(self) -> HandData:
        """The mirror image through the x = 0 plane (right <-> left).

        Positions, shape directions and joints have x negated; winding is reversed (a mirror
        flips orientation) so normals stay outward. Pose correctives cannot be mirrored by
        negating x alone, so a model with ``posedirs`` must ship its own left hand.
        """
        if self.posedirs is not None:
            raise ValueError(f"{self.name}: a model with pose correctives cannot be mirrored")
        flip = np.array([-1.0, 1.0, 1.0])
        return self.replace(
            side="left" if self.side == "right" else "right",
            v_template=self.v_template * flip,
            shapedirs=self.shapedirs * flip[:, None],
            j_template=self.j_template * flip,
            j_shapedirs=self.j_shapedirs * flip[:, None],
            faces=self.faces[:, [0, 2, 1]].copy(),
            uv_faces=self.uv_faces[:, [0, 2, 1]].copy(),
        )
