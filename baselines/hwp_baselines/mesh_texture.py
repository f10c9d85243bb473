"""Textured-mesh rendering of posed hands: visibility from HWP-Synth's rasterizer, texture
sampling in torch.

Why split it this way: the mesh baselines (Handy, and UHM's renderer) fit *appearance* through
differentiable rendering while the geometry comes from the given hand parameters. Visibility
(which triangle covers a pixel, and where in it) does not need gradients, so it comes from the
z-buffer rasterizer in :mod:`hwp_bench.synth.raster` (numba, exact, tested against a ray
tracer) instead of a second rasterizer; only the texture look-up has to be differentiable, and
``torch.nn.functional.grid_sample`` at per-pixel UVs gives exactly that.

:func:`rasterize_hands` turns (K, hands) into a :class:`UVMap` (per pixel: the hand side, the
seam-exact UV from the model's per-corner UVs, and a view-facing normal);
:func:`sample_textures` reads one texture per side at those UVs.

Training-pose refinement needs gradients with respect to the *geometry* too.
:func:`differentiable_view` keeps the z-buffer's answer to "which triangle" (a discrete choice)
and recomputes "where in it" in torch: the pixel's ray is intersected with its triangle's
posed vertices (Moller-Trumbore), so the UV, and the colour sampled there, move with the
vertices inside the silhouette. The silhouette itself moves through :func:`splat_silhouette`,
a soft coverage of the mesh drawn by the Gaussian rasterizer (one small Gaussian per vertex).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

SIDES = ("right", "left")


@dataclass
class UVMap:
    """Per-pixel visibility of the hand meshes in one view (numpy, float32 / int8)."""

    side: np.ndarray  # [H, W] int8: index into SIDES, -1 where no hand
    uv: np.ndarray  # [H, W, 2] float32 in [0, 1] (0 where no hand)
    normal: np.ndarray  # [H, W, 3] float32 unit normal facing the camera (0 where no hand)
    #: [H, W] int64 triangle index into the sides' faces concatenated in SIDES order (-1: none)
    face_id: np.ndarray | None = None

    @property
    def covered(self) -> np.ndarray:
        return self.side >= 0


def vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals [V, 3] (sign follows the winding; see :func:`rasterize_hands`)."""
    v0, v1, v2 = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    fn = np.cross(v1 - v0, v2 - v0)
    vn = np.zeros_like(verts)
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=-1, keepdims=True), 1e-12)


def posed_vertices(model, hands: Mapping) -> dict[str, np.ndarray]:
    """Camera-space vertices of each hand present (float64 numpy), keyed by side."""
    out = {}
    for side in SIDES:
        hand = hands.get(side)
        if hand is None:
            continue
        with torch.no_grad():
            posed = model(
                torch.as_tensor(np.asarray(hand.pose), dtype=model.dtype)[None],
                torch.as_tensor(np.asarray(hand.shape), dtype=model.dtype)[None],
                torch.as_tensor(np.asarray(hand.trans), dtype=model.dtype)[None],
                side=side,
            )
        out[side] = posed.vertices[0].detach().cpu().numpy().astype(np.float64)
    return out


def rasterize_hands(
    model, verts: Mapping[str, np.ndarray], K: np.ndarray, height: int, width: int
) -> UVMap:
    """Rasterize all given hands together (mutual occlusion by the z-buffer) into a UVMap.

    UVs are interpolated from the per-corner ``uv_coords``/``uv_faces_for(side)`` so texture
    seams stay sharp; normals are interpolated vertex normals flipped to face the camera (every
    visible point of a closed surface faces the viewer, so this is independent of winding).
    """
    from hwp_bench.synth.raster import rasterize

    side_map = np.full((height, width), -1, np.int8)
    uv = np.zeros((height, width, 2), np.float32)
    normal = np.zeros((height, width, 3), np.float32)
    present = [s for s in SIDES if s in verts]
    if not present:
        return UVMap(side_map, uv, normal)
    all_v, all_f, owners, offsets = [], [], [], []
    base = 0
    for s in present:
        faces = model.faces_for(s).cpu().numpy().astype(np.int64)
        all_v.append(np.asarray(verts[s], np.float64))
        all_f.append(faces + base)
        owners.append(np.full(len(faces), SIDES.index(s), np.int8))
        offsets.append(sum(len(f) for f in all_f[:-1]))
        base += len(verts[s])
    V = np.concatenate(all_v)
    Fc = np.concatenate(all_f)
    owner = np.concatenate(owners)
    face_id, bary, _ = rasterize(V, Fc, np.asarray(K, np.float64), width, height)
    hit = face_id >= 0
    if not hit.any():
        return UVMap(side_map, uv, normal)
    fid = face_id[hit].astype(np.int64)
    b = bary[hit]  # [P, 3]
    side_map[hit] = owner[fid]
    uv_coords = model.uv_coords.detach().cpu().numpy().astype(np.float64)
    vn = np.concatenate(
        [vertex_normals(np.asarray(verts[s], np.float64), model.faces_for(s).cpu().numpy())
         for s in present]
    )  # fmt: skip
    uv_hit = np.zeros((len(fid), 2))
    for s, off in zip(present, offsets, strict=True):
        sel = owner[fid] == SIDES.index(s)
        local = fid[sel] - off
        corners = model.uv_faces_for(s).cpu().numpy().astype(np.int64)[local]  # [p, 3]
        uv_hit[sel] = np.einsum("pk,pkc->pc", b[sel], uv_coords[corners])
    n = np.einsum("pk,pkc->pc", b, vn[Fc[fid]])
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    # Rays through the pixel centres; flip normals that point away from the camera.
    ii, jj = np.nonzero(hit)
    Kinv = np.linalg.inv(np.asarray(K, np.float64))
    rays = np.stack([jj + 0.5, ii + 0.5, np.ones_like(jj, dtype=np.float64)], -1) @ Kinv.T
    flip = (n * rays).sum(-1) > 0
    n[flip] *= -1
    uv[hit] = uv_hit.astype(np.float32)
    normal[hit] = n.astype(np.float32)
    return UVMap(side_map, uv, normal, face_id.astype(np.int64))


def sample_textures(textures: torch.Tensor, side: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Colours [..., C] at ``uv`` [..., 2] from ``textures`` [S, C, T, T] chosen by ``side``.

    Differentiable in ``textures`` (bilinear ``grid_sample``). ``uv`` (0, 0) is the top-left
    texel corner; pixels with ``side < 0`` get 0.
    """
    shape = side.shape
    side = side.reshape(-1)
    uv = uv.reshape(-1, 2)
    out = textures.new_zeros(side.shape[0], textures.shape[1])
    for s in range(textures.shape[0]):
        sel = side == s
        if not bool(sel.any()):
            continue
        grid = (uv[sel] * 2.0 - 1.0)[None, None]  # [1, 1, P, 2]
        vals = F.grid_sample(
            textures[s : s + 1], grid, mode="bilinear", padding_mode="border", align_corners=False
        )  # [1, C, 1, P]
        out = out.index_put((sel.nonzero()[:, 0],), vals[0, :, 0].T)
    return out.reshape(*shape, textures.shape[1])


def rescale_view(K: np.ndarray, height: int, width: int, max_size: int):
    """Intrinsics and size for rendering at most ``max_size`` pixels on the long side."""
    scale = min(1.0, float(max_size) / float(max(height, width))) if max_size > 0 else 1.0
    if scale >= 1.0:
        return np.asarray(K, np.float64), height, width, 1.0
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    sx, sy = w / width, h / height
    K2 = np.asarray(K, np.float64).copy()
    K2[0] *= sx
    K2[1] *= sy
    return K2, h, w, scale


def resize_image(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-average resize of an HxW[xC] float image (no-op at the same size)."""
    if img.shape[0] == height and img.shape[1] == width:
        return img
    t = torch.as_tensor(np.asarray(img, np.float32))
    t = t[None, None] if t.dim() == 2 else t.permute(2, 0, 1)[None]
    r = F.interpolate(t, size=(height, width), mode="area")[0]
    return (r[0] if img.ndim == 2 else r.permute(1, 2, 0)).numpy()


@dataclass
class TorchUVMap:
    """:class:`UVMap` of the covered pixels only, with UVs differentiable in the vertices."""

    side: np.ndarray  # [H, W] int8, -1 where no hand
    hit: np.ndarray  # [H, W] bool
    uv: torch.Tensor  # [P, 2] for the covered pixels, row-major order
    normal: torch.Tensor  # [P, 3] (detached, facing the camera)


def differentiable_view(
    model, verts: Mapping[str, torch.Tensor], K: np.ndarray, height: int, width: int
) -> TorchUVMap:
    """Visibility of ``verts`` (side -> [V, 3] torch, camera space) from the z-buffer; per
    covered pixel, its triangle's ray intersection recomputed in torch (UVs carry gradients to
    the vertices). Agrees with :func:`rasterize_hands` on the same vertices (tested)."""
    present = [s for s in SIDES if s in verts]
    view = rasterize_hands(
        model, {s: verts[s].detach().cpu().double().numpy() for s in present}, K, height, width
    )
    hit = view.covered
    dtype = next(iter(verts.values())).dtype if present else torch.float32
    if not hit.any():
        return TorchUVMap(view.side, hit, torch.zeros(0, 2, dtype=dtype), torch.zeros(0, 3))
    V = torch.cat([verts[s] for s in present])
    Fc, base = [], 0
    for s in present:
        Fc.append(model.faces_for(s).long().cpu() + base)
        base += verts[s].shape[0]
    Fc = torch.cat(Fc)
    ii, jj = np.nonzero(hit)
    fid = torch.as_tensor(view.face_id[ii, jj])
    Kinv = torch.as_tensor(np.linalg.inv(np.asarray(K, np.float64)), dtype=V.dtype)
    pix = torch.stack(
        [torch.as_tensor(jj + 0.5), torch.as_tensor(ii + 0.5), torch.ones(len(ii))], -1
    ).to(V.dtype)
    d = pix @ Kinv.T  # rays from the camera centre [P, 3]
    a, b, c = (V[Fc[fid, k]] for k in range(3))
    e1, e2 = b - a, c - a
    p = torch.cross(d, e2, dim=-1)
    det = (e1 * p).sum(-1)
    det = torch.where(det.abs() < 1e-20, torch.full_like(det, 1e-20), det)
    s_ = -a
    u = (s_ * p).sum(-1) / det
    q = torch.cross(s_, e1, dim=-1)
    v = (d * q).sum(-1) / det
    bary = torch.stack([1 - u - v, u, v], -1)  # [P, 3] perspective-correct
    # Per-corner UVs of each pixel's triangle (faces are local to their side).
    uv_coords = model.uv_coords.to(V.dtype)
    owner = torch.as_tensor(view.side[ii, jj].astype(np.int64))
    corners = torch.zeros(len(ii), 3, dtype=torch.long)
    offset = 0
    for s in present:
        nf = model.faces_for(s).shape[0]
        sel = owner == SIDES.index(s)
        corners[sel] = model.uv_faces_for(s).long().cpu()[fid[sel] - offset]
        offset += nf
    uv = torch.einsum("pk,pkc->pc", bary, uv_coords[corners])
    normal = torch.as_tensor(view.normal[ii, jj])
    return TorchUVMap(view.side, hit, uv, normal)


def splat_silhouette(
    verts: Mapping[str, torch.Tensor],
    spacing: torch.Tensor,
    K: np.ndarray,
    height: int,
    width: int,
    *,
    scale: float = 0.3,
) -> torch.Tensor:
    """Soft coverage [H, W] of the hand meshes, differentiable in the vertices: one opaque
    isotropic Gaussian per vertex, ``scale`` times its mesh spacing (``spacing`` [V]), drawn by
    the Gaussian rasterizer. A surface densely covered by such Gaussians is opaque inside and
    falls off within about a spacing of its outline."""
    from hwp_bench.render import rasterize as splat

    V = torch.cat([verts[s] for s in SIDES if s in verts]).float()
    n = V.shape[0]
    sc = (spacing.float() * scale).repeat(n // spacing.shape[0])[:, None].expand(n, 3)
    out = splat(
        V,
        torch.tensor([1.0, 0.0, 0.0, 0.0]).expand(n, 4),
        sc.contiguous(),
        torch.full((n,), 0.99),
        torch.ones(n, 1),
        torch.eye(4),
        torch.as_tensor(np.asarray(K, np.float32)),
        width,
        height,
        background=torch.zeros(1),
    )
    return out["alpha"]
