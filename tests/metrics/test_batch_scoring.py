"""Batch scoring: chunks of frames on several processes give every frame the scores that
scoring it alone gives, for every registered protocol; a dying scoring process loses nothing."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from hwp_bench.data import Frame
from hwp_bench.metrics.evaluate import score_frames
from hwp_bench.metrics.parallel import _POOLS, iter_scores, score_items
from hwp_bench.metrics.protocols import get_protocol, list_protocols

S = 64  # small frames: the pool and the chunking are under test, not the metrics
VERTS = np.array([[x, y, z] for x in (-0.05, 0.05) for y in (-0.05, 0.05) for z in (0.9, 1.0)])


def _items(n: int, seed: int = 0):
    """Frames with masks of several sizes (crops differ), noisy renders, alpha on most."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:S, 0:S]
    K = np.array([[2.0 * S, 0, S / 2], [0, 2.0 * S, S / 2], [0, 0, 1]], np.float32)
    out = []
    for i in range(n):
        r = 17 + (i % 7)
        mask = (((yy - S / 2) ** 2 + (xx - S / 2 - i % 3) ** 2) <= r * r).astype(np.float32)
        gt = rng.random((S, S, 3), dtype=np.float32)
        frame = Frame(
            image=gt, capture="capture00", index=i, num_frames=n, K=K, hands={}, mask=mask
        )
        pred = np.clip(gt + rng.normal(0, 0.02 + 0.01 * (i % 4), gt.shape), 0, 1).astype(np.float32)
        alpha = None if i % 5 == 0 else np.clip(mask + rng.normal(0, 0.1, mask.shape), 0, 1)
        out.append((pred, alpha, frame, VERTS))
    return out


def _alone(protocol, items):
    return [protocol.score_frame(c, a, f, hand_vertices=v) for c, a, f, v in items]


def _assert_same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for k in w:
            assert abs(g[k] - w[k]) <= 1e-6 * max(1.0, abs(w[k])), (k, g[k], w[k])


@pytest.fixture(scope="module")
def items():
    return _items(32)


@pytest.fixture(autouse=True)
def one_thread():
    """The in-process references on one thread, like the pool's processes (and not slowed
    down by spinning OpenMP threads when the machine is busy)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_every_protocol_in_chunks_on_two_processes_equals_frame_by_frame(items):
    assert "hwp-v1" in list_protocols() and "wildghand-paper" in list_protocols()
    for pid in list_protocols():
        proto = get_protocol(pid)
        want = _alone(proto, items)
        assert len({round(w["lpips"], 9) for w in want}) > 25  # the frames really differ
        _assert_same(proto.score_frames(items), want)  # the protocol's batch method
        got = score_items(proto, items, workers=2, chunk_frames=6, min_frames=1)
        _assert_same(got, want)
    assert 2 in _POOLS  # it did run on the pool (started once, reused for each protocol)


def test_a_scoring_process_killed_midway_loses_nothing(items):
    proto = get_protocol("hwp-v1")
    want = _alone(proto, items)
    scores = iter_scores(proto, items, workers=2, chunk_frames=2, min_frames=1)
    got = [next(scores)]
    pool = _POOLS[2]
    victim = next(iter(pool._processes))  # a live pool process
    os.kill(victim, signal.SIGKILL)
    got += list(scores)
    _assert_same(got, want)
    assert _POOLS.get(2) is not pool  # the broken pool was dropped; the next call starts anew


def test_evaluate_score_frames_same_with_and_without_workers(items):
    preds = {int(f.index): (c, a) for c, a, f, _ in items}
    frames = [f for _, _, f, _ in items]
    verts = {int(f.index): v for _, _, f, v in items}
    one, notes_one = score_frames(
        "wildghand-paper", preds, frames, hand_vertices=verts, workers=1
    )  # fmt: skip
    two, notes_two = score_frames("wildghand-paper", preds, frames, hand_vertices=verts, workers=2)
    assert one.keys() == two.keys() == {int(f.index) for f in frames}
    _assert_same([two[i] for i in one], [one[i] for i in one])
    assert notes_one == notes_two and "silhouette missing on 7 of 32 frames" in notes_one[0]


def test_lpips_frames_on_the_pool_equals_one_call_and_both_layouts_agree():
    import importlib

    import torch

    lp = importlib.import_module("hwp_bench.metrics.lpips")  # the module, not the function

    g = torch.Generator().manual_seed(1)
    a = torch.rand(50, 40, 36, 3, generator=g)
    b = (0.6 * a + 0.4 * torch.rand(50, 40, 36, 3, generator=g)).clamp(0, 1)
    with torch.no_grad():
        one = lp.lpips(a, b)
        assert torch.allclose(lp.lpips_frames(a, b, workers=2), one, rtol=0, atol=1e-6)
        lp.CHANNELS_LAST = False
        try:
            nchw = lp.lpips(a, b)  # the network in its plain NCHW layout
            assert (
                not lp.get_lpips().convs[0].weight.is_contiguous(memory_format=torch.channels_last)
            )
        finally:
            lp.CHANNELS_LAST = True
    assert torch.allclose(nchw, one, rtol=0, atol=1e-6) and float(one.min()) > 0.01
