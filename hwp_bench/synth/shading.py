"""Shading of rasterized meshes: textures, smooth normals, Lambert + ambient, shadow map.

A scene is a list of :class:`Mesh` in camera space. :func:`render` rasterizes all of them
together at ``ss`` times the output resolution, shades every covered sub-pixel (bilinear albedo
lookup at perspective-correct UVs, interpolated per-corner normals, a directional light with a
hard shadow from an orthographic shadow map, ambient term) in linear RGB, and box-filters down.
It also returns per-kind coverage (hand right/left, object, background) at output resolution,
which is where the dataset's exact masks come from: the masks and the pixels are produced by
the same visibility pass, so they agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from hwp_bench.synth.raster import project, rasterize, rasterize_ortho

KINDS = ("background", "hand_right", "hand_left", "object", "arm")


@dataclass
class Mesh:
    """A textured triangle mesh in camera space.

    ``corner_uv [F,3,2]`` and ``corner_normals [F,3,3]`` are per triangle corner (seams and
    hard edges are exact); ``texture [T,T',3]`` is linear-RGB albedo with ``uv=(0,0)`` at the
    top-left texel's corner and v growing downwards.
    """

    verts: np.ndarray
    faces: np.ndarray
    corner_uv: np.ndarray
    corner_normals: np.ndarray
    texture: np.ndarray
    kind: str = "object"
    double_sided: bool = False
    casts_shadow: bool = True
    depth_bias: float = 0.0  # added to this mesh's depth in the z-test only
    cull_back: bool = False  # drop back faces (open meshes: never show their inside)
    wrap: float = 0.0  # wrap lighting (0 = Lambert): light bleeds past the terminator (skin)
    specular: float = 0.0  # Blinn-Phong highlight strength (sheen of skin, plastic, glass)
    shininess: float = 20.0
    extra: dict = field(default_factory=dict)


@dataclass
class Light:
    """Directional light (``direction``: where the light travels, camera space) + ambient."""

    direction: np.ndarray
    color: np.ndarray  # linear RGB intensity of the direct term
    ambient: np.ndarray  # linear RGB intensity of the ambient term
    shadows: bool = True
    # Share of the direct light a shadow blocks: below 1, bounce light and skin's subsurface
    # scattering keep shadows from going black; the illumination perturbation raises it.
    shadow_strength: float = 0.6


def vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted smooth vertex normals (outward for outward winding)."""
    v = verts[faces]
    fn = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    n = np.zeros_like(verts, dtype=np.float64)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-20)


def sample_bilinear(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear texture lookup at ``uv [N,2]`` in [0,1] (clamped at the borders)."""
    th, tw = texture.shape[:2]
    x = np.clip(uv[:, 0] * tw - 0.5, 0.0, tw - 1.0)
    y = np.clip(uv[:, 1] * th - 0.5, 0.0, th - 1.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), tw - 2 if tw > 1 else 0)
    y0 = np.minimum(np.floor(y).astype(np.int64), th - 2 if th > 1 else 0)
    x1 = np.minimum(x0 + 1, tw - 1)
    y1 = np.minimum(y0 + 1, th - 1)
    fx = (x - x0)[:, None]
    fy = (y - y0)[:, None]
    top = texture[y0, x0] * (1 - fx) + texture[y0, x1] * fx
    bot = texture[y1, x0] * (1 - fx) + texture[y1, x1] * fx
    return top * (1 - fy) + bot * fy


def _light_basis(direction: np.ndarray) -> np.ndarray:
    d = direction / np.linalg.norm(direction)
    up = np.array([0.0, 1.0, 0.0]) if abs(d[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(up, d)
    u /= np.linalg.norm(u)
    w = np.cross(d, u)
    return np.stack([u, w, d])  # rows: light-space x, y, depth


class ShadowMap:
    """Orthographic depth map of the shadow casters as seen from a directional light."""

    def __init__(self, casters: list[Mesh], direction: np.ndarray, resolution: int = 256):
        self.basis = _light_basis(np.asarray(direction, dtype=np.float64))
        verts = np.concatenate([m.verts for m in casters])
        offs = np.cumsum([0] + [len(m.verts) for m in casters])
        faces = np.concatenate([m.faces + o for m, o in zip(casters, offs, strict=False)])
        ls = verts @ self.basis.T
        lo = ls[:, :2].min(0)
        hi = ls[:, :2].max(0)
        pad = 0.02 * (hi - lo).max() + 1e-6
        self.lo = lo - pad
        self.scale = (resolution) / ((hi - lo).max() + 2 * pad)
        self.res = resolution
        xy = (ls[:, :2] - self.lo) * self.scale
        _, _, self.depth = rasterize_ortho(xy, ls[:, 2], faces, resolution, resolution)
        self.texel = 1.0 / self.scale

    def lit(self, points: np.ndarray, normals: np.ndarray) -> np.ndarray:
        """Share of a 3x3 neighbourhood of shadow-map texels (percentage-closer filtering)
        that ``points`` are in front of: 1 lit, 0 fully in a caster's shadow."""
        ls = points @ self.basis.T
        xy = (ls[:, :2] - self.lo) * self.scale
        j0 = np.floor(xy[:, 0]).astype(np.int64)
        i0 = np.floor(xy[:, 1]).astype(np.int64)
        # Slope-scaled bias: grazing surfaces need more to avoid self-shadow acne.
        cosl = np.abs(normals @ self.basis[2])
        bias = self.texel * (
            1.5 + 2.0 * np.sqrt(np.maximum(1 - cosl**2, 0)) / np.maximum(cosl, 0.2)
        )
        total = np.zeros(len(points))
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                i, j = i0 + di, j0 + dj
                inside = (j >= 0) & (j < self.res) & (i >= 0) & (i < self.res)
                occ = np.full(len(points), np.inf)
                occ[inside] = self.depth[i[inside], j[inside]]
                total += ls[:, 2] <= occ + bias
        return total / 9.0


@numba.njit(cache=True, nogil=True)
def _shade_kernel(
    face_id, bary, faces, verts, corner_uv, corner_normals, face_mesh, tex_flat, tex_off,
    tex_h, tex_w, double_sided, kind_of_mesh, wrap, spec, shin, light_dir, light_col, ambient,
    use_shadow, sm_basis, sm_lo, sm_scale, sm_depth, sm_texel, sm_strength, color, kind_map,
):  # fmt: skip
    """Per covered pixel: interpolate UV, normal and position with the perspective-correct
    barycentrics, bilinear albedo lookup, (wrapped) Lambert + ambient + Blinn-Phong highlight,
    shadow-map test."""
    H, W = face_id.shape
    res = sm_depth.shape[0]
    for i in range(H):
        for j in range(W):
            f = face_id[i, j]
            if f < 0:
                continue
            m = face_mesh[f]
            kind_map[i, j] = kind_of_mesh[m]
            b0 = bary[i, j, 0]
            b1 = bary[i, j, 1]
            b2 = bary[i, j, 2]
            u = b0 * corner_uv[f, 0, 0] + b1 * corner_uv[f, 1, 0] + b2 * corner_uv[f, 2, 0]
            v = b0 * corner_uv[f, 0, 1] + b1 * corner_uv[f, 1, 1] + b2 * corner_uv[f, 2, 1]
            n0 = (
                b0 * corner_normals[f, 0, 0]
                + b1 * corner_normals[f, 1, 0]
                + b2 * corner_normals[f, 2, 0]
            )
            n1 = (
                b0 * corner_normals[f, 0, 1]
                + b1 * corner_normals[f, 1, 1]
                + b2 * corner_normals[f, 2, 1]
            )
            n2 = (
                b0 * corner_normals[f, 0, 2]
                + b1 * corner_normals[f, 1, 2]
                + b2 * corner_normals[f, 2, 2]
            )
            nn = np.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
            if nn > 1e-20:
                n0 /= nn
                n1 /= nn
                n2 /= nn
            a = faces[f, 0]
            bb = faces[f, 1]
            c = faces[f, 2]
            p0 = b0 * verts[a, 0] + b1 * verts[bb, 0] + b2 * verts[c, 0]
            p1 = b0 * verts[a, 1] + b1 * verts[bb, 1] + b2 * verts[c, 1]
            p2 = b0 * verts[a, 2] + b1 * verts[bb, 2] + b2 * verts[c, 2]
            if double_sided[m] and (n0 * p0 + n1 * p1 + n2 * p2) > 0:
                n0 = -n0
                n1 = -n1
                n2 = -n2
            # Bilinear texture lookup (texel centres at (k + 0.5) / size, clamped).
            th = tex_h[m]
            tw = tex_w[m]
            off = tex_off[m]
            x = min(max(u * tw - 0.5, 0.0), tw - 1.0)
            y = min(max(v * th - 0.5, 0.0), th - 1.0)
            x0 = min(int(np.floor(x)), max(tw - 2, 0))
            y0 = min(int(np.floor(y)), max(th - 2, 0))
            x1 = min(x0 + 1, tw - 1)
            y1 = min(y0 + 1, th - 1)
            fx = x - x0
            fy = y - y0
            cosl = -(n0 * light_dir[0] + n1 * light_dir[1] + n2 * light_dir[2])
            ndl = (cosl + wrap[m]) / (1.0 + wrap[m])
            if ndl < 0.0:
                ndl = 0.0
            hl = 0.0
            if spec[m] > 0.0 and cosl > 0.0:
                pn = np.sqrt(p0 * p0 + p1 * p1 + p2 * p2)
                h0 = -light_dir[0] - p0 / pn
                h1 = -light_dir[1] - p1 / pn
                h2 = -light_dir[2] - p2 / pn
                hn = np.sqrt(h0 * h0 + h1 * h1 + h2 * h2)
                ndh = (n0 * h0 + n1 * h1 + n2 * h2) / max(hn, 1e-20)
                if ndh > 0.0:
                    hl = spec[m] * ndh ** shin[m]
            if use_shadow and ndl > 0.0:
                lx = p0 * sm_basis[0, 0] + p1 * sm_basis[0, 1] + p2 * sm_basis[0, 2]
                ly = p0 * sm_basis[1, 0] + p1 * sm_basis[1, 1] + p2 * sm_basis[1, 2]
                lz = p0 * sm_basis[2, 0] + p1 * sm_basis[2, 1] + p2 * sm_basis[2, 2]
                sj = int(np.floor((lx - sm_lo[0]) * sm_scale))
                si = int(np.floor((ly - sm_lo[1]) * sm_scale))
                cl = abs(n0 * sm_basis[2, 0] + n1 * sm_basis[2, 1] + n2 * sm_basis[2, 2])
                sinl = np.sqrt(max(1.0 - cl * cl, 0.0))
                bias = sm_texel * (1.5 + 2.0 * sinl / max(cl, 0.2))
                lit = 0.0
                for di in range(-1, 2):
                    for dj in range(-1, 2):
                        ti = si + di
                        tj = sj + dj
                        if 0 <= ti < res and 0 <= tj < res:
                            if lz <= sm_depth[ti, tj] + bias:
                                lit += 1.0
                        else:
                            lit += 1.0
                lit = lit / 9.0
                ndl = ndl * (1.0 - sm_strength * (1.0 - lit))
                hl = hl * lit
            for ch in range(3):
                t00 = tex_flat[off + (y0 * tw + x0) * 3 + ch]
                t01 = tex_flat[off + (y0 * tw + x1) * 3 + ch]
                t10 = tex_flat[off + (y1 * tw + x0) * 3 + ch]
                t11 = tex_flat[off + (y1 * tw + x1) * 3 + ch]
                alb = (t00 * (1 - fx) + t01 * fx) * (1 - fy) + (t10 * (1 - fx) + t11 * fx) * fy
                color[i, j, ch] = alb * (ambient[ch] + ndl * light_col[ch]) + hl * light_col[ch]


def _concat(meshes: list[Mesh]):
    verts = np.concatenate([m.verts for m in meshes]).astype(np.float64)
    nverts = np.cumsum([0] + [len(m.verts) for m in meshes])
    nfaces = np.cumsum([0] + [len(m.faces) for m in meshes])
    faces = np.concatenate([m.faces + o for m, o in zip(meshes, nverts, strict=False)])
    return verts, faces.astype(np.int64), nfaces


def render(
    meshes: list[Mesh],
    K: np.ndarray,
    width: int,
    height: int,
    light: Light,
    *,
    ss: int = 2,
    shadow_res: int = 256,
) -> dict[str, np.ndarray]:
    """Render ``meshes`` to linear RGB ``color [H,W,3]`` and coverage ``[H,W]`` per kind.

    ``ss`` is the supersampling factor per axis (antialiasing). Pixels no mesh covers are 0
    (scenes always include a background mesh).
    """
    K = np.asarray(K, dtype=np.float64)
    Ks = K.copy()
    Ks[:2] *= ss
    W, H = width * ss, height * ss
    verts, faces, nfaces = _concat(meshes)
    bias = np.repeat([m.depth_bias for m in meshes], np.diff(nfaces)).astype(np.float64)
    cull = np.repeat([m.cull_back for m in meshes], np.diff(nfaces)).astype(np.bool_)
    face_id, bary, _ = rasterize(verts, faces, Ks, W, H, bias, cull)

    light_dir = np.asarray(light.direction, dtype=np.float64)
    light_dir = light_dir / np.linalg.norm(light_dir)
    casters = [m for m in meshes if m.casts_shadow]
    smap = ShadowMap(casters, light_dir, shadow_res) if (light.shadows and casters) else None

    corner_uv = np.concatenate([m.corner_uv for m in meshes]).astype(np.float64)
    corner_n = np.concatenate([m.corner_normals for m in meshes]).astype(np.float64)
    face_mesh = np.repeat(np.arange(len(meshes)), np.diff(nfaces)).astype(np.int64)
    texs = [np.ascontiguousarray(m.texture, dtype=np.float64) for m in meshes]
    tex_off = np.cumsum([0] + [t.size for t in texs])[:-1].astype(np.int64)
    tex_flat = np.concatenate([t.ravel() for t in texs])
    tex_h = np.array([t.shape[0] for t in texs], dtype=np.int64)
    tex_w = np.array([t.shape[1] for t in texs], dtype=np.int64)
    ds = np.array([m.double_sided for m in meshes])
    kinds = np.array([KINDS.index(m.kind) for m in meshes], dtype=np.int64)
    wrap = np.array([m.wrap for m in meshes], dtype=np.float64)
    spec = np.array([m.specular for m in meshes], dtype=np.float64)
    shin = np.array([m.shininess for m in meshes], dtype=np.float64)
    color = np.zeros((H, W, 3))
    kind_map = np.full((H, W), -1, dtype=np.int64)
    if smap is not None:
        sm = (True, smap.basis, smap.lo, float(smap.scale), smap.depth, float(smap.texel),
              float(light.shadow_strength))  # fmt: skip
    else:
        sm = (False, np.eye(3), np.zeros(2), 1.0, np.zeros((1, 1)), 1.0, 0.0)
    _shade_kernel(
        face_id, bary, faces, verts, corner_uv, corner_n, face_mesh, tex_flat, tex_off,
        tex_h, tex_w, ds, kinds, wrap, spec, shin, light_dir,
        np.asarray(light.color, dtype=np.float64),
        np.asarray(light.ambient, dtype=np.float64), *sm, color, kind_map,
    )  # fmt: skip
    out = {"color": color.reshape(height, ss, width, ss, 3).mean((1, 3)), "kind_map": kind_map}
    km = kind_map.reshape(height, ss, width, ss)
    for k, name in enumerate(KINDS):
        out[name] = (km == k).mean((1, 3))
    return out


def render_reference(
    meshes: list[Mesh],
    K: np.ndarray,
    width: int,
    height: int,
    light: Light,
    *,
    ss: int = 2,
    shadow_res: int = 256,
) -> dict[str, np.ndarray]:
    """Vectorised numpy version of :func:`render` (same maths, no numba): the test oracle."""
    K = np.asarray(K, dtype=np.float64)
    Ks = K.copy()
    Ks[:2] *= ss
    W, H = width * ss, height * ss
    verts, faces, nfaces = _concat(meshes)
    bias = np.repeat([m.depth_bias for m in meshes], np.diff(nfaces)).astype(np.float64)
    cull = np.repeat([m.cull_back for m in meshes], np.diff(nfaces)).astype(np.bool_)
    face_id, bary, _ = rasterize(verts, faces, Ks, W, H, bias, cull)

    flat_f = face_id.reshape(-1)
    flat_b = bary.reshape(-1, 3)
    color = np.zeros((H * W, 3))
    kind_map = np.full(H * W, -1, dtype=np.int64)
    mesh_of_face = np.repeat(np.arange(len(meshes)), np.diff(nfaces))
    covered = np.nonzero(flat_f >= 0)[0]
    mesh_idx = mesh_of_face[flat_f[covered]]

    light_dir = np.asarray(light.direction, dtype=np.float64)
    light_dir = light_dir / np.linalg.norm(light_dir)
    casters = [m for m in meshes if m.casts_shadow]
    smap = ShadowMap(casters, light_dir, shadow_res) if (light.shadows and casters) else None

    for mi, m in enumerate(meshes):
        sel = covered[mesh_idx == mi]
        if len(sel) == 0:
            continue
        kind_map[sel] = KINDS.index(m.kind)
        lf = flat_f[sel] - nfaces[mi]
        b = flat_b[sel][:, :, None]
        uv = (m.corner_uv[lf] * b).sum(1)
        n = (m.corner_normals[lf] * b).sum(1)
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-20)
        p = (m.verts[m.faces[lf]] * b).sum(1)
        if m.double_sided:
            flip = (n * p).sum(1) > 0
            n[flip] = -n[flip]
        albedo = sample_bilinear(m.texture, uv)
        cosl = -(n @ light_dir)
        ndl = np.maximum((cosl + m.wrap) / (1 + m.wrap), 0.0)
        h = -light_dir[None, :] - p / np.linalg.norm(p, axis=1, keepdims=True)
        ndh = (n * h).sum(1) / np.maximum(np.linalg.norm(h, axis=1), 1e-20)
        hl = np.where((cosl > 0) & (ndh > 0), m.specular * np.maximum(ndh, 0) ** m.shininess, 0.0)
        if m.specular == 0:
            hl = np.zeros_like(ndl)
        if smap is not None:
            lit = np.where(ndl > 0, smap.lit(p, n), 1.0)
            ndl = ndl * (1.0 - light.shadow_strength * (1.0 - lit))
            hl = hl * lit
        shade = light.ambient[None, :] + ndl[:, None] * light.color[None, :]
        color[sel] = albedo * shade + hl[:, None] * light.color[None, :]

    color = color.reshape(height, ss, width, ss, 3).mean((1, 3))
    out = {"color": color}
    km = kind_map.reshape(height, ss, width, ss)
    for k, name in enumerate(KINDS):
        out[name] = (km == k).mean((1, 3))
    return out


def coverage(
    meshes: list[Mesh], K: np.ndarray, width: int, height: int, ss: int = 2, *, subpixel=False
):
    """Fraction of each pixel covered by ``meshes`` (no shading): amodal masks.

    With ``subpixel`` the boolean coverage at the supersampled resolution is returned too.
    """
    K = np.asarray(K, dtype=np.float64)
    Ks = K.copy()
    Ks[:2] *= ss
    verts = np.concatenate([m.verts for m in meshes]).astype(np.float64)
    nverts = np.cumsum([0] + [len(m.verts) for m in meshes])
    faces = np.concatenate([m.faces + o for m, o in zip(meshes, nverts, strict=False)])
    cull = np.concatenate([np.full(len(m.faces), m.cull_back) for m in meshes])
    face_id, _, _ = rasterize(verts, faces, Ks, width * ss, height * ss, None, cull)
    cov = (face_id >= 0).reshape(height, ss, width, ss).mean((1, 3))
    if subpixel:
        return cov, face_id >= 0
    return cov


__all__ = [
    "KINDS",
    "Light",
    "Mesh",
    "ShadowMap",
    "coverage",
    "project",
    "render",
    "render_reference",
    "sample_bilinear",
    "vertex_normals",
]
