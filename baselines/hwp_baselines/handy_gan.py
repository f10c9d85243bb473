"""Optional: the licensed Handy texture GAN, used by ``handy`` when ``HWP_HANDY_DIR`` is set.

Handy's texture model is released on request under a licence (github.com/rolpotamias/handy):
a StyleGAN3 generator pickle ``models/hands_texture_model.pkl`` that is loaded with StyleGAN3's
own ``legacy.load_network_pkl`` (its ``G_ema`` maps a latent ``z`` and an empty label to a UV
texture in [-1, 1]). Expected layout of ``HWP_HANDY_DIR``::

    models/hands_texture_model.pkl
    stylegan3/            (NVlabs' stylegan3 code: dnnlib, legacy, torch_utils)

Guarded twice, because that pickle *runs code* when loaded (it stores the network's classes):
it is only read when the user points at it *and* sets ``trust_handy_pickle=true``; nothing in
the default path imports it. The generator's UV layout is Handy's, so the mesh must carry
Handy's UVs (``hand_model`` converted to Handy's topology, as the paper did for MANO-HD); with
the open hand's UVs the texture would be scrambled. This path needs the licensed files and was
not exercised on this machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

PICKLE = Path("models") / "hands_texture_model.pkl"


def handy_dir_problem(root: str | Path) -> str | None:
    """None if ``root`` looks like a Handy texture-model folder, else what is missing."""
    root = Path(root).expanduser()
    if not root.is_dir():
        return f"HWP_HANDY_DIR={root} is not a folder"
    if not (root / PICKLE).is_file():
        return f"{root / PICKLE} is missing (the licensed Handy texture model)"
    if not (root / "stylegan3" / "legacy.py").is_file():
        return f"{root / 'stylegan3'} with NVlabs' stylegan3 code (legacy.py) is missing"
    return None


class HandyGenerator(nn.Module):
    """Frozen wrapper: ``forward(z [B, z_dim]) -> [B, 3, T, T]`` in [-1, 1]."""

    def __init__(self, g: nn.Module) -> None:
        super().__init__()
        self.g = g.eval().requires_grad_(False)
        self.z_dim = int(g.z_dim)
        self.c_dim = int(getattr(g, "c_dim", 0))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        label = z.new_zeros(z.shape[0], self.c_dim)
        return self.g(z, label, truncation_psi=1, noise_mode="const")


def load_handy_generator(root: str | Path, *, trust: bool) -> HandyGenerator:
    problem = handy_dir_problem(root)
    if problem:
        raise FileNotFoundError(problem)
    if not trust:
        raise PermissionError(
            "the Handy texture model is a code-executing pickle; set trust_handy_pickle=true "
            "(--set trust_handy_pickle=true) to load it from a source you trust"
        )
    root = Path(root).expanduser().resolve()
    sys.path.insert(0, str(root / "stylegan3"))
    try:
        import legacy  # type: ignore[import-not-found]  # from the user's stylegan3 checkout

        with open(root / PICKLE, "rb") as fh:
            g = legacy.load_network_pkl(fh)["G_ema"]
    finally:
        sys.path.remove(str(root / "stylegan3"))
    return HandyGenerator(g.float().cpu())
