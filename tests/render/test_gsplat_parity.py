"""cpu vs gsplat on the same scenes. Needs CUDA and gsplat; no GPU was lent when this was built,
so this has never run here and the README says the parity is unmeasured."""

from __future__ import annotations

import pytest
import torch

from hwp_bench.render import gsplat_available, rasterize
from hwp_bench.render.scenes import random_scene, simple_camera


@pytest.mark.gpu
@pytest.mark.skipif(not gsplat_available(), reason="needs a CUDA device and the gsplat package")
def test_cpu_matches_gsplat_on_random_scene():
    w, h = 64, 48
    vm, K = simple_camera(w, h, 60.0, dtype=torch.float32)
    scene = random_scene(300, seed=0, dtype=torch.float32)
    cpu = rasterize(*scene, vm, K, w, h, backend="cpu")
    gpu = rasterize(*[t.cuda() for t in scene], vm.cuda(), K.cuda(), w, h, backend="gsplat")
    for key in ("color", "alpha", "depth"):
        err = (cpu[key] - gpu[key].cpu()).abs().max().item()
        assert err <= 1e-4, (key, err)
