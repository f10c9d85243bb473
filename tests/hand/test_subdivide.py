"""Subdivision: counts (MANO's and the open hand's), weights, UVs, surface, caching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwp_bench.hand import hand_data, load_hand_model
from hwp_bench.hand.subdivide import edge_table, subdivide_hand, subdivision_matrix


def mano_like_mesh() -> tuple[np.ndarray, np.ndarray]:
    """A disk-topology mesh with MANO's counts: 778 vertices, 1,538 faces, 16 on the boundary.

    A 16-sided tube of 48 rings closed by a fan (769 vertices, 1,520 faces), then 9 faces
    split in three by an inner vertex (+1 vertex, +2 faces each).
    """
    n, rings = 16, 48
    ang = 2 * np.pi * np.arange(n) / n
    verts = [[x, np.cos(a), np.sin(a)] for x in range(rings) for a in ang]
    faces = []
    for r in range(rings - 1):
        for i in range(n):
            a, b = r * n + i, r * n + (i + 1) % n
            c, d = a + n, b + n
            faces += [[a, b, d], [a, d, c]]
    apex = len(verts)
    verts.append([rings, 0.0, 0.0])
    last = (rings - 1) * n
    faces += [[last + i, last + (i + 1) % n, apex] for i in range(n)]
    for k in range(9):
        a, b, c = faces.pop(10 * k)
        m = len(verts)
        verts.append(list(np.mean([verts[a], verts[b], verts[c]], axis=0)))
        faces += [[a, b, m], [b, c, m], [c, a, m]]
    return np.asarray(verts, dtype=np.float64), np.asarray(faces, dtype=np.int64)


def test_mano_counts():
    verts, faces = mano_like_mesh()
    assert (len(verts), len(faces)) == (778, 1538)
    counts = [len(verts)]
    v, f = len(verts), faces
    for _ in range(3):
        s, f = subdivision_matrix(f, v)
        v = s.shape[0]
        counts.append(v)
    assert counts == [778, 3093, 12337, 49281]


def test_open_hand_counts_follow_euler():
    right, _ = hand_data("open", 0)
    v, f = right.num_vertices, right.faces.shape[0]
    e = len(edge_table(right.faces)[0])
    assert (v, e, f) == (1609, 4804, 3196) and v - e + f == 1  # a disk (open at the wrist)
    expected = [v]
    for _ in range(3):
        v, e, f = v + e, 2 * e + 3 * f, 4 * f
        expected.append(v)
    got = [hand_data("open", k)[0].num_vertices for k in range(4)]
    assert got == expected == [1609, 6413, 25609, 102353]


@pytest.mark.parametrize("scheme", ["midpoint", "loop"])
def test_weights_uvs_and_winding(scheme):
    base, _ = hand_data("open", 0)
    sub = subdivide_hand(subdivide_hand(base, scheme), scheme)
    np.testing.assert_allclose(sub.weights.sum(1), 1.0, atol=1e-12)
    assert sub.weights.min() >= 0.0 and sub.weights.max() <= 1.0 + 1e-12
    assert sub.uv_coords.min() >= 0.0 and sub.uv_coords.max() <= 1.0
    assert sub.vertex_uvs.min() >= 0.0 and sub.vertex_uvs.max() <= 1.0
    # old vertices keep their index; tips still the same points for midpoint
    assert np.array_equal(sub.tip_vertices, base.tip_vertices)
    # every face keeps the orientation of the face it came from (outward normals agree)
    parent = np.repeat(np.arange(len(base.faces)), 16)
    n0 = _normals(base.v_template, base.faces)[parent]
    n2 = _normals(sub.v_template, sub.faces)
    assert np.mean(np.sum(n0 * n2, axis=1) > 0) > (0.999 if scheme == "midpoint" else 0.95)
    # per-corner UVs of a child corner are averages of the parent face's corner UVs
    uv_par = base.uv_coords[base.uv_faces][parent].mean(1)
    uv_sub = sub.uv_coords[sub.uv_faces].mean(1)
    assert np.abs(uv_sub - uv_par).max() < 0.05


def _normals(v, f):
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def test_midpoint_keeps_surface_and_pose():
    coarse = load_hand_model("open", 0, dtype=torch.float64)
    fine = load_hand_model("open", 2, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    pose = 0.4 * torch.randn(2, 48, generator=g, dtype=torch.float64)
    shape = torch.randn(2, 10, generator=g, dtype=torch.float64)
    a = coarse(pose, shape).vertices
    b = fine(pose, shape).vertices
    torch.testing.assert_close(b[:, : coarse.num_vertices], a)  # old vertices unchanged
    torch.testing.assert_close(fine(pose, shape).joints, coarse(pose, shape).joints)
    # new vertices of level 1 lie at edge midpoints at rest
    edges = edge_table(coarse.data().faces)[0]
    rest_c = coarse.template().numpy()
    rest_f = load_hand_model("open", 1, dtype=torch.float64).template().numpy()
    np.testing.assert_allclose(rest_f[1609:], rest_c[edges].mean(1), atol=1e-12)


def test_cached():
    a = load_hand_model("open", 1)
    assert a is load_hand_model("open", 1)
    assert a is not load_hand_model("open", 1, scheme="loop")
    assert hand_data("open", 2)[0] is hand_data("open", 2)[0]
