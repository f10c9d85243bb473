"""DPD (paper Sec. III-C): size, shapes, omega dropout, zero start."""

import torch
from wildghand.config import PRESETS, full_config
from wildghand.dpd import ATTR_DIM, DPD
from wildghand.encoding import temporal_encoding


def test_temporal_encoding_is_21_dims_for_k9():
    t = torch.tensor([0.0, 0.25, 0.5])
    enc = temporal_encoding(t, 9)
    assert enc.shape == (3, 21)
    assert torch.allclose(enc[:, 0], t)
    # sin(2^0 pi t) at t = 0.5 is 1; cos(2^1 pi t) at t = 0.5 is -1
    assert abs(enc[2, 1].item() - 1.0) < 1e-6
    assert abs(enc[2, 1 + 10 + 1].item() + 1.0) < 1e-6


def test_parameter_count_and_shapes_at_paper_preset():
    cfg = full_config(preset="paper")
    dpd = DPD(cfg["dpd_freqs"], cfg["dpd_width"], cfg["dpd_dropout"])
    n = sum(p.numel() for p in dpd.parameters())
    # 21*256+256 + 256*256+256 + 257 + (259*3+3)*3 + (260*4+4) + 258 = 75,323 ("about 75k")
    assert n == 75_323
    assert PRESETS["paper"]["subdivision"] == 3
    dpd.eval()
    g = torch.randn(2, 500, ATTR_DIM)
    delta, used, raw = dpd(g, torch.tensor([0.1, 0.7]))
    assert delta.shape == (2, 500, ATTR_DIM)
    assert used.shape == raw.shape == (2,)


def test_omega_starts_at_zero_and_stays_in_range():
    dpd = DPD()
    _, omega = dpd.embed(torch.linspace(0, 1, 11))
    assert torch.all(omega == 0)
    with torch.no_grad():
        dpd.psi.bias.fill_(50.0)
    _, omega = dpd.embed(torch.linspace(0, 1, 11))
    assert torch.all(omega <= 1) and torch.all(omega > 0.99)


def test_omega_dropout_rate_is_30_percent():
    dpd = DPD(dropout=0.3)
    with torch.no_grad():
        dpd.psi.bias.fill_(1.0)  # omega = 2 sigmoid(1) - 1 = 0.462 for every frame
    dpd.train()
    gen = torch.Generator().manual_seed(0)
    t = torch.rand(20_000)
    g = torch.zeros(t.shape[0], 1, ATTR_DIM)
    _, used, raw = dpd(g, t, generator=gen)
    dropped = (used == 0).float().mean().item()
    assert abs(dropped - 0.3) < 0.015  # binomial std 0.0032
    kept = used != 0
    assert torch.allclose(used[kept], raw[kept])
    dpd.eval()
    _, used, raw = dpd(g, t)
    assert torch.equal(used, raw)
