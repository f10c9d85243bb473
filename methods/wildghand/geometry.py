"""Hand geometry for the Gaussians: LBS rotations, template offsets, quaternions, Laplacian.

The hand model (``hwp_bench.hand``) gives posed vertices for MANO-convention parameters. Two
things WildGHand needs are not in its output and are derived here from the pose and the
model's skinning weights:

* the per-vertex linear-blend rotation ``A_v = sum_j w_vj G_j`` (``G_j`` the global rotation of
  joint j along MANO's kinematic tree). Head (iii) predicts offsets of the *template* vertices;
  LBS is linear in the template, so ``LBS(template + d) = LBS(template) + A_v d`` (pose
  correctives depend on the pose only), which applies the offsets without re-running LBS;
* an orthonormalised ``A_v`` as a quaternion, to carry each Gaussian's own rotation and its
  position offset p_g (head i, predicted in the hand's canonical frame) with the hand.

The left hand is the mirrored right hand with mirrored pose (docs/design.md, section
'Hand models'); mirroring
conjugates every joint rotation by M = diag(-1, 1, 1) twice, so the same formula holds in the
left hand's own coordinates (tested against the hand model's vertices).
"""

from __future__ import annotations

import torch

#: Parent of each of MANO's 16 joints (wrist, index1-3, middle1-3, pinky1-3, ring1-3, thumb1-3).
MANO_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)


def axis_angle_to_matrix(aa: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula for ``[..., 3]`` axis-angle vectors (stable at zero angle)."""
    angle2 = (aa * aa).sum(-1, keepdim=True)
    angle = torch.sqrt(angle2 + 1e-16)
    small = angle2 < 1e-8
    # sin(a)/a and (1-cos a)/a^2 with Taylor fallbacks near 0.
    s = torch.where(small, 1.0 - angle2 / 6.0, torch.sin(angle) / angle)
    c = torch.where(small, 0.5 - angle2 / 24.0, (1.0 - torch.cos(angle)) / (angle2 + 1e-16))
    x, y, z = aa.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*aa.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device).expand_as(k)
    return eye + s[..., None] * k + c[..., None] * (k @ k)


def joint_rotations(pose: torch.Tensor) -> torch.Tensor:
    """Global rotations ``G_j`` [B, 16, 3, 3] of MANO's joints for pose [B, 48]."""
    local = axis_angle_to_matrix(pose.reshape(pose.shape[0], 16, 3))
    glob = [local[:, 0]]
    for j in range(1, 16):
        glob.append(glob[MANO_PARENTS[j]] @ local[:, j])
    return torch.stack(glob, dim=1)


def vertex_rotations(pose: torch.Tensor, skinning_weights: torch.Tensor) -> torch.Tensor:
    """Linear-blend rotation ``A_v`` [B, V, 3, 3] (not exactly orthonormal between bones)."""
    g = joint_rotations(pose)
    return torch.einsum("vj,bjkl->bvkl", skinning_weights.to(g.dtype), g)


def vertex_normals(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted unit vertex normals [B, V, 3] of meshes ``verts`` [B, V, 3] with triangles
    ``faces`` [F, 3] (outward for outward winding; differentiable)."""
    f = faces.long().to(verts.device)
    v0, v1, v2 = verts[:, f[:, 0]], verts[:, f[:, 1]], verts[:, f[:, 2]]
    fn = torch.cross(v1 - v0, v2 - v0, dim=-1)  # [B, F, 3], length = 2 x area
    vn = torch.zeros_like(verts)
    for k in range(3):
        vn = vn.index_add(1, f[:, k], fn)
    return torch.nn.functional.normalize(vn, dim=-1, eps=1e-12)


def vertex_spacing(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Mean length of the edges at each vertex [V] of a mesh ``verts`` [V, 3] (metres): the
    local surface spacing the Gaussians' scales are tied to."""
    f = faces.long()
    edges = torch.cat([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]], dim=0)
    edges = torch.unique(torch.sort(edges, dim=1).values, dim=0)
    length = (verts[edges[:, 0]] - verts[edges[:, 1]]).norm(dim=-1)
    total = torch.zeros(verts.shape[0], dtype=verts.dtype).index_add(0, edges[:, 0], length)
    total = total.index_add(0, edges[:, 1], length)
    count = torch.zeros(verts.shape[0], dtype=verts.dtype).index_add(
        0, edges.reshape(-1), torch.ones(edges.numel(), dtype=verts.dtype)
    )
    return total / count.clamp(min=1)


def orthonormalize(a: torch.Tensor) -> torch.Tensor:
    """Nearest-ish rotation by Gram-Schmidt on the first two columns (cheap, differentiable)."""
    c0 = torch.nn.functional.normalize(a[..., :, 0], dim=-1)
    c1 = a[..., :, 1] - (c0 * a[..., :, 1]).sum(-1, keepdim=True) * c0
    c1 = torch.nn.functional.normalize(c1, dim=-1)
    c2 = torch.cross(c0, c1, dim=-1)
    return torch.stack([c0, c1, c2], dim=-1)


def matrix_to_quaternion(r: torch.Tensor) -> torch.Tensor:
    """Rotation matrices [..., 3, 3] to unit quaternions [..., 4] (w, x, y, z), w >= 0.

    The nine entries are taken with one ``unbind``: indexing ``r[..., i, j]`` once per use
    made autograd build a full-size zero gradient per use and add them up (measured: a tenth
    of a training step with 25,609 Gaussians per hand)."""
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = r.reshape(*r.shape[:-2], 9).unbind(-1)
    trace = m00 + m11 + m22
    cands = torch.stack(
        [
            torch.stack(
                [
                    1 + trace,
                    m21 - m12,
                    m02 - m20,
                    m10 - m01,
                ],
                -1,
            ),
            torch.stack(
                [
                    m21 - m12,
                    1 + m00 - m11 - m22,
                    m01 + m10,
                    m02 + m20,
                ],
                -1,
            ),
            torch.stack(
                [
                    m02 - m20,
                    m01 + m10,
                    1 - m00 + m11 - m22,
                    m12 + m21,
                ],
                -1,
            ),
            torch.stack(
                [
                    m10 - m01,
                    m02 + m20,
                    m12 + m21,
                    1 - m00 - m11 + m22,
                ],
                -1,
            ),
        ],
        dim=-2,
    )  # [..., 4 candidates, 4]
    diag = torch.stack([trace, m00, m11, m22], dim=-1)  # pick the best-conditioned candidate
    best = diag.argmax(dim=-1)
    q = torch.gather(cands, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = torch.nn.functional.normalize(q, dim=-1)
    return torch.where(q[..., :1] < 0, -q, q)


def quaternion_multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product of wxyz quaternions (rotation ``a`` after ``b``)."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        dim=-1,
    )


def uniform_laplacian(faces: torch.Tensor, num_vertices: int) -> torch.Tensor:
    """Sparse ``I - D^-1 Adj`` of the mesh graph [V, V] (the Laplacian regulariser's operator).

    ``(L x)_i = x_i - mean of x over i's neighbours``; the loss is ``mean ||L x||^2``, which is
    zero for any per-vertex quantity that is locally constant (smooth colours, scales, offsets).
    """
    f = faces.long()
    edges = torch.cat([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]], dim=0)
    edges = torch.cat([edges, edges.flip(1)], dim=0)
    edges = torch.unique(edges, dim=0)
    deg = torch.bincount(edges[:, 0], minlength=num_vertices).clamp(min=1).to(torch.float32)
    vals = -1.0 / deg[edges[:, 0]]
    idx = torch.arange(num_vertices)
    rows = torch.cat([edges[:, 0], idx])
    cols = torch.cat([edges[:, 1], idx])
    data = torch.cat([vals, torch.ones(num_vertices)])
    return torch.sparse_coo_tensor(
        torch.stack([rows, cols]), data, (num_vertices, num_vertices), check_invariants=True
    ).coalesce()


class NeighbourLaplacian:
    """The same operator as :func:`uniform_laplacian`, applied by gathering each vertex's
    neighbours from a padded table [V, K] instead of a sparse matrix product: the sparse
    product's backward on a CPU costs several times more (measured: a tenth of a quick-preset
    training step at one subdivision level). Tested equal to the sparse operator."""

    def __init__(self, faces: torch.Tensor, num_vertices: int) -> None:
        f = faces.long().cpu()
        edges = torch.cat([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]], dim=0)
        edges = torch.unique(torch.cat([edges, edges.flip(1)], dim=0), dim=0)  # sorted by row
        deg = torch.bincount(edges[:, 0], minlength=num_vertices)
        k = int(deg.max()) if len(edges) else 1
        start = torch.cumsum(deg, 0) - deg
        slot = torch.arange(len(edges)) - start[edges[:, 0]]
        self.index = torch.zeros(num_vertices, k, dtype=torch.long)
        self.weight = torch.zeros(num_vertices, k)
        self.index[edges[:, 0], slot] = edges[:, 1]
        self.weight[edges[:, 0], slot] = 1.0 / deg[edges[:, 0]].clamp(min=1).float()

    def to(self, device) -> NeighbourLaplacian:
        self.index = self.index.to(device)
        self.weight = self.weight.to(device)
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``L x`` for ``x`` [V, C]."""
        # index_select, not x[self.index]: the same gather, but its backward is an index_add
        # where advanced indexing's is an accumulating index_put (measured 5x slower on a CPU)
        gathered = x.index_select(0, self.index.reshape(-1)).reshape(
            *self.index.shape, *x.shape[1:]
        )
        return x - (gathered * self.weight[..., None].to(x.dtype)).sum(1)


def laplacian_loss(lap, x: torch.Tensor) -> torch.Tensor:
    """``mean ||L x||^2`` for per-vertex values ``x`` [V, C] or [B, V, C]; ``lap`` a sparse
    :func:`uniform_laplacian` (the reference) or a :class:`NeighbourLaplacian`."""

    def apply(v: torch.Tensor) -> torch.Tensor:
        return lap(v) if isinstance(lap, NeighbourLaplacian) else torch.sparse.mm(lap, v)

    if x.dim() == 2:
        return apply(x).pow(2).sum(-1).mean()
    return torch.stack([apply(xi).pow(2).sum(-1).mean() for xi in x]).mean()
