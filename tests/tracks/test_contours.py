"""The aligner's geometry: mask contours, mesh contour edges, nearest segments."""

from __future__ import annotations

import numpy as np

from hwp_bench.tracks.contours import (
    contour_edges,
    mask_contours,
    mesh_edges,
    nearest_on_segments,
)


def _disc_coverage(cx: float, cy: float, r: float, size: int = 40, ss: int = 16) -> np.ndarray:
    """Area coverage of a disc, by brute-force supersampling (the slow, obvious reference)."""
    g = (np.arange(size * ss) + 0.5) / ss
    xx, yy = np.meshgrid(g, g)
    inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    return inside.reshape(size, ss, size, ss).mean(axis=(1, 3))


def test_the_half_level_contour_of_an_antialiased_disc_is_the_circle_within_a_tenth_of_a_pixel():
    cx, cy, r = 19.3, 20.6, 9.4
    c = mask_contours(_disc_coverage(cx, cy, r))
    assert len(c.lines) == 1
    dist = np.hypot(c.points[:, 0] - cx, c.points[:, 1] - cy)
    assert np.abs(dist - r).max() < 0.1
    # normals are unit and perpendicular to the segments
    d = c.b - c.a
    n = c.normals()
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-12)
    assert np.abs((n * d).sum(1)).max() < 1e-9


def test_a_binary_mask_contour_runs_half_way_between_inside_and_outside_pixels():
    m = np.zeros((10, 10))
    m[3:7, 2:8] = 1.0  # pixels x 2..7, y 3..6: the edge between pixel centres is at x=2, 8
    c = mask_contours(m)
    xs, ys = c.points[:, 0], c.points[:, 1]
    assert xs.min() == 2.0 and xs.max() == 8.0 and ys.min() == 3.0 and ys.max() == 7.0


def test_a_mask_cut_by_the_image_border_still_has_a_closed_contour():
    m = np.zeros((8, 8))
    m[:, :3] = 1.0
    (line,) = mask_contours(m).lines
    np.testing.assert_allclose(line[0], line[-1])


def test_contour_edges_of_a_flat_quad_are_its_border_not_its_diagonal():
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    # screen-space area negative = front-facing (the rasterizer's convention)
    faces = np.array([[0, 2, 1], [0, 3, 2]])
    area = lambda f: (  # noqa: E731
        (xy[f[1], 0] - xy[f[0], 0]) * (xy[f[2], 1] - xy[f[0], 1])
        - (xy[f[1], 1] - xy[f[0], 1]) * (xy[f[2], 0] - xy[f[0], 0])
    )
    assert all(area(f) < 0 for f in faces)
    edges = {tuple(sorted(e)) for e in contour_edges(xy, faces).tolist()}
    assert edges == {(0, 1), (1, 2), (2, 3), (0, 3)}
    # seen from behind nothing faces the camera: no contour at all
    assert len(contour_edges(xy, faces[:, ::-1])) == 0


def test_contour_edges_of_a_closed_box_are_where_front_meets_back():
    # a unit cube seen along z (orthographic image coordinates = x, y): its outline is the
    # square's border; the 4 side faces are edge-on and count as back-facing (area 0).
    v = np.array([[x, y, z] for z in (0, 1) for y in (0, 1) for x in (0, 1)], float)
    quads = [
        (0, 2, 3, 1),  # z=0 face, winding seen from -z
        (4, 5, 7, 6),  # z=1
        (0, 1, 5, 4),
        (2, 6, 7, 3),
        (0, 4, 6, 2),
        (1, 3, 7, 5),
    ]
    faces = np.array([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))])
    edges, adj = mesh_edges(faces)
    assert len(edges) == 18 and (adj >= 0).all()  # closed: every edge has two faces
    got = {tuple(sorted(e)) for e in contour_edges(v[:, :2] * 10, faces).tolist()}
    # exactly one of the two square faces is front-facing: the outline is its 4 border edges
    assert got in ({(0, 1), (1, 3), (2, 3), (0, 2)}, {(4, 5), (5, 7), (6, 7), (4, 6)})


def test_nearest_on_segments_matches_a_brute_force_reference():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 20, (37, 2))
    b = a + rng.normal(0, 3, (37, 2))
    p = rng.uniform(-2, 22, (600, 2))
    k, t, d = nearest_on_segments(p, a, b, chunk=64)
    for i in range(0, 600, 7):  # slow and obvious: sample each segment densely
        s = np.linspace(0, 1, 4001)[:, None, None]
        q = a[None] + s * (b - a)[None]
        dd = np.linalg.norm(q - p[i], axis=-1)
        assert abs(dd.min() - d[i]) < 1e-3
        q_got = a[k[i]] + t[i] * (b[k[i]] - a[k[i]])
        assert abs(np.linalg.norm(q_got - p[i]) - d[i]) < 1e-9


def test_contour_normals_of_different_masks_agree_on_the_same_side_of_a_hand():
    """Two bars (two fingers): on every contour the normal points the same way relative to
    the mask (into it), so the right side of one finger and the left side of the next face
    each other, and a mask and a shifted copy of it agree side by side."""
    m = np.zeros((30, 30))
    m[5:25, 4:10] = 1.0
    m[5:25, 14:20] = 1.0
    c = mask_contours(m)
    n, mid = c.normals(), (c.a + c.b) / 2
    vertical = np.abs(n[:, 0]) > 0.99
    for x_edge, into in ((4.0, +1), (10.0, -1), (14.0, +1), (20.0, -1)):  # pixel edges
        sel = vertical & (np.abs(mid[:, 0] - x_edge) < 0.3) & (mid[:, 1] > 8) & (mid[:, 1] < 22)
        assert sel.sum() >= 10
        assert np.all(np.sign(n[sel, 0]) == into), x_edge
    shifted = mask_contours(np.roll(m, 2, axis=1))
    sn, smid = shifted.normals(), (shifted.a + shifted.b) / 2
    left = (np.abs(smid[:, 0] - 6.0) < 0.3) & (np.abs(sn[:, 0]) > 0.99)
    assert np.all(sn[left, 0] > 0)


def test_nearest_on_segments_with_normals_skips_segments_that_face_the_other_way():
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 20, (41, 2))
    b = a + rng.normal(0, 3, (41, 2))
    d = b - a
    seg_n = np.stack([-d[:, 1], d[:, 0]], 1) / np.linalg.norm(d, axis=1, keepdims=True)
    p = rng.uniform(-2, 22, (300, 2))
    ang = rng.uniform(0, 2 * np.pi, 300)
    p_n = np.stack([np.cos(ang), np.sin(ang)], 1)
    k, t, dist = nearest_on_segments(p, a, b, chunk=50, point_normals=p_n, segment_normals=seg_n,
                                     min_cos=0.2)  # fmt: skip
    for i in range(300):  # the plain search over the agreeing segments only
        ok = np.nonzero(p_n[i] @ seg_n.T >= 0.2)[0]
        if len(ok) == 0:
            assert np.isinf(dist[i])
            continue
        k1, _, d1 = nearest_on_segments(p[i : i + 1], a[ok], b[ok])
        assert k[i] == ok[k1[0]] and abs(dist[i] - d1[0]) < 1e-12
    # A point beside a segment that faces the other way goes to the farther agreeing one.
    a2 = np.array([[0.0, 0.0], [0.0, 5.0]])
    b2 = np.array([[0.0, 10.0], [5.0, 5.0]])
    n2 = np.array([[-1.0, 0.0], [0.0, 1.0]])
    k, _, dist = nearest_on_segments(np.array([[0.5, 3.0]]), a2, b2, point_normals=np.array(
        [[0.0, 1.0]]), segment_normals=n2, min_cos=0.5)  # fmt: skip
    assert k[0] == 1 and abs(dist[0] - 2.0) < 1e-12  # (0.5, 5), not (0, 3) at 0.5
