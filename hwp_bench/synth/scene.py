"""One HWP-Synth capture: every random choice, and the rendering of its frames.

:class:`CaptureScene` draws everything about a capture up front from independent random
streams (identity, motion, schedules, camera, light, props, estimator noise, backdrop), so the
perturbed capture and its clean twin make exactly the same draws: the twin only sets the
perturbation strengths to zero. Frames are then pure functions of the frame index, which makes
generation resumable and deterministic.

Perturbations are declared units (:mod:`hwp_bench.synth.perturbations`): the scene makes one
instance of every registered perturbation per capture and applies their hooks at fixed points
(hand motion, light, extra meshes, exposure); it knows no perturbation by name.

A frame is rendered as the average of exposure sub-frames (motion blur: one sub-frame when no
perturbation asks for an exposure), each one a full scene state at a continuous time: both
hands (open hand model, camera-space parameters), the perturbations' meshes (props), the
backdrop plane, the light. Masks come from the
same visibility pass as the pixels (and an extra hands-only pass for the amodal hand mask),
averaged over the exposure like the pixels.

Estimator noise (what methods get as hand parameters; the exact ones are kept in
``annotations["exact_hands"]``): per finger-joint axis-angle noise, temporally correlated
(AR(1), rho 0.8, stationary sigma 0.05 rad) plus white noise (0.02 rad); global orientation
noise 0.025 rad; translation jitter 2.5 mm in x/y and 1% of the depth in z (monocular depth is
the least certain); a per-capture shape bias (sigma 0.15) plus 0.02 per frame. Under a
perturbation the estimator gets worse, as real ones do: sigmas scale by 1 + max strength.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwp_bench.data.frame import Frame, HandParams
from hwp_bench.data.splits import split_bounds, split_of
from hwp_bench.synth import primitives as P
from hwp_bench.synth import textures as T
from hwp_bench.synth.camera import CameraPath, intrinsics
from hwp_bench.synth.motion import make_track, motif_for
from hwp_bench.synth.perturbations import registry
from hwp_bench.synth.perturbations.base import HandMotion, LightState, Perturbation
from hwp_bench.synth.rig import HandRig, axis_angle_to_rotmat, rotmat_to_axis_angle
from hwp_bench.synth.schedule import Schedule
from hwp_bench.synth.shading import KINDS, Light, Mesh, coverage, render, vertex_normals
from hwp_bench.synth.skin import SkinIdentity, bake_skin_texture, linear_to_srgb
from hwp_bench.synth.spec import CaptureInfo, Preset

STREAMS = ("identity", "motion", "schedule", "camera", "light", "props", "noise", "backdrop")
# Depth of the hands: HWP's focal (5000/256 px per image pixel) makes a ~20 cm hand fill
# about 80% of the image at 4.9 m; two hands side by side fill it at 6.3 m (HWP's images are
# crops around the hands, so hands are large in them).
DEPTH = {"single": 4.9, "inter": 6.3}
BACKDROP_BEHIND = 0.30  # metres behind the hands


def _rng_streams(seed: int, number: int) -> dict[str, np.random.Generator]:
    ss = np.random.SeedSequence([int(seed), int(number), 0x5EED])
    kids = ss.spawn(len(STREAMS))
    return {name: np.random.default_rng(k) for name, k in zip(STREAMS, kids, strict=True)}


def _own_stream(seed: int, number: int, tag: str) -> np.random.Generator:
    """A perturbation's own random stream: depends on (seed, capture, tag) only."""
    return np.random.default_rng([int(seed), int(number), 0x5EED, *tag.encode()])


def _perturbation_streams(
    p: Perturbation, rngs: dict[str, np.random.Generator], seed: int, number: int
) -> tuple[np.random.Generator, np.random.Generator]:
    """(schedule stream, set-up stream) of ``p``: named scene streams for the built-ins,
    else one stream of its own for both."""
    if p.streams is None:
        own = _own_stream(seed, number, p.tag)
        return own, own
    return rngs[p.streams[0]], rngs[p.streams[1]]


def _base_rotation(rig: HandRig, palm_to_camera: bool, roll: float, pitch: float) -> np.ndarray:
    """Rotation taking the rest hand to fingers-up, palm (or back) towards the camera."""
    f = rig.finger_dir
    p = rig.palm_normal - f * (rig.palm_normal @ f)
    p /= np.linalg.norm(p)
    A = np.stack([f, p, np.cross(f, p)], 1)
    up = np.array([0.0, -1.0, 0.0])
    nt = np.array([0.0, 0.0, -1.0 if palm_to_camera else 1.0])
    B = np.stack([up, nt, np.cross(up, nt)], 1)
    R0 = B @ A.T
    return P.rotation([0, 0, 1], roll) @ P.rotation([1, 0, 0], -pitch) @ R0


def _euler(e: np.ndarray) -> np.ndarray:
    return P.rotation([0, 0, 1], e[2]) @ P.rotation([0, 1, 0], e[1]) @ P.rotation([1, 0, 0], e[0])


def _segment_distance(p0, p1, q0, q1) -> np.ndarray:
    """Pairwise distances between segments ``p0-p1 [N]`` and ``q0-q1 [M]`` (sampled, exact
    enough for collision pushing: 9 samples per segment)."""
    s = np.linspace(0, 1, 9)[:, None, None]
    a = (p0[None] * (1 - s) + p1[None] * s).reshape(-1, 3)
    b = (q0[None] * (1 - s) + q1[None] * s).reshape(-1, 3)
    return np.linalg.norm(a[:, None] - b[None], axis=-1).min()


@dataclass
class HandState:
    pose: np.ndarray  # (48,) camera space
    shape: np.ndarray
    trans: np.ndarray
    verts: np.ndarray  # (V,3) camera space
    joints: np.ndarray  # (21,3)
    arm_dir: np.ndarray | None = None  # unit, from the wrist along the forearm
    arm_across: np.ndarray | None = None  # unit, the forearm's wide axis


class CaptureScene:
    """Everything about one capture; :meth:`frame` renders frame ``i``."""

    def __init__(
        self,
        info: CaptureInfo,
        preset: Preset,
        seed: int,
        *,
        clean: bool = False,
        num_frames: int | None = None,
        model=None,
    ) -> None:
        if model is None:
            from hwp_bench.hand import load_hand_model

            model = load_hand_model("open", subdivision=0)
        self.model = model
        self.info = info
        self.preset = preset
        self.clean = clean
        self.seed = int(seed)
        self.num_frames = int(num_frames or preset.num_frames(info))
        self.size = preset.size
        self.K = intrinsics(self.size, self.size)
        bounds = split_bounds(self.num_frames)
        self.test_start = bounds["test"][0]
        self.sides = ["right"] if info.hand_type == "single" else ["right", "left"]
        self.depth = DEPTH[info.hand_type]
        rngs = _rng_streams(seed, info.number)
        self.motif = motif_for(info.action, info.hand_type)
        # Tempo scales with the frame rate implied by the preset (quick: ~100 frames).
        self.tempo = tempo = self.motif.tempo * max(1.0, self.num_frames / 150.0) ** 0.5
        # One instance of every registered perturbation, in application order.
        self.perturbations: dict[str, Perturbation] = {
            cls.tag: cls() for cls in registry.registered()
        }
        streams = {
            tag: _perturbation_streams(p, rngs, seed, info.number)
            for tag, p in self.perturbations.items()
        }

        # Identity: one person per capture (both hands share shape and skin).
        r = rngs["identity"]
        self.skin = SkinIdentity.sample(r)
        self.shape = np.clip(r.normal(0, 0.7, 10), -1.8, 1.8)
        self.shape[1:] *= 0.5
        self.rigs, self.textures, self.faces, self.corner_uv = {}, {}, {}, {}
        uv = np.asarray(model.uv_coords, dtype=np.float64)
        uvf = np.asarray(model.uv_faces, dtype=np.int64)
        for side in self.sides:
            rest = self._model(np.zeros(48), np.zeros(3), side)
            rig = HandRig.from_joints(rest.joints, side)
            self.rigs[side] = rig
            faces = np.asarray(model.faces_for(side), dtype=np.int64)
            self.faces[side] = faces
            # UV faces follow the winding of the side's faces.
            same = np.array_equal(faces, np.asarray(model.faces, dtype=np.int64))
            uvf_side = uvf if same else uvf[:, [0, 2, 1]]
            self.corner_uv[side] = uv[uvf_side]
            self.textures[side] = bake_skin_texture(
                rest.verts, faces, uv, uvf_side,
                np.asarray(model.skinning_weights, dtype=np.float64), rig, self.skin,
                preset.texture_size,
            )  # fmt: skip

        # Forearm (skin) and, for some people, a sleeve: not part of the hand masks, but they
        # are in every real video and they hide the model's open wrist.
        rest = self._model(np.zeros(48), np.zeros(3), "right")
        rig = self.rigs["right"]
        near = np.abs((rest.verts - rest.joints[0]) @ rig.finger_dir) < 0.012
        local = rest.verts[near] - rest.joints[0]
        self.arm_radii = (
            0.5 * np.ptp(local @ rig.across) * 0.92,
            0.5 * np.ptp(local @ rig.palm_normal) * 0.92,
        )
        from hwp_bench.synth.noise import ValueNoise

        an = ValueNoise(int(r.integers(2**31)))
        yy, xx = np.mgrid[0:64, 0:64] / 64.0
        mott = an.fbm(np.stack([xx * 6, yy * 12], -1), octaves=3)
        tone = self.skin.tone * np.array([0.97, 0.95, 0.93])
        self.arm_tex = np.clip(tone * (1 + 0.08 * mott[..., None]), 0, 1).astype(np.float32)
        self.sleeve = None
        if r.uniform() < 0.6:
            col = T.srgb_to_linear(r.uniform([0.05, 0.05, 0.05], [0.8, 0.7, 0.75]))
            col = col.mean() + 0.5 * (col - col.mean())  # clothes: muted colours
            weave = 1 + 0.06 * np.sin(xx * 200) * np.sin(yy * 200)
            self.sleeve = {
                "start": float(r.uniform(0.05, 0.09)),
                "tex": np.clip(col * weave[..., None] * (1 + 0.1 * mott[..., None]), 0, 1).astype(
                    np.float32
                ),
            }
        self.arm_geo = P.cylinder(1.0, 1.0, 18, caps=False)

        # Motion.
        r = rngs["motion"]
        self.tracks, self.base_rot, self.anchor = {}, {}, {}
        self.test_tracks = {}
        self.val_start = bounds["validation"][0]
        for side in self.sides:
            mh = self.motif.hands[side]
            self.tracks[side] = make_track(r, mh, self.num_frames, self.test_start, tempo)
            self.test_tracks[side] = make_track(
                r, mh, self.num_frames, self.test_start, tempo, test=True
            )
            for tag, p in self.perturbations.items():
                p.setup_side(self, side, streams[tag][1])
            self.base_rot[side] = _base_rotation(
                self.rigs[side], mh.palm_to_camera, mh.roll, self.motif.pitch
            )
            self.anchor[side] = np.array(mh.anchor) + np.array([0.0, 0.0, self.depth])

        # Perturbation schedules: drawn for every perturbation, tagged or not, so that tags
        # never shift a random stream; untagged ones are zero (the clean twin zeroes all of
        # them in strengths(), after the same draws).
        self.schedules: dict[str, Schedule] = {}
        for tag, p in self.perturbations.items():
            sched = p.schedule(streams[tag][0], self.num_frames, self.test_start)
            self.schedules[tag] = sched if tag in info.perturbations else Schedule.zero()
        self.camera = (
            CameraPath.handheld(rngs["camera"], self.depth)
            if info.device == "phone"
            else CameraPath.static()
        )
        r = rngs["light"]
        az = r.uniform(-0.8, 0.8)
        el = r.uniform(0.5, 0.9)
        self.light_dir = np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
        self.light_dir /= np.linalg.norm(self.light_dir)
        self.ambient = r.uniform(0.35, 0.5) * np.array([1.0, 0.98, 0.95])
        self.sun = r.uniform(0.75, 0.95) * np.array([1.0, 0.97, 0.92])
        for tag, p in self.perturbations.items():
            p.setup(self, streams[tag][1])
        r = rngs["backdrop"]
        from scipy.ndimage import gaussian_filter

        # The backdrop is out of focus (it sits 30 cm behind hands the camera focuses on).
        self.backdrop_tex = gaussian_filter(T.backdrop(r, 512), sigma=(2.0, 2.0, 0.0))
        extent = self.size / self.K[0, 0] * (self.depth + BACKDROP_BEHIND) * 2.2
        self.backdrop = P.plane(extent, extent).transformed(
            np.eye(3), np.array([0.0, 0.0, self.depth + BACKDROP_BEHIND])
        )
        self._draw_noise(rngs["noise"])

    # ------------------------------------------------------------------ helpers
    def _model(self, pose, trans, side):
        import torch

        nthreads = torch.get_num_threads()
        torch.set_num_threads(1)  # same float results whatever the machine's core count
        try:
            out = self._call_model(pose, trans, side)
        finally:
            torch.set_num_threads(nthreads)
        return HandState(
            np.asarray(pose, dtype=np.float64),
            self.shape,
            np.asarray(trans, dtype=np.float64),
            out.vertices[0].detach().double().numpy(),
            out.joints[0].detach().double().numpy(),
        )

    def _call_model(self, pose, trans, side):
        import torch

        return self.model(
            torch.as_tensor(np.asarray(pose, dtype=np.float64).reshape(1, 48), dtype=torch.float32),
            torch.as_tensor(self.shape.reshape(1, 10), dtype=torch.float32),
            torch.as_tensor(np.asarray(trans, dtype=np.float64).reshape(1, 3), dtype=torch.float32),
            side=side,
        )

    @property
    def tags(self) -> tuple[str, ...]:
        """Tags of the perturbations this scene applies, in application order."""
        return tuple(self.perturbations)

    def strengths(self, t: float) -> dict[str, float]:
        """Perturbation strengths at (continuous) time ``t``; zero for the clean twin."""
        if self.clean:
            return {p: 0.0 for p in self.perturbations}
        return {p: float(self.schedules[p](np.array(t))) for p in self.perturbations}

    def _draw_noise(self, r: np.random.Generator) -> None:
        n = self.num_frames
        self.noise = {}
        for side in self.sides:
            ar = np.zeros((n, 45))
            x = r.normal(0, 0.05, 45)
            for i in range(n):
                x = 0.8 * x + np.sqrt(1 - 0.8**2) * r.normal(0, 0.05, 45)
                ar[i] = x
            self.noise[side] = {
                "fingers": ar + r.normal(0, 0.02, (n, 45)),
                "global": r.normal(0, 0.025, (n, 3)),
                "trans": r.normal(0, 1.0, (n, 3)) * np.array([0.0025, 0.0025, 0.01 * self.depth]),
                "shape_bias": r.normal(0, 0.15, 10),
                "shape": r.normal(0, 0.02, (n, 10)),
            }

    # ------------------------------------------------------------------ state
    def _hand_params(self, t: float, s: dict[str, float]) -> dict[str, tuple]:
        """Exact camera-space (pose, trans, forearm direction) per side at time ``t``."""
        R_cam, t_cam = self.camera.at(t)
        out = {}
        for side in self.sides:
            ctrl, eul, tr = self.tracks[side].at(np.array(t))
            # Hand over from training to test keyposes inside the validation frames.
            w = float(
                np.clip((t - self.val_start + 0.5) / max(self.test_start - self.val_start, 1), 0, 1)
            )
            if w > 0:
                w = w * w * (3 - 2 * w)
                tc, te, tt = self.test_tracks[side].at(np.array(t))
                ctrl = (1 - w) * ctrl + w * tc
                eul = (1 - w) * eul + w * te
                tr = (1 - w) * tr + w * tt
            m = HandMotion(ctrl, eul, tr)
            for tag, p in self.perturbations.items():
                p.hand(self, side, t, s.get(tag, 0.0), m)
            ctrl, eul, tr = m.ctrl, m.eul, m.tr
            R_world = _euler(eul) @ self.base_rot[side]
            wrist = self.anchor[side] + tr
            fingers = self.rigs[side].pose_from_controls(ctrl)
            pose = np.concatenate([rotmat_to_axis_angle(R_cam @ R_world), fingers])
            trans = R_cam @ wrist + t_cam
            # The forearm follows the hand's orientation only halfway: the wrist bends.
            R_arm = R_cam @ _euler(0.5 * eul) @ self.base_rot[side]
            out[side] = (
                pose,
                trans,
                -(R_arm @ self.rigs[side].finger_dir),
                R_arm @ self.rigs[side].across,
            )
        return out

    def hand_states(self, times) -> list[dict[str, HandState]]:
        """Exact camera-space hand states at the continuous ``times`` (one model batch per
        side; one torch thread, which is much faster for these small batches)."""
        import torch

        times = [float(t) for t in times]
        params = [self._hand_params(t, self.strengths(t)) for t in times]
        results: list[dict[str, HandState]] = [{} for _ in times]
        nthreads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for side in self.sides:
                poses = np.stack([p[side][0] for p in params])
                trans = np.stack([p[side][1] for p in params])
                n = len(times)
                out = self.model(
                    torch.as_tensor(poses, dtype=torch.float32),
                    torch.as_tensor(np.repeat(self.shape[None], n, 0), dtype=torch.float32),
                    torch.as_tensor(trans, dtype=torch.float32),
                    side=side,
                )
                V = out.vertices.detach().double().numpy()
                J = out.joints.detach().double().numpy()
                for k in range(n):
                    st = HandState(poses[k], self.shape, trans[k], V[k], J[k])
                    st.arm_dir = params[k][side][2]
                    st.arm_across = params[k][side][3]
                    results[k][side] = st
        finally:
            torch.set_num_threads(nthreads)
        if len(self.sides) == 2:
            for r in results:
                self._separate(r)
        return results

    def hands_at(self, t: float, s: dict[str, float] | None = None) -> dict[str, HandState]:
        """Exact camera-space hand states at continuous time ``t``."""
        return self.hand_states([t])[0]

    def _separate(self, states: dict[str, HandState]) -> None:
        """Push two hands apart along the line between them if their bones come closer than
        two finger radii (no gross interpenetration), shifting both equally."""
        bones = []
        for side in ("right", "left"):
            J = states[side].joints
            tips = self.rigs[side].tips
            par = [0, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14]
            a = [J[par[j]] for j in range(1, 16)] + [J[j] for j in (3, 6, 9, 12, 15)]
            b = [J[j] for j in range(1, 16)] + [J[tips[k]] for k in (1, 2, 4, 3, 0)]
            bones.append((np.array(a), np.array(b)))
        d = _segment_distance(bones[0][0], bones[0][1], bones[1][0], bones[1][1])
        need = 0.022
        if d < need:
            c_r = states["right"].joints[:16].mean(0)
            c_l = states["left"].joints[:16].mean(0)
            u = c_r - c_l
            u[2] *= 0.3
            u /= max(np.linalg.norm(u), 1e-9)
            shift = (need - d) * 0.5 * 1.2
            for side, sign in (("right", 1.0), ("left", -1.0)):
                st = states[side]
                st.trans = st.trans + sign * shift * u
                st.verts = st.verts + sign * shift * u
                st.joints = st.joints + sign * shift * u

    def light_at(self, t: float, s: dict[str, float]) -> tuple[Light, float, np.ndarray]:
        """The light at time ``t``: (Light, global gain, colour-temperature tint).

        The capture's base light (direction, sun, ambient, shadows 0.55, gain 1, no tint),
        changed by every perturbation's ``light`` hook, then turned with the camera."""
        R_cam, _ = self.camera.at(t)
        st = LightState(
            self.light_dir.copy(), self.sun.copy(), self.ambient.copy(), 0.55, 1.0, np.ones(3)
        )
        for tag, p in self.perturbations.items():
            p.light(self, t, s.get(tag, 0.0), st)
        light = Light(R_cam @ st.direction, st.sun, st.ambient, shadow_strength=st.shadow_strength)
        return light, st.gain, st.tint

    def meshes_at(self, t: float, s: dict[str, float], hands: dict[str, HandState]):
        """Everything drawn at time ``t``: hands, the perturbations' meshes (props), forearms
        and the backdrop, in that order."""
        R_cam, t_cam = self.camera.at(t)
        meshes = []
        for side, st in hands.items():
            faces = self.faces[side]
            vn = vertex_normals(st.verts, faces)
            meshes.append(
                Mesh(
                    st.verts,
                    faces,
                    self.corner_uv[side],
                    vn[faces],
                    self.textures[side],
                    f"hand_{side}",
                    cull_back=True,
                    wrap=0.35,
                    specular=0.05,
                    shininess=16.0,
                )  # fmt: skip
            )
        for tag, p in self.perturbations.items():
            meshes.extend(p.meshes(self, t, s.get(tag, 0.0), hands))
        for st in hands.values():
            meshes.extend(self._arm_meshes(st))
        bd = self.backdrop.transformed(R_cam, t_cam)
        meshes.append(
            Mesh(bd.verts, bd.faces, bd.corner_uv, bd.corner_normals, self.backdrop_tex,
                 "background", casts_shadow=False)
        )  # fmt: skip
        return meshes

    def _arm_meshes(self, st: HandState) -> list[Mesh]:
        """Forearm (and sleeve) as elliptic cylinders leaving the wrist along ``arm_dir``."""
        d = st.arm_dir / np.linalg.norm(st.arm_dir)
        a = st.arm_across - d * (st.arm_across @ d)
        a /= np.linalg.norm(a)
        b = np.cross(d, a)
        ra, rb = self.arm_radii
        out = []
        # The first few cm overlap the hand's wrist: they never win the z-test against it
        # (depth bias) and cast no shadow (else the wrist would be shadowed from inside).
        parts = [(-0.012, 0.03, 1.0, self.arm_tex, False), (0.03, 0.36, 1.0, self.arm_tex, True)]
        if self.sleeve is not None:
            parts.append((self.sleeve["start"], 0.36, 1.25, self.sleeve["tex"], True))
        g = self.arm_geo
        for start, end, grow, tex, shadow in parts:
            L = end - start
            loc = g.verts.copy()
            # Slight taper: the forearm widens away from the wrist.
            widen = 1.0 + 0.35 * ((loc[:, 2] + 0.5) * (end - start) + start) / 0.36
            x = loc[:, 0] * ra * grow * widen
            y = loc[:, 1] * rb * grow * widen
            z = (loc[:, 2] + 0.5) * L + start
            verts = st.joints[0] + np.outer(x, a) + np.outer(y, b) + np.outer(z, d)
            nloc = g.corner_normals
            nrm = (nloc[..., 0:1] / ra) * a + (nloc[..., 1:2] / rb) * b
            nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True)
            out.append(
                Mesh(
                    verts,
                    g.faces,
                    g.corner_uv,
                    nrm,
                    tex,
                    "arm",
                    double_sided=True,
                    casts_shadow=shadow,
                    depth_bias=0.04,
                    wrap=0.35,
                    specular=0.03,
                    shininess=12.0,
                )
            )
        return out

    # ------------------------------------------------------------------ frames
    def exposure_times(self, i: int) -> np.ndarray:
        """Sub-frame times of frame ``i``: one when still, ``blur_subframes`` when blurred.

        The exposure (in frame intervals) is the longest any perturbation asks for."""
        s = self.strengths(float(i))
        e = 0.0
        for tag, p in self.perturbations.items():
            e = max(e, p.exposure(self, s[tag]))
        if e < 0.05:
            return np.array([float(i)])
        n = self.preset.blur_subframes
        return float(i) + e * (np.linspace(0, 1, n) - 0.5)

    def render_frame(self, i: int, *, exposure: bool = True) -> dict:
        """Linear image, masks and exact states of frame ``i`` (before quantisation).

        ``exposure=False`` renders only the mid-exposure instant (no motion blur), for tests
        and figures that compare a blurred frame with its sharp version.
        """
        H = W = self.size
        ss = self.preset.ss
        times = self.exposure_times(i) if exposure else np.array([float(i)])
        s_mid = self.strengths(float(i))
        acc = np.zeros((H, W, 3))
        hand_cov = np.zeros((H, W))
        vis = np.zeros((H, W))
        occ = np.zeros((H, W))
        occluded = np.zeros((H, W))  # hand pixels hidden by objects (not by a forearm)
        joints_2d = []
        mid_hands = None
        light_info = None
        all_hands = self.hand_states(times)
        for tau, hands in zip(times, all_hands, strict=True):
            s = self.strengths(float(tau))
            light, gain, tint = self.light_at(float(tau), s)
            meshes = self.meshes_at(float(tau), s, hands)
            out = render(meshes, self.K, W, H, light, ss=ss, shadow_res=self.preset.shadow_res)
            acc += out["color"] * gain * tint
            vis += out["hand_right"] + out["hand_left"]
            occ += out["object"]
            hand_meshes = [m for m in meshes if m.kind.startswith("hand_")]  # amodal
            cov, sub = coverage(hand_meshes, self.K, W, H, ss, subpixel=True)
            hand_cov += cov
            hidden = sub & (out["kind_map"] == KINDS.index("object"))
            occluded += hidden.reshape(H, ss, W, ss).mean((1, 3))
            J = np.concatenate([h.joints for h in hands.values()])
            joints_2d.append((J[:, :2] / J[:, 2:3]) * self.K[0, 0] + self.K[:2, 2])
            if abs(tau - i) < 1e-9:
                mid_hands = hands
                light_info = (light, gain, tint)
        n = len(times)
        if mid_hands is None:  # even sub-frame counts: evaluate the centre explicitly
            mid_hands = self.hands_at(float(i), s_mid)
            light_info = self.light_at(float(i), s_mid)
        img = acc / n
        hand_cov /= n
        vis /= n
        occ /= n
        occluded /= n
        blur_len = 0.0
        if n > 1:
            blur_len = float(np.linalg.norm(joints_2d[-1] - joints_2d[0], axis=1).max())
        return {
            "linear": img,
            "mask": hand_cov,
            "visible": vis,
            "occluder": occ,
            "occluded": occluded,
            "hands": mid_hands,
            "strengths": s_mid,
            "light": light_info,
            "blur_length": blur_len,
            "joints_2d": joints_2d[len(joints_2d) // 2],
            "exposure": float(times[-1] - times[0]),
        }

    def develop(self, linear: np.ndarray, i: int) -> np.ndarray:
        """Camera pipeline: lens vignetting, sRGB encoding, sensor noise (1.2/255, seeded by
        frame: the clean twin gets the same grain), 8-bit quantisation."""
        H, W = linear.shape[:2]
        y, x = np.mgrid[0:H, 0:W]
        r2 = ((x + 0.5 - W / 2) ** 2 + (y + 0.5 - H / 2) ** 2) / (0.5 * max(H, W)) ** 2
        srgb = linear_to_srgb(linear * (1.0 - 0.12 * r2)[..., None])
        rng = np.random.default_rng([self.seed, self.info.number, int(i), 0x6E01])
        srgb = srgb + rng.normal(0.0, 1.2 / 255.0, srgb.shape)
        return np.clip(np.rint(srgb * 255.0), 0, 255).astype(np.uint8)

    def noisy_params(self, i: int, side: str, exact: HandState, s: dict[str, float]) -> HandParams:
        nz = self.noise[side]
        k = 1.0 + max(s.values())
        R = axis_angle_to_rotmat(nz["global"][i] * k) @ axis_angle_to_rotmat(exact.pose[:3])
        pose = np.concatenate([rotmat_to_axis_angle(R), exact.pose[3:] + k * nz["fingers"][i]])
        trans = exact.trans + k * nz["trans"][i]
        shape = exact.shape + nz["shape_bias"] + nz["shape"][i]
        return HandParams(pose, shape, trans)

    def frame(self, i: int) -> Frame:
        """Frame ``i`` as stored in the dataset (8-bit sRGB image, masks, annotations)."""
        r = self.render_frame(i)
        img = self.develop(r["linear"], i)
        s = r["strengths"]
        total = float(r["mask"].sum())
        occ_frac = 0.0 if total <= 0 else float(np.clip(r["occluded"].sum() / total, 0, 1))
        light, gain, tint = r["light"]
        active = [p for p in self.perturbations if s[p] > 0.02]
        J = r["joints_2d"]
        lo, hi = J.min(0), J.max(0)
        c, half = (lo + hi) / 2, (hi - lo).max() / 2 * 1.5
        hands = {side: self.noisy_params(i, side, st, s) for side, st in r["hands"].items()}
        exact = {side: HandParams(st.pose, st.shape, st.trans) for side, st in r["hands"].items()}
        ann = {
            "occlusion_fraction": occ_frac,
            "illumination_gain": gain,
            "blur_length": r["blur_length"],
            # Clean means no perturbation at all (exact zeros): such frames are identical,
            # pixel for pixel, in the clean twin.
            "clean": all(s[p] == 0.0 for p in self.perturbations),
            "occluder_mask": r["occluder"].astype(np.float32),
            "visible_mask": r["visible"].astype(np.float32),
            "exact_hands": exact,
            "frame_tags": active,
            "hand_box": np.array([c[0] - half, c[1] - half, c[0] + half, c[1] + half]),
            "strengths": {p: round(float(s[p]), 6) for p in self.perturbations},
            "exposure": r["exposure"],
            "light_direction": [round(float(x), 6) for x in light.direction],
            "color_tint": [round(float(x), 6) for x in tint],
            "ambient": [round(float(x), 6) for x in light.ambient],
        }
        return Frame(
            image=img,
            capture=self.info.capture,
            index=i,
            num_frames=self.num_frames,
            K=self.K.astype(np.float32),
            hands=hands,
            mask=r["mask"].astype(np.float32),
            hand_type=self.info.hand_type,
            split=split_of(i, self.num_frames),
            tags=list(self.info.perturbations),
            annotations=ann,
        )
