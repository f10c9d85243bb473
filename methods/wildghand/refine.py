"""Training-pose refinement: per training frame and hand, a learned correction of the estimated
hand parameters, optimised together with the avatar.

Why: the hand parameters of in-the-wild training frames come from an estimator and are off by a
few pixels (HWP-Synth models this noise: global rotation, wrist position, finger joints). A
fit that trusts them sees the same skin at different places in different frames and can only
explain that by blur: fingers turn into a mitten. Avatar methods therefore refine the training
poses together with the appearance (e.g. Anim-NeRF's pose refinement); WildGHand's head (iv)
(delta-h) is the paper's form of it.

What is learned, per prepared training frame ``l`` and hand side, starting at zero:

* ``r`` (3): a rotation applied on the left of the global rotation, ``R' = exp(r) R`` (about the
  wrist, in camera space: the way an estimator's orientation error acts);
* ``t`` (3): an offset of the wrist position (camera space, metres);
* ``f`` (45): offsets of the 15 finger joints' axis-angles.

They are stored normalised by a prior scale, ``delta = sigma * u`` (``refine_sigma_rot`` rad,
``refine_sigma_trans`` m, ``refine_sigma_fingers`` rad), so one learning rate fits all 51
numbers. ``w_refine_prior * mean(u^2)`` pulls a correction towards the estimate; optionally
``w_refine * mean((u - u_before)^2)`` makes each pose pass a trust region around where it
started. The pull towards the estimate has to be strong (0.3): early in a fit the avatar has
been learnt from the noisy poses and is blurred and slightly distorted by them, and a pass
against it that is free to move follows the distortion (measured on HWP-Synth capture00:
weak prior, poses from 2.7 to 6.1 px off; trust regions over five passes, to 3.3 px; the
strong prior, to 2.1 px). Against an avatar learnt from exact poses, the same passes bring
noisy poses from 3.1 to 0.9 px: the passes are as good as the avatar they align to. Optionally (``refine_shape``, off by default)
one shape correction per hand side shared by all frames: an estimator's shape error is mostly a
bias of the capture; off because on HWP-Synth the avatar's template offsets (head iii) absorb it
as well and the shared correction drifted (measured, docs/fidelity.md).

How: alternating (block-coordinate) optimisation. The avatar trains on the corrected poses
(``frame_hands``, no gradient to the corrections). *Pose passes* fit every frame's correction
to its frame with Adam (``refine_lr``) while the avatar is frozen:

* optionally, before the first training step, a silhouette pass (``refine_init_steps``
  steps): the hand model's own silhouette (an opaque splat of its vertices) against the
  frame's hand mask. It needs no avatar, so the avatar never learns from the raw estimates.
  Off by default: on the noised tiny capture of tests/wildghand/test_refine.py the fit with
  it scored 25.6 dB against 26.4 dB without it (25.0 dB with no refinement at all): the
  vertex splat is not the shape the masks were drawn from, so it pulls poses towards its
  own bias;
* at the fractions ``refine_at`` of the fit, avatar passes (``refine_steps`` steps): the same
  silhouette term plus the avatar's colours, its current Gaussians (as a test render draws
  them) moved with their vertices as the corrected hand moves. Why not a gradient step per visit, jointly with the avatar: a frame is visited once
an epoch, a few times in a CPU fit, and each joint step sees an avatar that is still changing;
measured on HWP-Synth, such updates wandered (2.7 px before, 3.6 px after). With the avatar
frozen, a frame's correction converges in a dozen steps (tests/wildghand/test_refine.py), and
each step costs a hand-model pose and one rasterisation, not the network.

Test renders never use the corrections: they belong to training frames. The frame-independent
part of head (iv) (the network's ``delta-h``, clamped to ``refine_clamp``) is unchanged, and
``refine_frames=false`` leaves exactly the paper's form.

:class:`PoseCorrections` holds the corrections and fits one frame's (``fit_frame``) for any
differentiable renderer (Handy's textured mesh uses it too); :class:`PoseRefinement` is the
training hook that gives it to WildGHand and every Gaussian baseline.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from wildghand.geometry import quaternion_multiply  # noqa: F401 (part of this module's API)
from wildghand.hooks import TrainingHooks

#: Layout of one correction vector: rotation, translation, finger pose.
ROT, TRANS, FINGERS = slice(0, 3), slice(3, 6), slice(6, 51)
DIM = 51

#: Config keys (and defaults) of the refinement, shared by every method that uses it.
REFINE_CONFIG: dict[str, Any] = {
    # per-frame training-pose corrections (frame-specific head iv). Off by default since
    # 2026-12-07: from the aligned start (train_poses=aligned) the passes leave the training
    # poses where they were (0.9 px before and after on HWP-Synth; from the exact poses they
    # drift to 0.9 px) and cost 40% of a fit; turn them on with train_poses=estimated
    "refine_frames": False,
    "refine_init_steps": 0,  # steps of a silhouette pass before training (0: none; see above)
    "refine_at": [0.3, 0.6],  # pose passes against the avatar after these fractions of the fit
    "refine_steps": 10,  # Adam steps per frame and avatar pass
    "refine_lr": 0.1,  # Adam learning rate of the normalised corrections u
    "refine_sigma_rot": 0.05,  # rad: prior scale of the global-rotation correction
    "refine_sigma_trans": 0.005,  # m: prior scale of the wrist-position correction
    "refine_sigma_fingers": 0.1,  # rad: prior scale of each finger-joint correction
    "refine_shape": False,  # one shape correction per hand side, shared by all frames
    "refine_sigma_shape": 0.2,  # prior scale of the shape correction (shape units)
    "w_refine": 0.0,  # weight of mean((u - u_before)^2) in a pose pass (its trust region)
    "w_refine_prior": 0.3,  # weight of mean(u^2): the pull towards the estimate
    # where the training poses start: the dataset's estimates, or those refined against each
    # training frame's hand mask by the toolkit's test-pose aligner (see starting_poses)
    "train_poses": "aligned",  # aligned | estimated (the dataset's, the paper's form)
}

TRAIN_POSES = ("estimated", "aligned")


def starting_poses(frames: Sequence[Any], choice: str) -> list:
    """The training frames with the hand parameters a fit starts from (``train_poses``).

    ``estimated``: the dataset's. ``aligned``: each frame's estimate refined against its own
    hand mask by the toolkit's test-pose aligner (``hwp_bench.tracks.cache.aligned_frames``:
    deterministic, cached per dataset, so every method and seed that asks reads the same
    poses). Only training pixels are used; frames without a mask or hands keep their
    estimates. Why: a mask fit places the fingers of HWP-Synth's training frames about four
    times better than the estimates, and blur is what a fit learns from misplaced training
    poses (docs/fidelity.md). Shared by WildGHand, every Gaussian baseline and Handy.
    """
    if choice not in TRAIN_POSES:
        raise ValueError(f"train_poses must be estimated or aligned, not {choice!r}")
    frames = list(frames)
    if choice == "estimated":
        return frames
    from hwp_bench.tracks.cache import aligned_frames

    usable = [f for f in frames if f.hands and f.mask is not None]
    aligned = {}
    for capture in sorted({str(f.capture) for f in usable}):
        group = [f for f in usable if str(f.capture) == capture]
        for index, result in aligned_frames(group, progress=True).items():
            aligned[(capture, int(index))] = result.hands
    return [
        dataclasses.replace(f, hands=aligned[(str(f.capture), int(f.index))])
        if (str(f.capture), int(f.index)) in aligned
        else f
        for f in frames
    ]


def axis_angle_to_quaternion(aa: torch.Tensor) -> torch.Tensor:
    """Unit quaternions [..., 4] (w, x, y, z) of axis-angle vectors [..., 3] (smooth at 0)."""
    t2 = (aa * aa).sum(-1, keepdim=True)
    small = t2 < 1e-12
    t = torch.where(small, torch.ones_like(t2), t2).sqrt()
    half = torch.where(small, 0.5 - t2 / 48.0, torch.sin(t / 2) / t)
    w = torch.where(small, 1.0 - t2 / 8.0, torch.cos(t / 2))
    return torch.cat([w, aa * half], dim=-1)


def quaternion_to_axis_angle(q: torch.Tensor) -> torch.Tensor:
    """Axis-angle vectors [..., 3] of quaternions [..., 4] (w, x, y, z); angle in [0, pi]."""
    q = torch.where(q[..., :1] < 0, -q, q)
    w, v = q[..., :1], q[..., 1:]
    n = v.norm(dim=-1, keepdim=True)
    small = n < 1e-8
    n_safe = torch.where(small, torch.ones_like(n), n)
    factor = torch.where(small, 2.0 / w.clamp(min=1e-8), 2.0 * torch.atan2(n_safe, w) / n_safe)
    return v * factor


def apply_correction(
    pose: torch.Tensor, trans: torch.Tensor, delta: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Corrected ``(pose [B, 48], trans [B, 3])`` for corrections ``delta`` [B, 51] (unscaled:
    radians and metres). ``R' = exp(delta_rot) R``, ``trans' = trans + delta_trans``, finger
    axis-angles plus ``delta_fingers``."""
    q = quaternion_multiply(
        axis_angle_to_quaternion(delta[..., ROT]), axis_angle_to_quaternion(pose[..., :3])
    )
    glob = quaternion_to_axis_angle(q)
    pose = torch.cat([glob, pose[..., 3:] + delta[..., FINGERS]], dim=-1)
    return pose, trans + delta[..., TRANS]


def prior_scales(config: Mapping[str, Any]) -> torch.Tensor:
    """sigma [51]: the prior scale of each correction (what one unit of ``u`` means)."""
    return torch.cat(
        [
            torch.full((3,), float(config["refine_sigma_rot"])),
            torch.full((3,), float(config["refine_sigma_trans"])),
            torch.full((45,), float(config["refine_sigma_fingers"])),
        ]
    )


class PoseCorrections(nn.Module):
    """Normalised corrections ``u`` [frames, 51] per hand side (zero-initialised) and their
    prior scales, ``delta = sigma * u``; with ``shape_sigma`` > 0 also one normalised shape
    correction ``v`` [10] per side shared by all frames, ``delta_shape = shape_sigma * v``."""

    def __init__(
        self,
        num_frames: int,
        sides: Sequence[str],
        sigma: torch.Tensor,
        device=None,
        shape_sigma: float = 0.0,
    ) -> None:
        super().__init__()
        self.register_buffer("sigma", sigma.to(device=device, dtype=torch.float32))
        self.shape_sigma = float(shape_sigma)
        self.u = nn.ParameterDict(
            {s: nn.Parameter(torch.zeros(num_frames, DIM, device=device)) for s in sides}
        )
        self.v = nn.ParameterDict(
            {s: nn.Parameter(torch.zeros(10, device=device)) for s in sides}
            if self.shape_sigma > 0
            else {}
        )

    @property
    def num_frames(self) -> int:
        return next(iter(self.u.values())).shape[0] if len(self.u) else 0

    def delta(self, side: str, positions) -> torch.Tensor:
        """Corrections [B, 51] in radians and metres for frames ``positions`` (int or list)."""
        idx = torch.as_tensor(positions, device=self.sigma.device).reshape(-1)
        return self.u[side][idx] * self.sigma

    def correct(
        self, side: str, positions, pose: torch.Tensor, trans: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Corrected pose and trans of side ``side`` at frames ``positions``."""
        if side not in self.u:
            return pose, trans
        return apply_correction(pose, trans, self.delta(side, positions))

    def correct_shape(self, side: str, shape: torch.Tensor) -> torch.Tensor:
        """``shape`` [B, 10] plus the side's shared shape correction (if any)."""
        if side not in self.v:
            return shape
        return shape + self.shape_sigma * self.v[side]

    def correct_hand(self, side: str, positions, pose, shape, trans):
        """(pose, shape, trans) of side ``side`` at frames ``positions``, all corrected."""
        pose, trans = self.correct(side, positions, pose, trans)
        return pose, self.correct_shape(side, shape), trans

    def prior(self, positions, sides: Sequence[str] | None = None) -> torch.Tensor:
        """``mean(u^2)`` over the given frames' corrections (all sides, or ``sides``), plus
        ``mean(v^2)`` of the shared shape corrections."""
        idx = torch.as_tensor(positions, device=self.sigma.device).reshape(-1)
        names = [s for s in (sides or self.u.keys()) if s in self.u]
        parts = [self.u[s][idx].pow(2).mean() for s in names]
        parts += [self.v[s].pow(2).mean() for s in names if s in self.v]
        if not parts:
            return self.sigma.new_zeros(())
        return torch.stack(parts).sum() / max(1, len(names))

    def fit_frame(
        self,
        position: int,
        loss_fn: Callable[[Callable], torch.Tensor],
        *,
        steps: int,
        lr: float,
        weight: float,
        trust: float = 0.0,
    ) -> list[float]:
        """Fit frame ``position``'s corrections (every side) for ``steps`` Adam steps.

        ``loss_fn(correct)`` renders the frame and returns its loss, posing each hand with
        ``correct(side, pose, shape, trans) -> (pose, shape, trans)`` (the corrections being
        fitted); ``weight * mean(u^2)`` (the prior towards the estimate) and ``trust *
        mean((u - u_start)^2)`` (a trust region around where this fit started) are added. The
        shared shape correction is not touched (it is not the frame's). Returns the loss per
        step."""
        start = {s: self.u[s][position].detach().clone() for s in self.u}
        rows = {s: u.clone().requires_grad_(True) for s, u in start.items()}
        if not rows:
            return []
        opt = torch.optim.Adam(list(rows.values()), lr=lr)

        def correct(side, pose, shape, trans):
            if side not in rows:
                return pose, shape, trans
            pose, trans = apply_correction(pose, trans, (rows[side] * self.sigma)[None])
            return pose, self.correct_shape(side, shape), trans

        history = []
        for _ in range(int(steps)):
            prior = torch.stack([r.pow(2).mean() for r in rows.values()]).mean()
            step = torch.stack([(r - start[s]).pow(2).mean() for s, r in rows.items()]).mean()
            loss = loss_fn(correct) + weight * prior + trust * step
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            history.append(float(loss.detach()))
        with torch.no_grad():
            for s, r in rows.items():
                self.u[s][position] = r.detach()
        return history


def pass_steps(fractions: Sequence[float], num_iterations: int) -> list[int]:
    """The training steps after which pose passes run (``refine_at`` fractions of the fit)."""
    return sorted(
        {min(num_iterations, max(1, round(float(f) * num_iterations))) for f in fractions}
    )


@dataclasses.dataclass
class _Splat:
    """What ``method.rasterize_gaussians`` reads of a hand's Gaussians (the mesh silhouette)."""

    means: torch.Tensor
    quats: torch.Tensor
    scales: torch.Tensor
    opacities: torch.Tensor
    colors: torch.Tensor


class PoseRefinement(TrainingHooks):
    """The training hook: per-frame corrections of each hand's pose (``frame_hands``), fitted
    in pose passes (``after_step``) against the frozen avatar.

    Declared by WildGHand (so every Gaussian baseline, which subclasses it, has it too). Off
    when ``refine_frames`` or ``head_refine`` is false (then head (iv) is the paper's
    frame-independent delta-h alone). Checkpoint entry ``pose_refinement``; the time spent in
    passes is added to the method's ``timing`` under ``pose_passes``.
    """

    def attach(self, method) -> None:
        cfg = method.config
        self.enabled = bool(cfg["refine_frames"]) and bool(cfg["head_refine"])
        self.fractions = [float(f) for f in cfg["refine_at"]]
        self.steps = int(cfg["refine_steps"])
        self.init_steps = int(cfg["refine_init_steps"])
        self._spacing = None
        self.lr = float(cfg["refine_lr"])
        self.trust = float(cfg["w_refine"])
        self.weight = float(cfg["w_refine_prior"])
        self.sigma = prior_scales(cfg)
        self.shape_sigma = float(cfg["refine_sigma_shape"]) if cfg["refine_shape"] else 0.0
        self.corrections = PoseCorrections(0, (), self.sigma, device=method.device)
        self.passes_done = 0
        self._pending: Mapping[str, Any] | None = None

    def setup(self, method) -> None:
        frames = method.prepared_frames
        sides = sorted({s for f in frames for s in f.hands}, key=("right", "left").index)
        self.corrections = PoseCorrections(
            len(frames), sides, self.sigma, device=method.device, shape_sigma=self.shape_sigma
        )
        self.schedule = pass_steps(self.fractions, method.num_iterations)
        self.passes_done = 0  # new frames: nothing fitted yet (a loaded checkpoint says more)
        if self._pending is not None:
            self._load(self._pending)
            self._pending = None

    def frame_hands(self, method, frame, hands):
        if not self.enabled:
            return hands
        if not self.passes_done and self.init_steps > 0:
            # Before the first training step: align every frame's hand model to its mask.
            t0 = time.perf_counter()
            self.pose_pass(method, avatar=False)
            dt = time.perf_counter() - t0
            method.timing["pose_passes"] += dt
            method.timing["network"] -= dt  # (called inside the network phase: count it once)
            self.passes_done += 1
            for m in method.trainable_modules():
                m.train()
        if not self.passes_done:
            return hands
        with torch.no_grad():
            return {
                side: self.corrections.correct_hand(side, frame.position, *hand)
                for side, hand in hands.items()
            }

    def after_step(self, method, step: int, logs: dict[str, float]) -> None:
        if not self.enabled or step + 1 not in getattr(self, "schedule", ()):
            return
        t0 = time.perf_counter()
        losses = self.pose_pass(method)
        method.timing["pose_passes"] += time.perf_counter() - t0
        self.passes_done += 1
        logs["refine_pass_loss"] = float(sum(losses) / max(1, len(losses)))
        with torch.no_grad():
            u = torch.cat([p.reshape(-1) for p in self.corrections.u.values()])
            logs["refine_rms"] = float(u.pow(2).mean().sqrt())

    def mesh_silhouette(self, method, verts: Mapping[str, torch.Tensor], K, h: int, w: int):
        """Soft silhouette [H, W] of the hand model's surface at ``verts`` (side -> [1, V, 3]):
        an opaque isotropic Gaussian per vertex, half its mesh spacing wide. Independent of
        the avatar, so it can align poses before the avatar has learnt anything."""
        if self._spacing is None:
            from wildghand.geometry import vertex_spacing

            template = method.hand(
                *(torch.zeros(1, n, device=method.device) for n in (48, 10, 3)), side="right"
            ).vertices[0]
            faces = torch.as_tensor(method.hand.faces).long().cpu()
            self._spacing = vertex_spacing(template.detach().cpu().float(), faces).to(method.device)
        gs = {}
        for s, v in verts.items():
            n = v.shape[1]
            gs[s] = _Splat(
                means=v,
                quats=v.new_tensor([1.0, 0.0, 0.0, 0.0]).expand(1, n, 4),
                scales=(0.5 * self._spacing)[None, :, None].expand(1, n, 3),
                opacities=v.new_full((1, n), 0.99),
                colors=v.new_ones(1, n, 3),
            )
        return method.rasterize_gaussians(gs, K, h, w)["alpha"]

    def pose_pass(self, method, *, avatar: bool = True) -> list[float]:
        """Fit every prepared frame's corrections; returns each frame's final pass loss.

        The loss: the hand model's silhouette (:meth:`mesh_silhouette`) against the frame's
        hand mask (L1), plus, with ``avatar``, the frozen avatar's colours against the frame
        (L1; its Gaussians move with their vertices as the corrected hand moves)."""
        for m in method.trainable_modules():
            m.eval()
        finals = []
        for fr in method.prepared_frames:
            if fr.mask is None and not avatar:
                continue
            h, w = fr.image.shape[:2]
            with torch.no_grad():
                start = {s: self.corrections.correct_hand(s, fr.position, *hd)
                         for s, hd in fr.hands.items()}  # fmt: skip
                gs = method.canonical_gaussians(start, fr.t) if avatar else {}
                base = {s: method.hand(*start[s], side=s).vertices for s in start}
            target = method.training_target(fr)

            def loss_fn(correct, fr=fr, gs=gs, base=base, target=target, h=h, w=w):
                verts = {s: method.hand(*correct(s, *fr.hands[s]), side=s).vertices
                         for s in base}  # fmt: skip
                loss = target.new_zeros(())
                if fr.mask is not None:
                    alpha = self.mesh_silhouette(method, verts, fr.K, h, w)
                    loss = loss + (alpha - fr.mask).abs().mean()
                if gs:
                    moved = {s: dataclasses.replace(g, means=g.means + (verts[s] - base[s]))
                             for s, g in gs.items()}  # fmt: skip
                    out = method.rasterize_gaussians(moved, fr.K, h, w)
                    loss = loss + (out["color"] - target).abs().mean()
                return loss

            hist = self.corrections.fit_frame(
                fr.position,
                loss_fn,
                steps=self.steps if avatar else self.init_steps,
                lr=self.lr,
                weight=self.weight,
                trust=self.trust,
            )
            finals.append(hist[-1] if hist else 0.0)
        return finals

    # -- results ----------------------------------------------------------------------------
    @torch.no_grad()
    def refined_hands(self, method) -> dict[int, dict[str, tuple[torch.Tensor, ...]]]:
        """Frame index -> side -> (pose [48], shape [10], trans [3]) after refinement (the
        estimates where refinement is off): what the avatar was fitted to."""
        out = {}
        for fr in method.prepared_frames:
            hands = {}
            for side, (pose, shape, trans) in fr.hands.items():
                if self.enabled:
                    pose, shape, trans = self.corrections.correct_hand(
                        side, fr.position, pose, shape, trans
                    )
                hands[side] = (pose[0].cpu(), shape[0].cpu(), trans[0].cpu())
            out[fr.index] = hands
        return out

    # -- persistence ------------------------------------------------------------------------
    def state_dict(self, method) -> dict[str, Any]:
        if not self.enabled:
            return {}
        return {
            "pose_refinement": {
                "u": {s: p.detach().clone() for s, p in self.corrections.u.items()},
                "v": {s: p.detach().clone() for s, p in self.corrections.v.items()},
                "passes_done": self.passes_done,
            }
        }

    def _load(self, entry: Mapping[str, Any]) -> None:
        with torch.no_grad():
            for s, u in entry["u"].items():
                self.corrections.u[s].copy_(u)
            for s, v in entry.get("v", {}).items():
                self.corrections.v[s].copy_(v)
        self.passes_done = int(entry["passes_done"])

    def load_state_dict(self, method, state) -> None:
        entry = state.get("pose_refinement")
        if entry is None or not self.enabled:
            return
        shapes_match = set(entry["u"]) == set(self.corrections.u) and all(
            self.corrections.u[s].shape == u.shape for s, u in entry["u"].items()
        )
        if shapes_match:
            self._load(entry)
        else:  # loaded before setup (a fresh instance): applied once the frames are known
            self._pending = entry
            self.passes_done = int(entry["passes_done"])

    def diagnostics(self, method) -> dict[str, Any]:
        if not self.enabled or not len(self.corrections.u):
            return {}
        with torch.no_grad():
            rms = {
                s: float((u * self.corrections.sigma).pow(2).mean().sqrt())
                for s, u in self.corrections.u.items()
            }
        return {"pose_correction_rms": rms, "pose_passes": self.passes_done}
