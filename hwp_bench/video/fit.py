"""Fit the hand model's parameters to a track of 2D landmarks (one hand side, one video).

Unknowns: one shape per hand per video (10), and per frame the global orientation (3), the
45 finger rotations and the translation (3), which is parameterised as the wrist's pixel
position and its log depth so that every unknown has a scale the optimiser handles well:
``trans = ((u - cx) z / fx, (v - cy) z / fy, z)``.

Energy (all terms are means, so weights do not depend on the number of frames or joints):

* **landmarks**: robust reprojection error of the 21 joints, in units of the hand's size in
  the image (so the weights hold at any resolution). The kernel is Geman-McClure
  (:func:`robust_kernel`): quadratic up to about ``outlier_scale x robust_scale`` (0.12 hand
  sizes), bounded beyond, so a badly placed landmark costs at most a constant and its pull on
  the fit vanishes as it gets worse (as ``1/r^3``), which keeps one wrong finger from
  dragging the hand while the estimator's ordinary few-pixel noise is fitted as noise.
  (Import version 2 used a Cauchy kernel of scale 0.04 hand sizes, ``robust_kernel="cauchy"``:
  it flattens out already at the ordinary noise and still pulls, as ``1/r``, on a landmark
  far off.)
* **relative depth** (when the estimator gives it, as MediaPipe does): the joints' depth
  order, weakly, which breaks the near-orthographic "bent towards or away from the camera"
  ambiguity that 2D points alone leave;
* **pose prior**: :class:`hwp_bench.video.prior.PosePrior` (hinges, twist, limits);
* **shape prior**: squared shape coefficients (the shape space is normalised);
* **temporal smoothness**: squared frame-to-frame changes of the finger rotations, of the
  global rotation matrix, of the wrist's image position (hand-size units) and of the log
  depth, between consecutive frames of the track (frames without landmarks inside a short gap
  are fitted from these terms alone: that is the interpolation).

Optimisation, batched over all frames of the track (a thousand frames cost about what one does):

1. **orientation search**: the six palm landmarks (wrist, thumb base, four knuckles) are rigid
   whatever the fingers do; for each frame, 24 starting orientations (the rotations of a cube)
   are each refined with the fingers flat, and the best is kept. A hand seen edge-on or from
   the back needs no special case;
2. **joint refinement** of everything with all terms, Adam with a cosine-decayed step.

The hand model is evaluated through a joints-only copy of itself (:func:`joints_only_model`):
the same skinning maths on the five fingertip vertices instead of the whole mesh, identical
joints (tested) at a fraction of the cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from hwp_bench.hand import HandData, HandModel
from hwp_bench.hand.rotation import axis_angle_to_matrix
from hwp_bench.video.landmarks import LANDMARK_OWNER, MP_TO_MODEL, NUM_LANDMARKS
from hwp_bench.video.prior import PosePrior, PriorWeights

# Landmarks that are rigid with the palm: wrist, thumb CMC, index/middle/ring/pinky MCP.
PALM_LANDMARKS = (0, 1, 5, 9, 13, 17)


@dataclass
class FitWeights:
    landmarks: float = 1.0
    # The residual (hand sizes) at which a landmark costs one unit near zero: every kernel is
    # e^2 / robust_scale^2 for small e (4 px for a 100 px hand).
    robust_scale: float = 0.04
    # "geman-mcclure" (import version 3) or "cauchy" (version 2); see robust_kernel(). The
    # same kernel weighs the relative depth (at twice the scale) and the orientation search.
    robust_kernel: str = "geman-mcclure"
    # Geman-McClure's saturation scale in units of robust_scale (0.12 hand sizes). Chosen on
    # HWP-Synth quick captures 01, 02, 05 and 09 (docs/video.md) from 1.5, 2, 3, 4 and 6.
    outlier_scale: float = 3.0
    depth: float = 0.05
    pose_prior: float = 1.0
    shape_prior: float = 0.02
    smooth_pose: float = 4.0
    smooth_rot: float = 4.0
    smooth_pos: float = 4.0
    smooth_depth: float = 40.0
    prior: PriorWeights = field(default_factory=PriorWeights)


@dataclass
class FitConfig:
    search_steps: int = 60
    steps: int = 300
    lr: float = 0.03
    init_curl: float = 0.5  # radians of flexion of every finger joint at the start
    # Where each landmark sits relative to its model joint, [21, 3] metres in the right
    # hand's rest frame (see hwp_bench.video.landmarks.landmark_offsets); None: on the joint.
    offsets: np.ndarray | None = None
    weights: FitWeights = field(default_factory=FitWeights)


@dataclass
class TrackObservations:
    """The landmarks of one hand side over the frames of a track.

    ``points`` [T, 21, 2] pixels (landmark order) with ``observed`` [T] False where the frame
    has no landmarks (a gap to interpolate); ``depth`` [T, 21] relative depth in pixels or
    None; ``links`` [L, 2] pairs of consecutive track frames that the smoothness terms tie
    (frames of separate segments are not tied); ``K`` [3, 3] the camera.
    """

    points: np.ndarray
    observed: np.ndarray
    K: np.ndarray
    depth: np.ndarray | None = None
    links: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, np.float64).reshape(-1, NUM_LANDMARKS, 2)
        self.observed = np.asarray(self.observed, bool).reshape(-1)
        self.K = np.asarray(self.K, np.float64).reshape(3, 3)
        if self.depth is not None:
            self.depth = np.asarray(self.depth, np.float64).reshape(-1, NUM_LANDMARKS)
        if self.links is None:
            t = len(self.observed)
            self.links = np.stack([np.arange(t - 1), np.arange(1, t)], 1) if t > 1 else None
        if not self.observed.any():
            raise ValueError("a track needs at least one frame with landmarks")

    @property
    def num_frames(self) -> int:
        return int(self.observed.shape[0])

    def hand_size(self) -> float:
        """Median size (longer box side, px) of the hand over the observed frames."""
        p = self.points[self.observed]
        return float(np.median(np.ptp(p, axis=1).max(-1)))


@dataclass
class FitResult:
    """Fitted parameters of one track: ``pose`` [T, 48], ``shape`` [10], ``trans`` [T, 3],
    ``joints`` [T, 21, 3] (MANO order + tips), ``residual_px`` [T] median landmark error of
    each observed frame (NaN where unobserved), ``energy`` the final objective."""

    side: str
    pose: np.ndarray
    shape: np.ndarray
    trans: np.ndarray
    joints: np.ndarray
    residual_px: np.ndarray
    energy: float


def joints_only_model(model: HandModel) -> HandModel:
    """A copy of ``model`` whose mesh is only its five fingertip vertices.

    Joints (16 from the kinematic chain, 5 tips skinned like any vertex) are exactly those of
    the full model, for a fraction of the skinning cost.
    """

    def cut(d: HandData) -> HandData:
        tips = np.asarray(d.tip_vertices, np.int64)
        tri = np.array([[0, 1, 2]], np.int64)
        return d.replace(
            v_template=d.v_template[tips],
            shapedirs=d.shapedirs[tips],
            posedirs=None if d.posedirs is None else d.posedirs[tips],
            weights=d.weights[tips],
            faces=tri,
            uv_faces=tri,
            uv_coords=np.zeros((3, 2)),
            vertex_uvs=np.zeros((len(tips), 2)),
            tip_vertices=np.arange(len(tips), dtype=np.int64),
        )

    return HandModel(cut(model.data("right")), cut(model.data("left")), dtype=torch.float32)


def cube_rotations() -> np.ndarray:
    """The 24 rotations of a cube ``[24, 3]`` as axis-angle: a coarse cover of SO(3)."""
    from scipy.spatial.transform import Rotation

    mats = []
    for perm in ((0, 1, 2), (1, 2, 0), (2, 0, 1), (1, 0, 2), (0, 2, 1), (2, 1, 0)):
        for signs in np.ndindex(2, 2, 2):
            m = np.zeros((3, 3))
            for r, c in enumerate(perm):
                m[r, c] = 1.0 if signs[r] == 0 else -1.0
            if np.linalg.det(m) > 0:
                mats.append(m)
    return Rotation.from_matrix(np.array(mats)).as_rotvec()


def project(points: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Pixel coordinates ``[..., 2]`` of camera-space points ``[..., 3]`` (pinhole ``K``)."""
    z = points[..., 2:3].clamp_min(1e-6)
    uvw = points @ K.T
    return uvw[..., :2] / z


ROBUST_KERNELS = ("geman-mcclure", "cauchy")


def robust_kernel(e2: torch.Tensor, c: float, kind: str = "geman-mcclure", outlier: float = 3.0):
    """Robust cost of squared residuals ``e2``, normalised so that both kernels are
    ``e2 / c^2`` near zero.

    * ``cauchy``: ``log(1 + e2 / c^2)``, unbounded; its pull falls off only as ``1 / e``;
    * ``geman-mcclure``: ``s^2 e2 / (e2 + s^2 c^2)`` with ``s = outlier``: quadratic while
      ``e << s c``, at most ``s^2``, and its pull falls off as ``1 / e^3`` beyond ``s c``.
    """
    if kind == "cauchy":
        return torch.log1p(e2 / (c * c))
    if kind == "geman-mcclure":
        s2 = outlier * outlier
        return s2 * e2 / (e2 + s2 * c * c)
    raise ValueError(f"robust kernel must be one of {', '.join(ROBUST_KERNELS)}, got {kind!r}")


class _Problem:
    """Tensors shared by both optimisation stages."""

    def __init__(
        self,
        obs: TrackObservations,
        model: HandModel,
        side: str,
        w: FitWeights,
        offsets: np.ndarray | None = None,
    ):
        self.obs = obs
        self.model = model
        self.side = side
        self.w = w
        self.K = torch.as_tensor(obs.K, dtype=torch.float32)
        self.size = max(obs.hand_size(), 4.0)
        self.pts = torch.as_tensor(obs.points, dtype=torch.float32)
        self.obs_mask = torch.as_tensor(obs.observed)
        self.depth = None if obs.depth is None else torch.as_tensor(obs.depth, dtype=torch.float32)
        self.order = torch.as_tensor(MP_TO_MODEL)
        rest = model(None, None, None, side=side).joints[0].detach().double().numpy()
        self.rest = rest
        self.prior = PosePrior(rest, side, w.prior)
        self.owner = torch.as_tensor(LANDMARK_OWNER)
        self.offsets = None
        if offsets is not None:
            o = np.asarray(offsets, np.float64).reshape(NUM_LANDMARKS, 3)
            if side == "left":  # the left hand is the mirror image of the right one
                o = o * np.array([-1.0, 1.0, 1.0])
            self.offsets = torch.as_tensor(o, dtype=torch.float32)

    def robust(self, e2: torch.Tensor, c: float) -> torch.Tensor:
        return robust_kernel(e2, c, self.w.robust_kernel, self.w.outlier_scale)

    def trans(self, uv: torch.Tensor, logz: torch.Tensor) -> torch.Tensor:
        z = logz.exp()
        K = self.K
        x = (uv[..., 0] - K[0, 2]) * z / K[0, 0]
        y = (uv[..., 1] - K[1, 2]) * z / K[1, 1]
        return torch.stack([x, y, z], -1)

    def joints(self, rot, fingers, shape, uv, logz) -> torch.Tensor:
        """Model points the landmarks sit on ``[B, 21, 3]`` (landmark order): the joints,
        moved by the landmark offsets when the config has them."""
        pose = torch.cat([rot, fingers], -1)
        b = pose.shape[0]
        out = self.model(pose, shape.expand(b, -1), self.trans(uv, logz), side=self.side)
        J = out.joints[:, self.order]
        if self.offsets is None:
            return J
        rot_w = out.joint_transforms[:, self.owner, :, :3]  # [B, 21, 3, 3] world rotations
        return J + (rot_w @ self.offsets[:, :, None])[..., 0]

    def data_terms(self, J: torch.Tensor, frames: torch.Tensor, subset=None) -> torch.Tensor:
        """Per-row landmark (+ depth) energy of joints ``J`` [B, 21, 3] for track ``frames``."""
        idx = slice(None) if subset is None else list(subset)
        uv = project(J[:, idx], self.K)
        target = self.pts[frames][:, idx]
        e2 = ((uv - target) ** 2).sum(-1) / self.size**2
        energy = self.w.landmarks * self.robust(e2, self.w.robust_scale).mean(-1)
        if self.depth is not None and self.w.depth > 0:
            z = J[..., 2]
            rel = (z - z[:, :1]) * self.K[0, 0] / z[:, :1]  # pixels, like the estimator's
            d_obs = self.depth[frames]
            ed = ((rel[:, idx] - d_obs[:, idx]) ** 2) / self.size**2
            energy = energy + self.w.depth * self.robust(ed, 2 * self.w.robust_scale).mean(-1)
        return energy


def _init_depth(prob: _Problem) -> np.ndarray:
    """Log depth per frame from the palm's size: rest palm (metres) vs landmarks (pixels)."""
    palm = list(PALM_LANDMARKS)
    rest = prob.rest[list(MP_TO_MODEL)][palm]
    span3 = max(np.linalg.norm(rest[:, None] - rest[None], axis=-1).max(), 1e-3)
    p = prob.obs.points[:, palm]
    span2 = np.linalg.norm(p[:, :, None] - p[:, None], axis=-1).max((1, 2))
    f = 0.5 * (prob.obs.K[0, 0] + prob.obs.K[1, 1])
    z = f * span3 / np.maximum(span2, 1.0)
    return np.log(np.clip(z, 1e-2, 1e4))


def _fill(values: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Linear interpolation (nearest at the ends) of per-frame rows over unobserved frames."""
    out = np.array(values, dtype=np.float64, copy=True)
    t = np.arange(len(observed))
    have = np.flatnonzero(observed)
    flat = out.reshape(len(observed), -1)
    for k in range(flat.shape[1]):
        flat[:, k] = np.interp(t, have, flat[have, k])
    return flat.reshape(out.shape)


def _search_orientation(
    prob: _Problem, steps: int, lr: float, tick: Callable[[int], None]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best (rot, uv, logz) per observed frame over 24 starting orientations.

    With flat fingers and the mean shape the six palm joints are a rigid set of rest points,
    so each hypothesis is just ``R p + t``: no kinematic chain is evaluated.
    """
    obs_idx = np.flatnonzero(prob.obs.observed)
    hyps = cube_rotations()
    n, h = len(obs_idx), len(hyps)
    palm = list(PALM_LANDMARKS)
    rest = prob.rest[list(MP_TO_MODEL)][palm]
    rest_t = torch.as_tensor(rest - prob.rest[0], dtype=torch.float32)  # wrist at the origin
    frames = torch.as_tensor(np.repeat(obs_idx, h))
    rot = torch.tensor(np.tile(hyps, (n, 1)), dtype=torch.float32, requires_grad=True)
    uv0 = torch.as_tensor(np.repeat(prob.obs.points[obs_idx, 0], h, 0), dtype=torch.float32)
    uv = uv0.clone().requires_grad_(True)
    logz0 = _init_depth(prob)[obs_idx]
    logz = torch.tensor(np.repeat(logz0, h), dtype=torch.float32, requires_grad=True)
    target = prob.pts[frames][:, palm]
    depth = None if prob.depth is None else prob.depth[frames][:, palm]

    def energy() -> torch.Tensor:
        R = axis_angle_to_matrix(rot)
        P = rest_t @ R.transpose(-1, -2) + prob.trans(uv, logz)[:, None]
        e2 = ((project(P, prob.K) - target) ** 2).sum(-1) / prob.size**2
        e = prob.robust(e2, prob.w.robust_scale).mean(-1)
        if depth is not None and prob.w.depth > 0:
            z = P[..., 2]
            rel = (z - z[:, :1]) * prob.K[0, 0] / z[:, :1]
            ed = (rel - depth) ** 2 / prob.size**2
            e = e + prob.w.depth * prob.robust(ed, 2 * prob.w.robust_scale).mean(-1)
        # Keep the wrist near its landmark while the orientation turns.
        return e + 1e-3 * (((uv - uv0) / prob.size) ** 2).sum(-1)

    opt = torch.optim.Adam(
        [
            {"params": [rot], "lr": lr * 3},
            {"params": [uv], "lr": lr * 3 * prob.size * 0.05},
            {"params": [logz], "lr": lr},
        ]
    )
    for _ in range(steps):
        opt.zero_grad()
        energy().sum().backward()
        opt.step()
        tick(1)
    with torch.no_grad():
        best = energy().reshape(n, h).argmin(1).numpy()
    pick = np.arange(n) * h + best
    return (
        rot.detach().numpy()[pick],
        uv.detach().numpy()[pick],
        logz.detach().numpy()[pick],
    )


def _continuous_rotvecs(rot: np.ndarray) -> np.ndarray:
    """Axis-angle vectors with no 2*pi jumps between consecutive rows (same rotations)."""
    out = np.array(rot, dtype=np.float64, copy=True)
    for i in range(1, len(out)):
        v = out[i]
        ang = np.linalg.norm(v)
        if ang < 1e-8:
            continue
        axis = v / ang
        alt = axis * (ang - 2 * math.pi)
        if np.linalg.norm(alt - out[i - 1]) < np.linalg.norm(v - out[i - 1]):
            out[i] = alt
    return out


def fit_track(
    obs: TrackObservations,
    model: HandModel,
    side: str,
    config: FitConfig | None = None,
    *,
    shape: np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
) -> FitResult:
    """Fit pose, shape and translation of ``side`` to a track of landmarks.

    ``model`` is any hand model (the full one is accepted: its joints-only copy is used);
    ``shape`` fixes the shape instead of fitting it. ``progress(n)`` is called with the
    number of optimisation steps done (``search_steps + steps`` in total).
    """
    # Small batches are dominated by per-operation overhead, which extra threads only add to
    # (measured: 5 frames fit 2.4x slower with 2 threads than with 1 on 2 cores).
    threads = torch.get_num_threads()
    torch.set_num_threads(1 if obs.num_frames < 512 else threads)
    try:
        return _fit_track(obs, model, side, config or FitConfig(), shape, progress)
    finally:
        torch.set_num_threads(threads)


def _fit_track(obs, model, side, cfg, shape, progress) -> FitResult:
    w = cfg.weights
    tick = progress or (lambda n: None)
    small = joints_only_model(model) if model.num_vertices != 5 else model
    prob = _Problem(obs, small, side, w, cfg.offsets)
    T = obs.num_frames
    observed = obs.observed

    rot_o, uv_o, logz_o = _search_orientation(prob, cfg.search_steps, cfg.lr, tick)
    rot0 = np.zeros((T, 3))
    uv0 = np.zeros((T, 2))
    logz0 = np.zeros(T)
    rot0[observed], uv0[observed], logz0[observed] = _continuous_rotvecs(rot_o), uv_o, logz_o
    rot0 = _fill(rot0, observed)
    uv0 = _fill(uv0, observed)
    logz0 = _fill(logz0, observed)

    rot = torch.tensor(rot0, dtype=torch.float32, requires_grad=True)
    uv = torch.tensor(uv0, dtype=torch.float32, requires_grad=True)
    logz = torch.tensor(logz0, dtype=torch.float32, requires_grad=True)
    # Start half-way into the fingers' range: from flat, a curled finger seen end-on can
    # just as well unfold backwards (same 2D points), and the hinge limits then pin it there.
    curl = torch.as_tensor(prob.prior.curl(cfg.init_curl), dtype=torch.float32)
    fingers = curl.repeat(T, 1).requires_grad_(True)
    fit_shape = shape is None
    beta = torch.zeros(1, 10) if shape is None else torch.as_tensor(shape, dtype=torch.float32)
    beta = beta.reshape(1, 10).clone().requires_grad_(fit_shape)
    params = [
        {"params": [rot, fingers], "lr": cfg.lr},
        {"params": [uv], "lr": cfg.lr * prob.size * 0.05},
        {"params": [logz], "lr": cfg.lr * 0.3},
    ]
    if fit_shape:
        params.append({"params": [beta], "lr": cfg.lr})
    opt = torch.optim.Adam(params)
    base_lrs = [g["lr"] for g in opt.param_groups]
    frames_all = torch.arange(T)
    obs_rows = torch.as_tensor(np.flatnonzero(observed))
    links = None if obs.links is None or len(obs.links) == 0 else torch.as_tensor(obs.links)

    def energy() -> torch.Tensor:
        J = prob.joints(rot, fingers, beta, uv, logz)
        e = prob.data_terms(J[obs_rows], frames_all[obs_rows]).mean()
        e = e + w.pose_prior * prob.prior(fingers)
        e = e + w.shape_prior * (beta**2).mean() * 10
        if links is not None:
            a, b = links[:, 0], links[:, 1]
            R = axis_angle_to_matrix(rot)
            e = e + w.smooth_pose * ((fingers[b] - fingers[a]) ** 2).sum(-1).mean()
            e = e + w.smooth_rot * ((R[b] - R[a]) ** 2).sum((-1, -2)).mean()
            e = e + w.smooth_pos * (((uv[b] - uv[a]) / prob.size) ** 2).sum(-1).mean()
            e = e + w.smooth_depth * ((logz[b] - logz[a]) ** 2).mean()
        return e

    for step in range(cfg.steps):
        scale = 0.5 * (1 + math.cos(math.pi * step / max(cfg.steps, 1)))
        for g, lr in zip(opt.param_groups, base_lrs, strict=True):
            g["lr"] = lr * (0.05 + 0.95 * scale)
        opt.zero_grad()
        e = energy()
        e.backward()
        opt.step()
        tick(1)

    with torch.no_grad():
        final = float(energy())
        pose = torch.cat([rot, fingers], -1)
        trans = prob.trans(uv, logz)
        out = small(pose, beta.expand(T, -1), trans, side=side)
        J = out.joints
        uvp = project(J[:, prob.order], prob.K).numpy()
    res = np.full(T, np.nan)
    err = np.linalg.norm(uvp - obs.points, axis=-1)
    res[observed] = np.median(err[observed], axis=1)
    return FitResult(
        side=side,
        pose=pose.numpy().astype(np.float64),
        shape=beta.detach().numpy().reshape(10).astype(np.float64),
        trans=trans.numpy().astype(np.float64),
        joints=J.numpy().astype(np.float64),
        residual_px=res,
        energy=final,
    )
