"""LPIPS (AlexNet trunk, v0.1 linear heads) in plain torch, without torchvision.

The network is the one of Zhang et al.'s ``lpips`` package (``net='alex'``, ``version='0.1'``):

* inputs in [-1, 1], then the scaling layer ``(x - shift) / scale`` with shift
  ``[-.030, -.088, -.188]`` and scale ``[.458, .448, .450]``;
* AlexNet features after relu1..relu5: conv 11x11 stride 4 padding 2 (64), max-pool 3/2,
  conv 5x5 p2 (192), max-pool 3/2, conv 3x3 p1 (384, 256, 256); pools have no padding and
  floor mode;
* per layer: unit-normalise features over channels (``x / (||x|| + 1e-10)``), squared
  difference, 1x1 linear head without bias, spatial mean; sum over layers.

Images are channel-last ``[..., H, W, 3]`` in [0, 1] like every metric here; the function
maps them to [-1, 1]. The smallest input with a defined value is 31x31 (three strided stages).
Weights come from :mod:`hwp_bench.metrics.lpips_weights`.

Speed: the shared network runs its convolutions in torch's channels-last memory layout, which
oneDNN's CPU kernels run 10-30% faster than NCHW (same arithmetic, summed in another order:
distances move by ~1e-7). :data:`CHANNELS_LAST` switches it off (benchmarks compare both).
Many frames at once: :func:`lpips_frames` spreads them over the scoring processes of
:mod:`hwp_bench.metrics.parallel`.
"""

from __future__ import annotations

import threading

import torch
import torch.nn.functional as F
from torch import nn

from hwp_bench.metrics.image import as_image_tensor, binarize_mask, crop_to_mask

__all__ = [
    "CHANNELS_LAST",
    "LPIPS",
    "MIN_SIZE",
    "get_lpips",
    "lpips",
    "lpips_frames",
    "masked_lpips",
]

#: Run the shared network in channels-last layout (faster on CPU; see the module docstring).
CHANNELS_LAST = True
MIN_SIZE = 32  # 31 is the smallest size AlexNet's third stage accepts; keep a round number
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
_CONV = (
    (3, 64, 11, 4, 2),
    (64, 192, 5, 1, 2),
    (192, 384, 3, 1, 1),
    (384, 256, 3, 1, 1),
    (256, 256, 3, 1, 1),
)


class LPIPS(nn.Module):
    """The LPIPS distance network. ``forward(x, y)`` takes NCHW tensors in [-1, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(i, o, k, stride=s, padding=p) for i, o, k, s, p in _CONV
        )
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for _, c, _, _, _ in _CONV)
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    @classmethod
    def from_arrays(cls, arrays: dict) -> LPIPS:
        net = cls()
        with torch.no_grad():
            for i in range(5):
                net.convs[i].weight.copy_(torch.from_numpy(arrays[f"conv{i}.weight"]))
                net.convs[i].bias.copy_(torch.from_numpy(arrays[f"conv{i}.bias"]))
                net.lins[i].weight.copy_(torch.from_numpy(arrays[f"lin{i}.weight"]))
        return net

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - self.shift) / self.scale
        if self.convs[0].weight.is_contiguous(memory_format=torch.channels_last):
            x = x.contiguous(memory_format=torch.channels_last)
        feats = []
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            feats.append(x)
            if i < 2:
                x = F.max_pool2d(x, kernel_size=3, stride=2)
        return feats

    @staticmethod
    def _unit(f: torch.Tensor) -> torch.Tensor:
        return f / (f.square().sum(dim=1, keepdim=True).sqrt() + 1e-10)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Distance per image, shape [N]."""
        if x.shape[-1] < 31 or x.shape[-2] < 31:
            raise ValueError(f"LPIPS needs images of at least 31x31, got {tuple(x.shape[-2:])}")
        n = x.shape[0]
        feats = self.features(torch.cat([x, y], dim=0))  # one pass for both: faster on CPU
        total = x.new_zeros(n)
        for f, lin in zip(feats, self.lins, strict=True):
            d = (self._unit(f[:n]) - self._unit(f[n:])).square()
            total = total + lin(d).mean(dim=(1, 2, 3))
        return total


_CACHE: dict[tuple, LPIPS] = {}
_LOCK = threading.Lock()


def get_lpips(*, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> LPIPS:
    """The LPIPS network (weights fetched/cached on first use), one instance per dtype/device
    (and layout: :data:`CHANNELS_LAST`)."""
    key = (dtype, str(device), CHANNELS_LAST)
    with _LOCK:
        net = _CACHE.get(key)
        if net is not None and net.shift.device != torch.device(device):
            net = None  # a caller moved the shared instance with .to(): make a fresh one
        if net is None:
            from hwp_bench.metrics.lpips_weights import load_lpips_arrays

            net = LPIPS.from_arrays(load_lpips_arrays()).to(dtype=dtype, device=device)
            if CHANNELS_LAST:
                net = net.to(memory_format=torch.channels_last)
            with torch.no_grad():  # constants rounded once from their decimal values
                net.shift.copy_(torch.tensor(_SHIFT, dtype=torch.float64).view(1, 3, 1, 1))
                net.scale.copy_(torch.tensor(_SCALE, dtype=torch.float64).view(1, 3, 1, 1))
            _CACHE[key] = net
    return net


def lpips(pred, target, *, net: LPIPS | None = None, dtype: torch.dtype = torch.float32):
    """LPIPS distance between channel-last images in [0, 1]; one value per image.

    Differentiable w.r.t. ``pred`` (usable as a loss); lower is more similar. Inputs are moved
    to the network's device and dtype; the result is on the network's device.
    """
    p = as_image_tensor(pred)
    t = as_image_tensor(target)
    if p.shape != t.shape or p.dim() < 3 or p.shape[-1] != 3:
        raise ValueError(f"LPIPS needs two [..., H, W, 3] images, got {p.shape} and {t.shape}")
    net = net if net is not None else get_lpips(dtype=dtype, device=p.device)
    w = next(net.parameters())
    batch = p.shape[:-3]
    pf = p.reshape(-1, *p.shape[-3:]).permute(0, 3, 1, 2).to(w.device, w.dtype) * 2 - 1
    tf = t.reshape(-1, *t.shape[-3:]).permute(0, 3, 1, 2).to(w.device, w.dtype) * 2 - 1
    return net(pf, tf).reshape(batch)


def masked_lpips(pred, target, mask, *, net: LPIPS | None = None, dtype=torch.float32):
    """LPIPS on the mask's bounding box (grown to >= 32 px) with the outside set to black."""
    p = as_image_tensor(pred)
    t = as_image_tensor(target)
    m = binarize_mask(mask)
    batch = p.shape[:-3]
    pf = p.reshape(-1, *p.shape[-3:])
    tf = t.reshape(-1, *t.shape[-3:])
    mf = m.reshape(-1, *m.shape[-2:])
    vals = []
    for i in range(pf.shape[0]):
        a, b = crop_to_mask(pf[i], tf[i], mf[i], min_size=MIN_SIZE)
        vals.append(lpips(a, b, net=net, dtype=dtype))
    return torch.stack(vals).reshape(batch)


def _lpips_chunk(pred, target, dtype) -> torch.Tensor:
    with torch.no_grad():
        return lpips(pred, target, dtype=dtype)


def lpips_frames(pred, target, *, workers: int | None = None, dtype=torch.float32) -> torch.Tensor:
    """:func:`lpips` of ``[N, H, W, 3]`` frames, in chunks on the scoring processes of
    :mod:`hwp_bench.metrics.parallel` (every core; small ``N`` in this process). Same values
    as one :func:`lpips` call, to float rounding; no gradients."""
    from hwp_bench.metrics.parallel import CHUNK_FRAMES, MIN_FRAMES, default_workers, map_chunks

    p = as_image_tensor(pred)
    t = as_image_tensor(target)
    if p.shape != t.shape or p.dim() != 4:
        raise ValueError(f"lpips_frames needs two [N, H, W, 3] batches, got {p.shape}, {t.shape}")
    workers = default_workers() if workers is None else max(1, int(workers))
    if workers <= 1 or p.shape[0] < MIN_FRAMES:
        return _lpips_chunk(p, t, dtype)
    starts = range(0, p.shape[0], CHUNK_FRAMES)
    tasks = [(p[i : i + CHUNK_FRAMES], t[i : i + CHUNK_FRAMES], dtype) for i in starts]
    return torch.cat(map_chunks(_lpips_chunk, tasks, workers=workers))
