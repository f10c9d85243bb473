"""The test-pose aligner: refine a frame's hand parameters against its hand mask.

Why: the hand parameters a dataset gives for its test frames come from an estimator (OmniHands
on HWP; simulated estimator noise on HWP-Synth) and misplace fingers by a few pixels. A
protocol that compares pixels then scores the pose error, not the avatar: a perfect avatar
loses to a blur (docs/validity.md). The aligner moves each test frame's parameters so that the
hand model's silhouette matches the frame's hand mask, once per dataset, identically for every
method; methods still never see a test pixel.

What is fitted, per hand: the global rotation (a rotation applied on top of the estimate), the
wrist translation, the 45 finger axis-angle values and the 10 shape values, each with a
Gaussian prior towards the estimate (``AlignConfig``). Depth and out-of-plane rotations are
barely visible in a silhouette: the prior keeps them at the estimate.

How (silhouette ICP with the exact rasterizer):

1. pose the hands and rasterize their union exactly as HWP-Synth draws a hand mask (front faces,
   ``supersample`` x ``supersample`` samples per pixel) and take the 0.5 contour of that
   coverage, and of the frame's mask, in the same way;
2. snap every model contour point to the nearest mesh contour edge (an edge between a front
   and a back face): the point moves with that edge's two projected vertices, which makes it
   differentiable in the parameters;
3. residuals, in pixels, both ways: each model contour point to the nearest mask contour
   segment (along its normal), and each mask contour point to the nearest model contour segment,
   among those that face the same way (normals with a cosine >= ``normal_agreement``: without
   it a finger about one finger width off locks onto its neighbour's facing side);
   the snapped points carry the residual's dependence on the parameters, so the residual itself
   is measured between two contours extracted identically (no bias from the extraction);
4. minimise Cauchy-robust residuals plus the prior with L-BFGS, then go back to 1 with the new
   parameters, until the mean residual stops improving.

By default (``AlignConfig(image_edges=True)``; ``image_edges=False`` is the silhouette
aligner alone, the default before the edge term was measured), ``edge_rounds`` more rounds
after convergence add the frame's grey-level edges at the hand's inner occluding contours (a
finger in front of the palm, which the mask does not show) as further point-to-line residuals:
:mod:`hwp_bench.tracks.edges`.

The fit is deterministic (float64, one torch thread, no randomness), so every machine computes
the same aligned parameters. It only needs a mask and a camera, so it works on real HWP too
(SAM masks of the visible hand: occluded parts of the hand give residuals that the robust loss
and the prior discount). Cost: seconds per frame on one CPU core; :mod:`hwp_bench.tracks.cache`
computes it once per dataset.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from hwp_bench.data.frame import Frame, HandParams
from hwp_bench.tracks.contours import (
    ContourSet,
    contour_edges,
    mask_contours,
    nearest_on_segments,
)

__all__ = ["ALIGNER_VERSION", "AlignConfig", "AlignResult", "align_frame"]

#: Bump when the aligner's output changes for the same input (the cache keys on it).
ALIGNER_VERSION = 4


@dataclass(frozen=True)
class AlignConfig:
    """Everything that determines the aligned parameters (stored with the cache)."""

    hand_model: str = "open"
    iterations: int = 30  # re-correspondence rounds at most
    inner_steps: int = 20  # L-BFGS iterations per round
    tolerance_px: float = 1e-3  # an improvement of the mean residual smaller than this is none
    patience: int = 3  # stop after this many rounds without a new best
    pixel_sigma: float = 0.5  # px: the contour residual that weighs as much as one prior sigma
    robust_scale: float = 4.0  # Cauchy scale, in pixel sigmas (occlusions, mask errors)
    snap_px: float = 1.0  # model contour points farther than this from a mesh edge are dropped
    prior_global: float = 0.05  # rad, rotation on top of the estimate
    prior_fingers: float = 0.1  # rad, per finger axis-angle component
    prior_trans_xy: float = 0.01  # m
    prior_trans_z: float = 0.05  # m (depth is nearly invisible at HWP's focal length)
    prior_shape: float = 0.3
    supersample: int = 2  # samples per pixel and axis, as HWP-Synth's masks
    frame_edge_px: float = 0.25  # contour points this close to the image border are no evidence
    # matched contours must face the same way (cosine of their normals >= this; -1: any, the
    # rule of version 3, under which a finger could lock onto its neighbour's facing side)
    normal_agreement: float = 0.0
    # Image edges at the hand's inner occluding contours (hwp_bench.tracks.edges): after the
    # silhouette fit converges, ``edge_rounds`` more rounds add, where the model shows a finger
    # in front of the hand (a surface at least ``depth_gap_m`` behind a front/back mesh edge),
    # the offset to the frame's strongest grey-level edge within ``search_px`` along the
    # contour's normal as Cauchy-robust residuals of ``edge_sigma_px``. Off: the silhouette
    # aligner alone, and these fields stay out of ``to_dict`` (the cache key and the producer
    # digest of the silhouette aligner are unchanged). On by default since hwp-v3 became the
    # default protocol (the version stays: no configuration's output changed, and the key
    # holds the edge fields): with it, the perfect avatar on the aligned track comes within
    # 3 dB of the exact track under hwp-v3 (docs/validity.md).
    image_edges: bool = True
    search_px: float = 2.0
    depth_gap_m: float = 0.008
    edge_sigma_px: float = 0.5
    edge_rounds: int = 6
    edge_min_gradient: float = 0.02  # grey levels per pixel: a weaker peak is no evidence

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if not self.image_edges:
            for name in _EDGE_FIELDS:
                d.pop(name)
        return {"version": ALIGNER_VERSION, **d}


_EDGE_FIELDS = (
    "image_edges", "search_px", "depth_gap_m", "edge_sigma_px", "edge_rounds", "edge_min_gradient",
)  # fmt: skip


@dataclass
class AlignResult:
    """Aligned parameters of one frame and how well the silhouettes agree (pixels)."""

    hands: dict[str, HandParams]
    status: str  # "ok", or why the estimate was kept: "no-mask", "empty-mask"
    initial_residual_px: float = float("nan")  # mean |model->mask contour distance| before
    residual_px: float = float("nan")  # ... and after
    rounds: int = 0


_PARAMS_PER_HAND = 3 + 45 + 3 + 10


class SubsetPoser:
    """The hand model's vertices ``idx`` only: what each L-BFGS evaluation needs (the few
    hundred vertices of the contour edges, not all of them), several times cheaper.

    The same maths as :class:`hwp_bench.hand.model.HandModel` (shape blend, pose correctives,
    forward kinematics, linear blend skinning) on the rows ``idx`` of the model's arrays;
    ``tests/tracks/test_align.py`` holds it to the full model.
    """

    def __init__(self, model, side: str, idx: np.ndarray) -> None:
        import torch

        d = model.data(side)
        idx = np.asarray(idx, dtype=np.int64)

        def t(x):
            return torch.as_tensor(np.asarray(x, dtype=np.float64)).to(model.dtype)

        self.v_template = t(d.v_template[idx])
        self.shapedirs = t(d.shapedirs[idx]).reshape(-1, d.shapedirs.shape[-1])
        self.posedirs = None if d.posedirs is None else t(d.posedirs[idx]).reshape(-1, 135)
        self.j_template = t(d.j_template)
        self.j_shapedirs = t(d.j_shapedirs).reshape(-1, d.j_shapedirs.shape[-1])
        self.weights = t(d.weights[idx])
        self.parents = tuple(d.parents)
        self.n = len(idx)

    def __call__(self, pose, shape, trans):
        """Vertices ``[len(idx), 3]`` for one hand's ``pose`` (48), ``shape`` (10), ``trans``."""
        import torch

        from hwp_bench.hand.lbs import blend, forward_kinematics, skinning_transforms
        from hwp_bench.hand.rotation import axis_angle_to_matrix

        rest = self.v_template + (self.shapedirs @ shape).reshape(self.n, 3)
        joints = self.j_template + (self.j_shapedirs @ shape).reshape(-1, 3)
        rot = axis_angle_to_matrix(pose.reshape(1, -1, 3))
        if self.posedirs is not None:
            eye = torch.eye(3, dtype=rot.dtype)
            rest = rest + (self.posedirs @ (rot[0, 1:] - eye).reshape(-1)).reshape(self.n, 3)
        world_rot, world_pos = forward_kinematics(rot, joints[None], self.parents)
        transforms = skinning_transforms(world_rot, world_pos, joints[None])
        transforms = torch.cat(
            [transforms[..., :3], transforms[..., 3:] + trans.reshape(1, 1, 3, 1)], dim=-1
        )
        return blend(rest[None], self.weights, transforms)[0]


class _Fit:
    """The torch side: parameters as offsets from the estimate, posing, projection, prior."""

    def __init__(self, frame: Frame, config: AlignConfig) -> None:
        import torch

        from hwp_bench.hand import load_hand_model
        from hwp_bench.hand.rotation import axis_angle_to_matrix

        self.torch = torch
        self.config = config
        self.model = load_hand_model(config.hand_model, 0, dtype=torch.float64)
        self.sides = [s for s in ("right", "left") if s in frame.hands]
        self.K = torch.as_tensor(np.asarray(frame.K, dtype=np.float64))
        self.est = {}
        for s in self.sides:
            hp = frame.hands[s]
            pose = torch.as_tensor(np.asarray(hp.pose, dtype=np.float64))
            self.est[s] = {
                "R": axis_angle_to_matrix(pose[:3][None])[0],
                "fingers": pose[3:],
                "trans": torch.as_tensor(np.asarray(hp.trans, dtype=np.float64)),
                "shape": torch.as_tensor(np.asarray(hp.shape, dtype=np.float64)),
            }
        self.delta = torch.zeros(len(self.sides), _PARAMS_PER_HAND, dtype=torch.float64)
        self.delta.requires_grad_(True)
        self.faces = {s: self.model.faces_for(s).numpy().astype(np.int64) for s in self.sides}
        self.num_vertices = [int(self.model.num_vertices)] * len(self.sides)
        c = config
        sig = [c.prior_global] * 3 + [c.prior_fingers] * 45
        sig += [c.prior_trans_xy, c.prior_trans_xy, c.prior_trans_z] + [c.prior_shape] * 10
        self.prior_sigma = torch.as_tensor(sig, dtype=torch.float64)

    def params(self, k: int):
        """(pose 48, shape 10, trans 3) of hand ``k``: the estimate moved by ``delta[k]``."""
        from hwp_bench.hand.rotation import axis_angle_to_matrix, matrix_to_axis_angle

        torch = self.torch
        e, d = self.est[self.sides[k]], self.delta[k]
        R = axis_angle_to_matrix(d[:3][None])[0] @ e["R"]
        pose = torch.cat([matrix_to_axis_angle(R[None])[0], e["fingers"] + d[3:48]])
        return pose, e["shape"] + d[51:61], e["trans"] + d[48:51]

    def vertices(self) -> list:
        out = []
        for k, s in enumerate(self.sides):
            pose, shape, trans = self.params(k)
            out.append(self.model(pose[None], shape[None], trans[None], side=s).vertices[0])
        return out

    def project(self, v):
        K = self.K
        return self.torch.stack(
            [K[0, 0] * v[:, 0] / v[:, 2] + K[0, 2], K[1, 1] * v[:, 1] / v[:, 2] + K[1, 2]], -1
        )

    def prior(self):
        return ((self.delta / self.prior_sigma) ** 2).sum()

    def hands(self) -> dict[str, HandParams]:
        with self.torch.no_grad():
            out = {}
            for k, s in enumerate(self.sides):
                pose, shape, trans = self.params(k)
                out[s] = HandParams(pose.numpy(), shape.numpy(), trans.numpy())
        return out


def _coverage(verts: list[np.ndarray], faces: list[np.ndarray], K, h: int, w: int, ss: int):
    """Union coverage of the hands, front faces only, ``ss`` x ``ss`` point samples per pixel
    (how HWP-Synth computes its amodal hand mask)."""
    from hwp_bench.synth.raster import rasterize

    v = np.concatenate(verts)
    offsets = np.cumsum([0] + [len(x) for x in verts])
    f = np.concatenate([fc + o for fc, o in zip(faces, offsets, strict=False)])
    Ks = np.asarray(K, dtype=np.float64).copy()
    Ks[:2] *= ss
    face_id, _, _ = rasterize(v, f, Ks, w * ss, h * ss, None, np.ones(len(f), dtype=bool))
    return (face_id >= 0).reshape(h, ss, w, ss).mean(axis=(1, 3))


def _inside(points: np.ndarray, frame: Frame, margin: float) -> np.ndarray:
    """Points farther than ``margin`` px from every image border."""
    x, y = points[:, 0], points[:, 1]
    return (x > margin) & (y > margin) & (x < frame.width - margin) & (y < frame.height - margin)


def _cauchy(u, c: float):
    return (c * c) * (1.0 + (u / c) ** 2).log()


def align_frame(frame: Frame, config: AlignConfig | None = None) -> AlignResult:
    """Aligned hand parameters of ``frame`` (see the module docstring). Never raises for a
    frame without a usable mask: the estimate is returned with the reason in ``status``."""
    import torch

    config = config or AlignConfig()
    if not frame.hands:
        return AlignResult({}, "no-hands")
    if frame.mask is None:
        return AlignResult(dict(frame.hands), "no-mask")
    mask = np.asarray(frame.mask, dtype=np.float64)
    if mask.max() < 0.5:
        return AlignResult(dict(frame.hands), "empty-mask")
    target = mask_contours(mask)
    m = config.frame_edge_px
    target = target.subset(_inside(target.a, frame, m) | _inside(target.b, frame, m))
    if len(target) < 3:
        return AlignResult(dict(frame.hands), "empty-mask")
    t_normals = target.normals()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # determinism across machines, and speed for these small graphs
    try:
        # L-BFGS-B's BLAS calls on ~100 parameters gain nothing from threads; OpenBLAS's pool
        # spinning beside another job on the same cores made a frame 1.3x slower (docs/tracks.md)
        with threadpool_limits(limits=1, user_api="blas"):
            fit = _Fit(frame, config)
            return _run(fit, frame, target, t_normals, config)
    finally:
        torch.set_num_threads(threads)


@dataclass
class _Matches:
    """Correspondences of one round, frozen while L-BFGS moves the parameters.

    Each kept model contour point sits on a mesh contour edge ``ia -> ib`` at parameter ``t``
    (image position ``p0`` now); ``off1`` is its signed distance to the mask contour along the
    mask normal ``n1``; ``off2`` the signed distance of each mask contour point to its nearest
    model point ``near`` along that point's normal ``n2``.
    """

    ia: object
    ib: object
    t: object
    p0: object
    n1: object
    off1: object
    near: object
    n2: object
    off2: object

    @property
    def mean_residual(self) -> float:
        return float(self.off1.abs().mean())


def _match(fit: _Fit, frame: Frame, target: ContourSet, t_normals, config: AlignConfig):
    """This round's correspondences, or None when the model shows no usable contour."""
    torch = fit.torch
    with torch.no_grad():
        verts = [v.numpy() for v in fit.vertices()]
        xy = [fit.project(torch.as_tensor(v)).numpy() for v in verts]
    faces = [fit.faces[s] for s in fit.sides]
    cov = _coverage(verts, faces, frame.K, frame.height, frame.width, config.supersample)
    model = mask_contours(cov)
    if len(model) < 3:
        return None
    # Mesh contour edges of every hand, as segments between global vertex ids.
    offsets = np.cumsum([0] + [len(v) for v in verts])
    segs = np.concatenate([contour_edges(xy[k], f) + offsets[k] for k, f in enumerate(faces)])
    all_xy = np.concatenate(xy)
    a, b = all_xy[segs[:, 0]], all_xy[segs[:, 1]]
    k, t, dist = nearest_on_segments(model.points, a, b)
    # Kept: points on a mesh contour edge, and not on the image border (where a hand leaves the
    # picture both contours run along the frame's edge, which is not the hand's).
    keep = (dist <= config.snap_px) & _inside(model.points, frame, config.frame_edge_px)
    if keep.sum() < 3:
        return None
    k, t = k[keep], t[keep]
    pts = model.points[keep]
    m_normals = model.normals()[keep]
    # model -> mask: the nearest mask contour segment of every model contour point
    agree = config.normal_agreement
    normals = {} if agree <= -1.0 else {"point_normals": m_normals, "segment_normals": t_normals}
    gi, gpar, gdist = nearest_on_segments(pts, target.a, target.b, min_cos=agree, **normals)
    if normals:
        found = np.isfinite(gdist)
        if found.sum() < 3:
            return None
        k, t, pts, m_normals = k[found], t[found], pts[found], m_normals[found]
        gi, gpar = gi[found], gpar[found]
    p0 = (1 - t)[:, None] * a[k] + t[:, None] * b[k]
    q = target.a[gi] + gpar[:, None] * (target.b[gi] - target.a[gi])
    off1 = ((pts - q) * t_normals[gi]).sum(1)
    # mask -> model: the nearest model contour point of every mask contour point
    dmat = np.linalg.norm(target.points[:, None, :] - pts[None], axis=-1)
    if normals:
        dmat = np.where(t_normals @ m_normals.T >= agree, dmat, np.inf)
    near = dmat.argmin(axis=1)
    paired = np.isfinite(dmat[np.arange(len(near)), near])  # else no model point faces it
    near = near[paired]
    off2 = ((target.points[paired] - pts[near]) * m_normals[near]).sum(1)
    T = torch.as_tensor
    return _Matches(
        T(segs[k, 0]), T(segs[k, 1]), T(t)[:, None], T(p0), T(t_normals[gi]), T(off1),
        T(near), T(m_normals[near]), T(off2),
    )  # fmt: skip


@dataclass
class _EdgeMatches:
    """Image-edge correspondences of one round: a point on the mesh edge ``ia -> ib`` at
    parameter ``t`` (image position ``p0`` now), the edge's image normal ``n``, and ``off``, its
    signed distance to the frame's edge along ``n`` (minus the peak's offset)."""

    ia: object
    ib: object
    t: object
    p0: object
    n: object
    off: object


def _edge_match(fit: _Fit, frame: Frame, grad, config: AlignConfig) -> _EdgeMatches | None:
    """This round's image-edge correspondences (:mod:`hwp_bench.tracks.edges`), or None."""
    from hwp_bench.tracks.edges import occluding_samples, peak_offsets

    torch = fit.torch
    with torch.no_grad():
        verts = [v.numpy() for v in fit.vertices()]
        xy = [fit.project(torch.as_tensor(v)).numpy() for v in verts]
    faces = [fit.faces[s] for s in fit.sides]
    samples = occluding_samples(
        verts, faces, xy, frame.K, frame.height, frame.width,
        depth_gap=config.depth_gap_m, supersample=config.supersample,
        margin_px=config.search_px + 1.0,
    )  # fmt: skip
    if len(samples) == 0:
        return None
    peak = peak_offsets(
        grad[0], grad[1], samples.p, samples.n,
        search_px=config.search_px, min_gradient=config.edge_min_gradient,
    )  # fmt: skip
    found = np.isfinite(peak)
    if not found.any():
        return None
    s = samples.subset(found)
    T = torch.as_tensor
    return _EdgeMatches(T(s.ia), T(s.ib), T(s.t)[:, None], T(s.p), T(s.n), T(-peak[found]))


def _step(fit: _Fit, m: _Matches, config: AlignConfig, e: _EdgeMatches | None = None) -> None:
    """One L-BFGS solve (scipy's L-BFGS-B, gradients from torch) with the correspondences
    ``m`` (and the image-edge ones ``e``, if any) held fixed. (``torch.optim`` would import
    torch's compiler stack: seconds per process for nothing here.)"""
    from scipy.optimize import minimize

    torch = fit.torch
    sigma, c = config.pixel_sigma, config.robust_scale
    shape = fit.delta.shape
    # Only the vertices of this round's contour edges are posed in the loop.
    ids = [m.ia.numpy(), m.ib.numpy()]
    if e is not None:
        ids += [e.ia.numpy(), e.ib.numpy()]
    used = np.unique(np.concatenate(ids))
    bounds = np.cumsum([0] + fit.num_vertices)
    posers, order = [], []
    for k, side in enumerate(fit.sides):
        mine = used[(used >= bounds[k]) & (used < bounds[k + 1])]
        posers.append(SubsetPoser(fit.model, side, mine - bounds[k]))
        order.append(mine)
    remap = np.full(bounds[-1], -1, dtype=np.int64)
    remap[np.concatenate(order)] = np.arange(sum(len(o) for o in order))
    ia, ib = torch.as_tensor(remap[m.ia.numpy()]), torch.as_tensor(remap[m.ib.numpy()])
    if e is not None:
        ea, eb = torch.as_tensor(remap[e.ia.numpy()]), torch.as_tensor(remap[e.ib.numpy()])

    def loss_and_grad(x: np.ndarray):
        with torch.no_grad():
            fit.delta.copy_(torch.as_tensor(x).reshape(shape))
        fit.delta.grad = None
        sub = []
        for k, poser in enumerate(posers):
            if poser.n:
                sub.append(fit.project(poser(*fit.params(k))))
        all_v = torch.cat(sub)
        moved = (1 - m.t) * all_v[ia] + m.t * all_v[ib] - m.p0
        r1 = (m.off1 + (moved * m.n1).sum(1)) / sigma
        r2 = (m.off2 - (moved[m.near] * m.n2).sum(1)) / sigma
        loss = _cauchy(r1, c).sum() + _cauchy(r2, c).sum() + fit.prior()
        if e is not None:
            moved_e = (1 - e.t) * all_v[ea] + e.t * all_v[eb] - e.p0
            r3 = (e.off + (moved_e * e.n).sum(1)) / config.edge_sigma_px
            loss = loss + _cauchy(r3, c).sum()
        loss.backward()
        return float(loss.detach()), fit.delta.grad.detach().numpy().ravel().copy()

    x0 = fit.delta.detach().numpy().ravel().copy()
    res = minimize(
        loss_and_grad, x0, jac=True, method="L-BFGS-B", options={"maxiter": config.inner_steps}
    )
    best = res.x if res.fun <= loss_and_grad(x0)[0] else x0
    with torch.no_grad():
        fit.delta.copy_(torch.as_tensor(best).reshape(shape))


def _run(fit: _Fit, frame: Frame, target: ContourSet, t_normals, config: AlignConfig):
    history: list[float] = []
    rounds = 0
    best = fit.delta.detach().clone()
    best_value, since_best = float("inf"), 0
    for check in range(config.iterations + 1):
        matches = _match(fit, frame, target, t_normals, config)
        if matches is None:
            break
        value = matches.mean_residual
        history.append(value)
        since_best = 0 if value < best_value - config.tolerance_px else since_best + 1
        if value < best_value:
            best_value, best = value, fit.delta.detach().clone()
        if since_best >= config.patience or check == config.iterations:
            break
        rounds = check + 1
        _step(fit, matches, config)
    with fit.torch.no_grad():
        fit.delta.copy_(best)  # the round whose silhouette agreed best
    residual = min(history) if history else float("nan")
    if config.image_edges and history:
        rounds, residual = _edge_rounds(fit, frame, target, t_normals, config, rounds, residual)
    return AlignResult(
        fit.hands(),
        "ok",
        initial_residual_px=history[0] if history else float("nan"),
        residual_px=residual,
        rounds=rounds,
    )


def _edge_rounds(fit: _Fit, frame: Frame, target, t_normals, config: AlignConfig, rounds, residual):
    """``config.edge_rounds`` more rounds with the image-edge residuals beside the
    silhouette's (correspondences of both re-detected every round). A frame whose model shows
    no inner occluding contour with an image edge near it keeps the silhouette fit. Returns
    the rounds run in all and the silhouette residual of the final parameters."""
    from hwp_bench.tracks.edges import grey_gradient

    image = frame.image
    if image is None or image.ndim != 3 or image.shape[-1] == 0:
        return rounds, residual
    grad = grey_gradient(image)
    moved = False
    for _ in range(config.edge_rounds):
        matches = _match(fit, frame, target, t_normals, config)
        if matches is None:
            break
        edges = _edge_match(fit, frame, grad, config)
        if edges is None:
            break
        _step(fit, matches, config, edges)
        rounds += 1
        moved = True
    if moved:
        final = _match(fit, frame, target, t_normals, config)
        residual = final.mean_residual if final is not None else float("nan")
    return rounds, residual
