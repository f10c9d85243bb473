"""Procedural skin albedo, baked into the hand model's UV space.

Features are defined on the 3D rest surface (where "palm side", "near a knuckle" or "distal
half of the last phalanx" have a meaning), then baked into the texture by rasterizing the UV
triangles: every texel gets the rest-pose position, normal and skinning weights of its surface
point and is coloured from those. This works for any UV layout the hand model ships, and the
renderer then samples the texture bilinearly at perspective-correct UVs like any textured mesh.

Per-capture identity: skin tone (a palette from light to dark), palm lightening, knuckle and
fingertip redness, flexion creases at every finger joint and the three main palm lines, finger
nails (pinker plate, whiter free edge), freckles, faint dorsal veins, low-frequency mottling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from hwp_bench.synth.noise import ValueNoise
from hwp_bench.synth.raster import rasterize_ortho
from hwp_bench.synth.rig import FINGER_JOINTS, HandRig
from hwp_bench.synth.shading import vertex_normals

# sRGB skin tones, light to dark (then linearised).
SKIN_TONES_SRGB = np.array(
    [
        [236, 200, 176],
        [226, 178, 146],
        [205, 148, 112],
        [180, 122, 88],
        [141, 94, 64],
        [98, 64, 45],
    ],
    dtype=np.float64,
)


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1 / 2.4) - 0.055)


@dataclass
class SkinIdentity:
    """The random choices that make one capture's skin (drawn once per capture)."""

    tone: np.ndarray  # linear RGB base albedo
    palm_lift: float
    redness: float
    crease: float
    freckles: float
    veins: float
    noise_seed: int

    @classmethod
    def sample(cls, rng: np.random.Generator) -> SkinIdentity:
        k = rng.uniform(0, len(SKIN_TONES_SRGB) - 1)
        i = int(np.floor(k))
        f = k - i
        srgb = (1 - f) * SKIN_TONES_SRGB[i] + f * SKIN_TONES_SRGB[min(i + 1, 5)]
        srgb = srgb * rng.uniform(0.97, 1.03, 3)
        lin = srgb_to_linear(np.clip(srgb / 255.0, 0, 1))
        lum = lin @ np.array([0.2126, 0.7152, 0.0722])
        lin = lum + 0.85 * (lin - lum)  # a touch less saturated than the swatches
        return cls(
            tone=lin,
            palm_lift=float(rng.uniform(0.15, 0.35) + 0.25 * k / 5),
            redness=float(rng.uniform(0.3, 1.0)),
            crease=float(rng.uniform(0.5, 1.0)),
            freckles=float(rng.uniform(0.0, 1.0) ** 3),
            veins=float(rng.uniform(0.2, 1.0)),
            noise_seed=int(rng.integers(2**31)),
        )


def _smooth(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def skin_albedo(
    p: np.ndarray, n: np.ndarray, w: np.ndarray, rig: HandRig, ident: SkinIdentity
) -> np.ndarray:
    """Linear-RGB albedo of rest-surface points ``p`` with normals ``n`` and skin weights ``w``."""
    noise = ValueNoise(ident.noise_seed)
    J = rig.joints
    palm_n = rig.palm_normal
    base = np.broadcast_to(ident.tone, p.shape).copy()
    # Low-frequency mottling and fine pore-level variation (multiplicative).
    mott = noise.fbm(p * 60.0, octaves=3)
    fine = noise(p * 900.0 + 3.1)
    base *= (1 + 0.07 * mott[:, None] * np.array([1.0, 1.25, 1.3])) * (1 + 0.035 * fine[:, None])

    palm = _smooth(n @ palm_n, -0.15, 0.45)
    dorsal = _smooth(-(n @ palm_n), 0.1, 0.6)
    pale = srgb_to_linear(np.array([0.93, 0.74, 0.68]))
    base += (palm * ident.palm_lift)[:, None] * (pale - base)

    red = np.zeros(len(p))
    for j in (1, 4, 7, 10, 2, 5, 8, 11, 14):  # knuckles
        d2 = ((p - J[j]) ** 2).sum(1)
        red += np.exp(-d2 / (0.008**2)) * (0.6 + 0.4 * dorsal)
    for tip in rig.tips:  # fingertips
        d2 = ((p - J[tip]) ** 2).sum(1)
        red += 0.8 * np.exp(-d2 / (0.012**2))
    red = np.clip(red * ident.redness, 0, 1)
    base *= 1 - 0.14 * red[:, None] * np.array([-0.25, 0.6, 0.55])

    # Flexion creases at every finger joint: thin dark bands across the bone, on the palm side
    # (and fainter knuckle wrinkles on the back), limited to the two bones meeting there.
    crease = np.zeros(len(p))
    for fi, chain in enumerate(FINGER_JOINTS):
        ends = [chain[1], chain[2], rig.tips[fi]]
        for k, j in enumerate(chain):
            if fi == 0 and k == 0:
                continue  # the thumb's base joint sits inside the palm: no crease there
            d = J[ends[k]] - J[j]
            d = d / np.linalg.norm(d)
            s = (p - J[j]) @ d
            parent = 0 if k == 0 else chain[k - 1]
            near = np.clip(w[:, j] + w[:, parent], 0, 1)
            width = 0.0011 if k else 0.0016
            for off in (-0.0012, 0.0012) if k else (0.0,):
                band = np.exp(-(((s - off) / width) ** 2))
                crease += band * near * (0.9 * palm + 0.35 * dorsal)
    # Three palm lines as curves in palm coordinates (a across, b along the fingers).
    a_ax, b_ax = rig.across, rig.finger_dir
    L = np.linalg.norm(J[4] - J[0])
    pa = (p - J[0]) @ a_ax / L
    pb = (p - J[0]) @ b_ax / L
    ia = (J[1] - J[0]) @ a_ax / L
    pk = (J[7] - J[0]) @ a_ax / L
    span = pk - ia
    u = (pa - ia) / span  # 0 at the index side, 1 at the little-finger side
    lines = [
        np.abs(pb - (0.78 - 0.10 * (u - 0.9) ** 2)) * (u > 0.2),  # heart line
        np.abs(pb - (0.62 + 0.12 * (1 - u))) * ((u > -0.05) & (u < 0.75)),  # head line
        np.abs(u - (0.05 - 0.35 * (0.62 - pb) ** 2 * 4)) * ((pb > 0.15) & (pb < 0.62)),  # life
    ]
    for dist in lines:
        band = np.where(dist > 0, np.exp(-((dist / 0.018) ** 2)), 0.0)
        crease += 0.8 * band * palm * (w[:, 0] > 0.4)
    crease = np.clip(crease * ident.crease, 0, 1)
    base *= 1 - 0.38 * crease[:, None] * np.array([0.85, 1.0, 1.0])

    # Nails: the distal 55% of the last phalanx, on its back.
    nail_col = srgb_to_linear(np.array([0.92, 0.70, 0.68]))
    edge_col = srgb_to_linear(np.array([0.96, 0.90, 0.86]))
    for fi, chain in enumerate(FINGER_JOINTS):
        j3 = chain[2]
        tip = J[rig.tips[fi]]
        d = tip - J[j3]
        seg = np.linalg.norm(d)
        d = d / seg
        s = (p - J[j3]) @ d / seg
        if fi == 0:
            back = -(0.55 * palm_n + 0.85 * rig.across)
        else:
            back = -palm_n
        back = back - d * (back @ d)
        back /= np.linalg.norm(back)
        facing = n @ back
        nail = _smooth(s, 0.35, 0.45) * _smooth(facing, 0.55, 0.75) * (w[:, j3] > 0.3)
        free = _smooth(s, 0.9, 0.97)
        col = nail_col * (1 - free[:, None]) + edge_col * free[:, None]
        base = base * (1 - 0.8 * nail[:, None]) + 0.8 * nail[:, None] * col * (
            0.6 + 0.4 * ident.tone / ident.tone.max()
        )

    # Freckles on the back of the hand and fingers.
    fr = noise(p * 420.0 + 11.0)
    spots = _smooth(fr, 0.86 - 0.12 * ident.freckles, 0.92 - 0.12 * ident.freckles) * dorsal
    base *= 1 - 0.22 * ident.freckles * spots[:, None] * np.array([0.7, 1.0, 1.15])
    # Faint bluish veins on the back of the hand (wrist-skinned region only).
    ridge = 1 - np.abs(noise.fbm(p * np.array([30.0, 90.0, 30.0]) + 5.0, octaves=2))
    vein = _smooth(ridge, 0.9, 0.98) * dorsal * _smooth(w[:, 0], 0.6, 0.9)
    base *= 1 - 0.16 * ident.veins * vein[:, None] * np.array([1.0, 0.75, 0.2])
    return np.clip(base, 0.0, 1.0)


def bake_skin_texture(
    rest_verts: np.ndarray,
    faces: np.ndarray,
    uv_coords: np.ndarray,
    uv_faces: np.ndarray,
    skin_weights: np.ndarray,
    rig: HandRig,
    ident: SkinIdentity,
    size: int = 512,
) -> np.ndarray:
    """Bake :func:`skin_albedo` into a ``[size,size,3]`` texture of the model's UV layout.

    Texels outside every UV triangle take the colour of the nearest covered texel, so bilinear
    lookups at UV-island borders never blend in a background colour.
    """
    xy = np.asarray(uv_coords, dtype=np.float64) * size
    fid, bary, _ = rasterize_ortho(xy, np.zeros(len(xy)), uv_faces, size, size)
    covered = fid >= 0
    f = fid[covered]
    b = bary[covered][:, :, None]
    tri = np.asarray(faces)[f]
    vn = vertex_normals(np.asarray(rest_verts, dtype=np.float64), np.asarray(faces))
    p = (rest_verts[tri] * b).sum(1)
    n = (vn[tri] * b).sum(1)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-20)
    w = (np.asarray(skin_weights, dtype=np.float64)[tri] * b).sum(1)
    tex = np.zeros((size, size, 3))
    tex[covered] = skin_albedo(p, n, w, rig, ident)
    if not covered.all():
        _, idx = ndimage.distance_transform_edt(~covered, return_indices=True)
        tex = tex[idx[0], idx[1]]
    return tex.astype(np.float32)
