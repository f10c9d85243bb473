"""``mean-color``: the trivial method, and the template for writing your own.

What it is, honestly: each hand is painted in one flat colour, the mean colour of that hand's
pixels over the training frames, on the silhouette of the posed template hand (the open hand
model's vertices splatted as discs, nearest hand in front). No texture, no shading, no
learning beyond an average. It is a floor for the benchmark's numbers and a check that the
pipeline (data, posing, rendering, scoring) is wired correctly; any real method must beat it.

As a template it shows the whole contract of :mod:`hwp_bench.api`:

- ``method_info`` declares id, hand types, default config and presets;
- ``initialize`` builds state from ``self.config`` (called before a checkpoint is loaded);
- ``setup`` / ``num_iterations`` / ``train_iteration`` let the runner show progress,
  checkpoint and resume (here one iteration consumes one training frame);
- ``render`` uses only ``frame.K``, ``frame.hands`` and the frame size, never its pixels;
- ``state_dict`` / ``load_state_dict`` are saved by ``MethodBase.save``/``load`` with
  ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hwp_bench.api import MethodBase, MethodInfo

SIDES = ("right", "left")


class MeanColorSplat(MethodBase):
    @classmethod
    def method_info(cls) -> MethodInfo:
        return MethodInfo(
            id="mean-color",
            name="Mean-colour splat (trivial)",
            paper="",
            version="0.1.0",
            description="Each hand in the mean colour of its training pixels, on the posed "
            "template silhouette.",
            required_features=("image", "mask", "hand_params", "camera"),
            hand_types=("single", "inter"),
            default_config={
                "max_train_frames": 0,  # 0: use every training frame
                "point_radius": 0.006,  # metres; disc radius of each splatted vertex
                "hand_model": "open",
                "mask_threshold": 0.5,
            },
            presets={"quick": {"max_train_frames": 60}, "paper": {}},
            implementation_status="trivial",
            notes="A sanity floor, not a method from a paper.",
        )

    @classmethod
    def check_requirements(cls) -> str | None:
        # find_spec, not import: `hwp-bench methods` and a skipping rerun stay free of torch.
        import importlib.util

        if importlib.util.find_spec("hwp_bench.hand") is None:
            return "needs hwp_bench.hand, which this build does not have"
        return None

    # -- state ------------------------------------------------------------------------------
    def initialize(self) -> None:
        self.color_sum = np.zeros((len(SIDES), 3), np.float64)
        self.pixel_count = np.zeros(len(SIDES), np.float64)
        self._model = None
        self._frames: list = []

    def state_dict(self) -> dict[str, Any]:
        import torch

        return {
            "color_sum": torch.from_numpy(self.color_sum.copy()),
            "pixel_count": torch.from_numpy(self.pixel_count.copy()),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.color_sum = state["color_sum"].numpy().astype(np.float64)
        self.pixel_count = state["pixel_count"].numpy().astype(np.float64)

    def colors(self) -> np.ndarray:
        """Per-side mean colour (mid grey for a side never seen in training)."""
        out = np.full((len(SIDES), 3), 0.5, np.float64)
        seen = self.pixel_count > 0
        out[seen] = self.color_sum[seen] / self.pixel_count[seen, None]
        return out

    # -- training ---------------------------------------------------------------------------
    def setup(self, train_frames, val_frames=None) -> None:
        super().setup(train_frames, val_frames)
        frames = list(train_frames)
        cap = int(self.config["max_train_frames"])
        if cap and len(frames) > cap:
            # Evenly spaced, deterministic: the same frames on every run and after a resume.
            picks = np.linspace(0, len(frames) - 1, cap).round().astype(int)
            frames = [frames[i] for i in picks]
        self._frames = frames

    @property
    def num_iterations(self) -> int:
        return len(self._frames)

    def train_iteration(self, step: int) -> dict[str, float]:
        frame = self._frames[step]
        if frame.mask is None:
            raise ValueError(f"mean-color needs hand masks; frame {frame.index} has none")
        labels = self._labels(frame)
        image = np.asarray(frame.image, np.float64)
        if image.dtype == np.uint8 or image.max() > 1.0:
            image = image / 255.0
        inside = np.asarray(frame.mask) >= float(self.config["mask_threshold"])
        for s in range(len(SIDES)):
            sel = inside & (labels == s)
            if sel.any():
                self.color_sum[s] += image[sel].sum(axis=0)
                self.pixel_count[s] += float(sel.sum())
        owned = inside & (labels >= 0)
        if not owned.any():
            return {"loss": 0.0, "pixels": 0.0}
        predicted = self.colors()[labels[owned]]
        return {
            "loss": float(np.mean((image[owned] - predicted) ** 2)),
            "pixels": float(owned.sum()),
        }

    # -- rendering --------------------------------------------------------------------------
    def render(self, frame) -> dict[str, np.ndarray]:
        labels = self._labels(frame)
        colors = self.colors().astype(np.float32)
        color = np.zeros((frame.height, frame.width, 3), np.float32)
        covered = labels >= 0
        color[covered] = colors[labels[covered]]
        return {"color": color, "alpha": covered.astype(np.float32)}

    def _hand_model(self):
        if self._model is None:
            from hwp_bench.hand import load_hand_model

            self._model = load_hand_model(self.config["hand_model"])
        return self._model

    def _vertices(self, frame) -> dict[int, np.ndarray]:
        """Camera-space vertices of each hand present, keyed by side index."""
        import torch

        model = self._hand_model()
        out = {}
        for s, side in enumerate(SIDES):
            hand = frame.hands.get(side)
            if hand is None:
                continue
            with torch.no_grad():
                posed = model(
                    torch.as_tensor(hand.pose, dtype=torch.float32)[None],
                    torch.as_tensor(hand.shape, dtype=torch.float32)[None],
                    torch.as_tensor(hand.trans, dtype=torch.float32)[None],
                    side=side,
                )
            out[s] = posed.vertices[0].detach().cpu().numpy().astype(np.float64)
        return out

    def _labels(self, frame) -> np.ndarray:
        """HxW int map: index of the front-most hand at each pixel, -1 where neither."""
        return splat_labels(
            self._vertices(frame),
            np.asarray(frame.K, np.float64),
            frame.height,
            frame.width,
            float(self.config["point_radius"]),
        )


def splat_labels(
    points: dict[int, np.ndarray], K: np.ndarray, height: int, width: int, radius: float
) -> np.ndarray:
    """Painter's-algorithm disc splatting: every point paints a disc of ``radius`` metres
    (projected) with its label, far points first, so the nearest surface ends up on top."""
    labels = np.full((height, width), -1, np.int64)
    if not points:
        return labels
    xyz = np.concatenate(list(points.values()))
    ids = np.concatenate([np.full(len(v), k) for k, v in points.items()])
    z = xyz[:, 2]
    keep = z > 1e-3
    xyz, ids, z = xyz[keep], ids[keep], z[keep]
    u = K[0, 0] * xyz[:, 0] / z + K[0, 2]
    v = K[1, 1] * xyz[:, 1] / z + K[1, 2]
    r = np.maximum(K[0, 0] * radius / z, 0.5)
    order = np.argsort(-z, kind="stable")
    for i in order:
        x0, x1 = int(np.floor(u[i] - r[i])), int(np.ceil(u[i] + r[i]))
        y0, y1 = int(np.floor(v[i] - r[i])), int(np.ceil(v[i] + r[i]))
        if x1 < 0 or y1 < 0 or x0 >= width or y0 >= height:
            continue
        xa, xb, ya, yb = max(x0, 0), min(x1 + 1, width), max(y0, 0), min(y1 + 1, height)
        # Pixel centres sit at integer coordinates (OpenCV convention).
        gx = np.arange(xa, xb) - u[i]
        gy = np.arange(ya, yb) - v[i]
        disc = gx[None, :] ** 2 + gy[:, None] ** 2 <= r[i] ** 2
        labels[ya:yb, xa:xb][disc] = ids[i]
    return labels
