"""The mesh rasterizer and shader against slow, obviously correct references."""

from __future__ import annotations

import numpy as np

from hwp_bench.synth import primitives as P
from hwp_bench.synth.raster import rasterize, rasterize_ortho, rasterize_reference
from hwp_bench.synth.shading import Light, Mesh, render, render_reference, sample_bilinear


def _random_scene(seed: int):
    rng = np.random.default_rng(seed)
    V = rng.normal(size=(90, 3)) * 0.25 + np.array([0.0, 0.0, 2.0])
    F = rng.integers(0, 90, size=(60, 3))
    F = F[(F[:, 0] != F[:, 1]) & (F[:, 1] != F[:, 2]) & (F[:, 0] != F[:, 2])]
    K = np.array([[40.0, 0, 16], [0, 40.0, 16], [0, 0, 1]])
    return V, F, K


def test_kernel_matches_ray_casting_reference():
    for seed in range(3):
        V, F, K = _random_scene(seed)
        fid, bary, depth = rasterize(V, F, K, 32, 32)
        rfid, rbary, rdepth = rasterize_reference(V, F, K, 32, 32)
        assert (fid >= 0).sum() > 200  # the scene covers a good part of the image
        agree = fid == rfid
        assert agree.mean() > 0.995  # only exact depth ties may differ
        hit = agree & (fid >= 0)
        np.testing.assert_allclose(bary[hit], rbary[hit], atol=1e-9)
        np.testing.assert_allclose(depth[hit], rdepth[hit], rtol=1e-9)


def test_perspective_correct_barycentrics_interpolate_3d_points():
    # A slanted quad: screen-space (affine) barycentrics would be wrong; perspective-correct
    # ones reproduce the 3D point on the camera ray exactly.
    V = np.array([[-0.5, -0.5, 1.0], [0.5, -0.5, 1.0], [0.5, 0.5, 3.0], [-0.5, 0.5, 3.0]])
    F = np.array([[0, 1, 2], [0, 2, 3]])
    K = np.array([[30.0, 0, 16], [0, 30.0, 16], [0, 0, 1]])
    fid, bary, depth = rasterize(V, F, K, 32, 32)
    ii, jj = np.nonzero(fid >= 0)
    p = (V[F[fid[ii, jj]]] * bary[ii, jj][:, :, None]).sum(1)
    u = K[0, 0] * p[:, 0] / p[:, 2] + K[0, 2]
    v = K[1, 1] * p[:, 1] / p[:, 2] + K[1, 2]
    np.testing.assert_allclose(u, jj + 0.5, atol=1e-9)
    np.testing.assert_allclose(v, ii + 0.5, atol=1e-9)
    np.testing.assert_allclose(depth[ii, jj], p[:, 2], atol=1e-9)


def test_ortho_rasterizer_covers_exact_area():
    # A 10x6 rectangle aligned to pixel edges covers exactly 60 pixel centres.
    xy = np.array([[3.0, 4.0], [13.0, 4.0], [13.0, 10.0], [3.0, 10.0]])
    fid, _, _ = rasterize_ortho(xy, np.zeros(4), np.array([[0, 1, 2], [0, 2, 3]]), 20, 20)
    assert (fid >= 0).sum() == 60


def test_bilinear_sampling_at_texel_centres_and_between():
    tex = np.arange(2 * 3 * 3, dtype=np.float64).reshape(2, 3, 3)
    uv = np.array([[0.5 / 3, 0.5 / 2], [1.0 / 3, 0.5 / 2]])  # texel centre, halfway to next
    out = sample_bilinear(tex, uv)
    np.testing.assert_allclose(out[0], tex[0, 0])
    np.testing.assert_allclose(out[1], (tex[0, 0] + tex[0, 1]) / 2)


def _scene():
    rng = np.random.default_rng(1)
    tex = rng.uniform(0, 1, (16, 16, 3))
    box = P.box(0.3, 0.3, 0.3).transformed(P.rotation([1, 1, 0], 0.6), np.array([0, 0, 2.0]))
    cyl = P.cylinder(0.08, 0.5, 10).transformed(
        P.rotation([0, 1, 0], 1.2), np.array([0.05, 0.1, 1.6])
    )
    back = P.plane(3, 3).transformed(np.eye(3), np.array([0, 0, 2.6]))
    meshes = [
        Mesh(box.verts, box.faces, box.corner_uv, box.corner_normals, tex, "hand_right",
             wrap=0.3, specular=0.2, shininess=12.0),
        Mesh(cyl.verts, cyl.faces, cyl.corner_uv, cyl.corner_normals, tex[::-1], "object"),
        Mesh(back.verts, back.faces, back.corner_uv, back.corner_normals, tex[:, ::-1],
             "background", casts_shadow=False),
    ]  # fmt: skip
    light = Light(np.array([0.4, 0.5, 1.0]), np.array([0.9, 0.8, 0.7]), np.array([0.3, 0.3, 0.35]))
    K = np.array([[30.0, 0, 12], [0, 30.0, 12], [0, 0, 1]])
    return meshes, K, light


def test_numba_shading_matches_numpy_reference():
    meshes, K, light = _scene()
    a = render(meshes, K, 24, 24, light, ss=2, shadow_res=64)
    b = render_reference(meshes, K, 24, 24, light, ss=2, shadow_res=64)
    np.testing.assert_allclose(a["color"], b["color"], atol=1e-9)
    for kind in ("background", "hand_right", "object"):
        np.testing.assert_array_equal(a[kind], b[kind])
    # The shadow map does something: the cylinder shadows part of the box or backdrop.
    no_shadow = render(meshes, K, 24, 24, Light(light.direction, light.color, light.ambient, False))
    assert (no_shadow["color"] - a["color"]).max() > 0.05
    assert (a["color"] - no_shadow["color"]).max() <= 1e-12  # shadows only darken
