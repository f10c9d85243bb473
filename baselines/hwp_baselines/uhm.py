"""``uhm``: the official Universal Hand Model avatar (Moon et al., CVPR 2024), wrapped.

UHM cannot be re-implemented here: its value is the universal hand model trained on a large
studio capture, released as a checkpoint with its code (github.com/facebookresearch/UHM).
This wrapper runs that code when the user provides it, and otherwise says why it cannot run:
``check_requirements()`` returns the reason, so ``hwp-bench methods`` lists it as unavailable
and tables show ``unavailable: <reason>`` instead of a number. Never a fake result.

As in the paper (Sec. V-B), single hands only: UHM ships a right-hand model fitted on its own
data, not compatible with MANO-HD. Left hands are not mirrored into it.

With ``HWP_UHM_DIR`` pointing at UHM's ``Avatar`` folder (layout in :data:`REQUIRED`) and a
CUDA GPU:

* ``setup`` exports the training frames in UHM's "Custom" phone-scan layout
  (:func:`export_custom`): frames, masks, 2D keypoints (the given hand's joints projected,
  standing in for the Mediapipe detections UHM's tool produces), MANO parameters (the given
  ones, standing in for InterWild's) and the intrinsics;
* the single training iteration runs UHM's own ``main/train.py`` on it (a subprocess in UHM's
  folder; ``cfg.dataset`` must be ``Custom`` in its ``main/config.py``) and reads back the
  personalised identity code and unwrapped texture from ``output/result/<subject>``;
* ``render`` poses UHM from the frame's hand: UHM's pose parameters are its own, so they are
  fitted (pixel-free) to the given hand's 21 joints, then the UHM mesh is rendered with the
  unwrapped texture through :mod:`hwp_baselines.mesh_texture`. UHM's evaluation instead
  fine-tunes its PoseNet and ShadowNet on the *test images*; this benchmark renders from
  parameters only, so that step is not reproduced (documented departure).

The asset-dependent path could not be run on this machine (no UHM checkpoint, no GPU); the
exporter and the availability logic are tested.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from hwp_bench.api import MethodBase, MethodInfo

ENV = "HWP_UHM_DIR"
UHM_PAPER = (
    "Moon, Saito, Shiratori, et al. Authentic Hand Avatar from a Phone Scan via Universal Hand "
    "Model. CVPR 2024"
)
#: Files of UHM's Avatar folder the wrapper needs (relative to HWP_UHM_DIR).
REQUIRED = (
    "main/train.py",
    "main/config.py",
    "common/utils/UHM/uhm.py",
    "common/utils/UHM/ckpt.pth",
    "common/utils/UHM/template.pkl",
    "common/utils/human_model_files/mano/MANO_RIGHT.pkl",
)
#: UHM's "Custom" keypoint order (its Custom.py), as indices into hwp_bench's 21 joints
#: (16 MANO-ordered + tips thumb, index, middle, ring, pinky).
CUSTOM_FROM_HWP = (
    0,
    13, 14, 15, 16,  # thumb 1-3, tip
    1, 2, 3, 17,  # index
    4, 5, 6, 18,  # middle
    10, 11, 12, 19,  # ring
    7, 8, 9, 20,  # pinky
)  # fmt: skip


def uhm_problem(root: str | None = None) -> str | None:
    """Why UHM cannot run here (None when it can)."""
    root = root if root is not None else os.environ.get(ENV, "")
    if not root:
        return (
            f"needs the official UHM code and checkpoint: set {ENV} to UHM's Avatar folder "
            "(github.com/facebookresearch/UHM) with common/utils/UHM/ckpt.pth and MANO_RIGHT.pkl"
        )
    base = Path(root).expanduser()
    missing = [p for p in REQUIRED if not (base / p).is_file()]
    if missing:
        return f"{ENV}={base} lacks {', '.join(missing)}"
    import torch

    if not torch.cuda.is_available():
        return "the official UHM code needs a CUDA GPU"
    return None


def export_custom(frames, root: Path, subject: str, side: str = "right") -> Path:
    """Write ``frames`` in UHM's Custom layout under ``root/data/Custom/data/<subject>``.

    One sequence ``0``; frame files named by the frame index; keypoints are the projected
    joints of the given hand in UHM's Custom order; MANO parameters as UHM's json.
    """
    import torch
    from PIL import Image

    from hwp_bench.hand import load_hand_model

    model = load_hand_model("open")
    subj = Path(root) / "data" / "Custom" / "data" / subject
    seq = subj / "0"
    for sub in ("frames", "masks", "keypoints", "mano_params/params"):
        (seq / sub).mkdir(parents=True, exist_ok=True)
    lines = []
    for f in frames:
        hand = f.hands.get(side)
        if hand is None:
            raise ValueError(f"UHM fits one {side} hand; frame {f.index} has none")
        img = np.asarray(f.image, np.float32)
        img = img if img.max() > 1.0 else img * 255.0
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            seq / "frames" / f"{f.index}.png"
        )
        mask = np.zeros(img.shape[:2], np.float32) if f.mask is None else np.asarray(f.mask)
        Image.fromarray((mask > 0.5).astype(np.uint8) * 255).save(seq / "masks" / f"{f.index}.png")
        with torch.no_grad():
            out = model(
                torch.as_tensor(hand.pose)[None], torch.as_tensor(hand.shape)[None],
                torch.as_tensor(hand.trans)[None], side=side,
            )  # fmt: skip
        j = out.joints[0].numpy().astype(np.float64)
        K = np.asarray(f.K, np.float64)
        uv = (j / j[:, 2:3]) @ K.T
        kp = uv[list(CUSTOM_FROM_HWP), :2]
        (seq / "keypoints" / f"{f.index}.json").write_text(json.dumps(kp.tolist()))
        params = {
            "root_pose": hand.pose[:3].tolist(),
            "hand_pose": hand.pose[3:].tolist(),
            "shape": hand.shape.tolist(),
            "trans": hand.trans.tolist(),
        }
        (seq / "mano_params" / "params" / f"{f.index}.json").write_text(json.dumps(params))
        lines.append(f"0 {f.index}")
    K = np.asarray(frames[0].K, np.float64)
    cam = {"focal": [K[0, 0], K[1, 1]], "princpt": [K[0, 2], K[1, 2]]}
    (seq / "cam_param.json").write_text(json.dumps(cam))
    (subj / "frame_list_train.txt").write_text("\n".join(lines) + "\n")
    (subj / "frame_list_test.txt").write_text("")
    return subj


class UHM(MethodBase):
    @classmethod
    def method_info(cls) -> MethodInfo:
        return MethodInfo(
            id="uhm",
            name="UHM",
            paper=UHM_PAPER,
            version="0.1.0",
            description="The official UHM avatar code and checkpoint, run on the capture "
            f"(needs {ENV} and a CUDA GPU).",
            required_features=("image", "mask", "hand_params", "camera"),
            hand_types=("single",),
            default_config={"subject": "hwp", "pose_fit_steps": 200, "timeout_s": 0},
            presets={"quick": {}, "paper": {}},
            implementation_status="wrapper",
            notes="Runs the authors' code and weights; unavailable without them. Rendered from "
            "the given hand parameters (UHM pose fitted to the hand's joints) instead of UHM's "
            "test-time PoseNet/ShadowNet fine-tuning on test images.",
        )

    @classmethod
    def check_requirements(cls) -> str | None:
        return uhm_problem()

    def initialize(self) -> None:
        self.id_code = None  # [C] personalised identity code
        self.texture = None  # [3, T, T] unwrapped texture in [0, 1]
        self._uhm = None

    @property
    def root(self) -> Path:
        problem = uhm_problem()
        if problem:
            raise RuntimeError(f"uhm unavailable: {problem}")
        return Path(os.environ[ENV]).expanduser().resolve()

    def setup(self, train_frames, val_frames=None) -> None:
        super().setup(train_frames, val_frames)
        export_custom(self.train_frames, self.root, self.config["subject"])

    @property
    def num_iterations(self) -> int:
        return 1

    def train_iteration(self, step: int) -> dict[str, float]:
        main = self.root / "main"
        timeout = int(self.config["timeout_s"]) or None
        subprocess.run(
            [sys.executable, "train.py", "--subject_id", self.config["subject"]],
            cwd=main, check=True, timeout=timeout,
        )  # fmt: skip
        result = self.root / "output" / "result" / self.config["subject"]
        self._read_result(result)
        return {"loss": 0.0}

    def _read_result(self, result: Path) -> None:
        import torch
        from PIL import Image

        self.id_code = torch.tensor(json.loads((result / "id_code.json").read_text()))
        tex = np.asarray(Image.open(result / "unwrapped_texture_refine.png").convert("RGB"))
        self.texture = torch.as_tensor(tex.astype(np.float32) / 255.0).permute(2, 0, 1)

    def state_dict(self) -> dict[str, Any]:
        return {"id_code": self.id_code, "texture": self.texture}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.id_code, self.texture = state["id_code"], state["texture"]

    def _layer(self):
        """UHM's own module (``common/utils/uhm.py`` exposes ``uhm`` with ``layer``,
        ``vertex_uv``, ``face_uv``, ``face``), imported from the user's checkout."""
        if self._uhm is None:
            sys.path.insert(0, str(self.root / "common"))
            sys.path.insert(0, str(self.root / "main"))
            from utils.uhm import uhm  # type: ignore[import-not-found]

            self._uhm = uhm
        return self._uhm

    def render(self, frame) -> dict[str, np.ndarray]:
        import torch

        from hwp_baselines.mesh_texture import sample_textures
        from hwp_bench.hand import load_hand_model

        if self.id_code is None:
            raise RuntimeError("uhm: fit or load a checkpoint before render()")
        hand = frame.hands.get("right")
        color = np.zeros((frame.height, frame.width, 3), np.float32)
        alpha = np.zeros((frame.height, frame.width), np.float32)
        if hand is None:
            return {"color": color, "alpha": alpha}
        uhm = self._layer()
        dev = torch.device("cuda")
        model = load_hand_model("open")
        with torch.no_grad():
            target = model(
                torch.as_tensor(hand.pose)[None], torch.as_tensor(hand.shape)[None],
                torch.as_tensor(hand.trans)[None], side="right",
            ).joints[0].to(dev)  # fmt: skip
        layer = uhm.layer.to(dev)
        id_code = self.id_code.to(dev)[None]
        root_pose = torch.as_tensor(hand.pose[:3], device=dev)[None].clone().requires_grad_(True)
        hand_pose = torch.as_tensor(hand.pose[3:], device=dev)[None].clone().requires_grad_(True)
        trans = torch.as_tensor(hand.trans, device=dev)[None].clone().requires_grad_(True)
        opt = torch.optim.Adam([root_pose, hand_pose, trans], lr=1e-2)
        order = [uhm.joints_name.index(n) for n in _uhm_joint_names(uhm)]
        for _ in range(int(self.config["pose_fit_steps"])):
            opt.zero_grad()
            mesh, joints = layer(root_pose, hand_pose, id_code, trans)
            loss = (joints[0, order] - target).pow(2).sum(-1).mean()
            loss.backward()
            opt.step()
        with torch.no_grad():
            mesh, _ = layer(root_pose, hand_pose, id_code, trans)
        from hwp_bench.synth.raster import rasterize

        verts = mesh[0].double().cpu().numpy()
        faces = np.asarray(uhm.face, np.int64)
        face_id, bary, _ = rasterize(verts, faces, np.asarray(frame.K), frame.width, frame.height)
        hit = face_id >= 0
        vuv = np.asarray(uhm.vertex_uv, np.float64)
        fuv = np.asarray(uhm.face_uv, np.int64)
        uv = np.einsum("pk,pkc->pc", bary[hit], vuv[fuv[face_id[hit]]])
        side = torch.zeros(int(hit.sum()), dtype=torch.long)
        vals = sample_textures(self.texture[None], side, torch.as_tensor(uv, dtype=torch.float32))
        color[hit] = vals.numpy()
        alpha[hit] = 1.0
        return {"color": color, "alpha": alpha}


def _uhm_joint_names(uhm) -> list[str]:
    """UHM's joint names matching hwp_bench's 21 joints, in hwp_bench's order (UHM names its
    joints like Custom.py: Wrist, Thumb_1..4, Index_1..4, ...)."""
    custom = ["Wrist"] + [f"{f}_{i}" for f in ("Thumb", "Index", "Middle", "Ring", "Pinky")
                          for i in range(1, 5)]  # fmt: skip
    inverse = {hwp: c for c, hwp in enumerate(CUSTOM_FROM_HWP)}
    return [custom[inverse[k]] for k in range(21)]
