"""The aligner's image-edge term (hwp_bench.tracks.edges, ``AlignConfig(image_edges=True)``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hwp_bench.tracks.align import AlignConfig, align_frame
from hwp_bench.tracks.edges import grey_gradient, peak_offsets


def _step_image(x0: float, size: int = 24, axis: int = 1, dark: float = 0.2, bright: float = 0.7):
    """A box-filtered step edge (dark left of / above ``x0``, bright beyond), 3 channels."""
    centres = np.arange(size) + 0.5
    frac = np.clip(centres + 0.5 - x0, 0.0, 1.0)  # bright part of each pixel [j, j+1)
    line = dark + (bright - dark) * frac
    img = np.tile(line[None, :], (size, 1)) if axis == 1 else np.tile(line[:, None], (1, size))
    return np.repeat(img[..., None], 3, axis=-1)


@pytest.mark.parametrize("axis", [1, 0])
@pytest.mark.parametrize("x0", [11.0, 11.23, 11.5, 11.81, 12.37])
def test_the_peak_search_finds_a_step_edge_to_a_tenth_of_a_pixel(x0, axis):
    gx, gy = grey_gradient(_step_image(x0, axis=axis))
    start = x0 + np.array(
        [-1.2, -0.45, 0.1, 0.6, 1.15]
    )  # points up to 1.2 px off, along the normal
    other = np.full(5, 7.5)
    pts = np.stack([start, other] if axis == 1 else [other, start], axis=1)
    normals = np.tile([1.0, 0.0] if axis == 1 else [0.0, 1.0], (5, 1))
    off = peak_offsets(gx, gy, pts, normals, search_px=2.0)
    np.testing.assert_allclose(start + off, x0, atol=0.1)
    # the normal's sign does not matter: the magnitude of the derivative is searched
    off_flipped = peak_offsets(gx, gy, pts, -normals, search_px=2.0)
    np.testing.assert_allclose(start - off_flipped, x0, atol=0.1)


def test_the_peak_search_drops_weak_edges_and_edges_beyond_its_range():
    gx, gy = grey_gradient(_step_image(12.3))
    normals = np.array([[1.0, 0.0]])
    # 3.8 px from the edge: the strongest sample is at the end of the +-2 px range
    assert np.isnan(peak_offsets(gx, gy, np.array([[8.5, 7.5]]), normals))[0]
    # a faint edge (0.01 grey levels) is below the threshold
    gx, gy = grey_gradient(_step_image(12.3, dark=0.5, bright=0.51))
    assert np.isnan(peak_offsets(gx, gy, np.array([[12.0, 7.5]]), normals))[0]
    assert np.isfinite(peak_offsets(gx, gy, np.array([[12.0, 7.5]]), normals, min_gradient=0.001))


def test_the_edge_term_is_the_default_and_the_silhouette_aligner_keeps_its_digest():
    """On by default; switched off, the configuration (cache key, producer digest) is exactly
    the silhouette aligner's of before, so its cached test poses and results stay valid."""
    from hwp_bench.io.canonical import canonical_hash

    on = AlignConfig().to_dict()
    assert on == AlignConfig(image_edges=True).to_dict()
    assert on["image_edges"] is True and on["search_px"] == 2.0 and on["depth_gap_m"] == 0.008
    assert on["edge_sigma_px"] == 0.5 and on["edge_rounds"] == 6
    off = AlignConfig(image_edges=False).to_dict()
    assert "image_edges" not in off and "search_px" not in off and "edge_rounds" not in off
    # the digest the silhouette aligner had while it was the default (aligner-v4-dbb69d584c60)
    assert canonical_hash(off)[:12] == "dbb69d584c60"
    assert canonical_hash(on)[:12] != canonical_hash(off)[:12]


# HWP-Synth quick, capture07 (gestures), test frame 96: the middle finger folded over the palm.
FOLD_FRAME = 96
FOLD_JOINTS = (4, 5, 6)  # the middle finger's joints (hand model joint ids)
FOLD_PERTURB = 0.15  # rad of further curl, per joint, in the estimate


@pytest.fixture(scope="module")
def folded_frame():
    """The generator's own frame (128 px, drawn in memory: no dataset on disk); the estimate
    is the exact pose with the folded finger curled by FOLD_PERTURB rad more per joint (along
    each joint's own rotation axis)."""
    from hwp_bench.data import HandParams
    from hwp_bench.synth.reference import reference_scene

    frame = reference_scene("capture07", preset="quick", seed=0).frame(FOLD_FRAME)
    exact = frame.annotations["exact_hands"]
    est = {}
    for side, hp in exact.items():
        pose = np.array(hp.pose, dtype=np.float64)
        for j in FOLD_JOINTS:
            aa = pose[3 * j : 3 * j + 3]
            pose[3 * j : 3 * j + 3] = aa + FOLD_PERTURB * aa / np.linalg.norm(aa)
        est[side] = HandParams(pose, np.array(hp.shape), np.array(hp.trans))
    return dataclasses.replace(frame, hands=est)


def _finger_px(frame, hands) -> float:
    """Mean image distance of the folded finger's joints from the exact ones."""
    import torch

    from hwp_bench.hand import load_hand_model

    model = load_hand_model("open", 0, dtype=torch.float64)
    K = np.asarray(frame.K, np.float64)
    out = []
    for side, hp in hands.items():
        ex = frame.annotations["exact_hands"][side]
        pts = []
        for p in (hp, ex):
            j = (
                model(
                    *(
                        torch.as_tensor(np.asarray(x, np.float64))[None]
                        for x in (p.pose, p.shape, p.trans)
                    ),
                    side=side,
                )
                .joints[0]
                .numpy()[list(FOLD_JOINTS)]
            )
            pts.append(j[:, :2] / j[:, 2:] * K[[0, 1], [0, 1]] + K[:2, 2])
        out.append(np.linalg.norm(pts[0] - pts[1], axis=1).mean())
    return float(np.mean(out))


def test_image_edges_pull_a_finger_folded_over_the_palm_towards_its_exact_pose(folded_frame):
    """The mask does not show a finger folded in front of the palm: the silhouette aligner
    leaves it near the estimate; the image edge at its rim moves it towards the exact pose."""
    f = folded_frame
    before = _finger_px(f, f.hands)
    silhouette = align_frame(f, AlignConfig(image_edges=False))
    edges = align_frame(f)  # the default aligner
    assert silhouette.status == edges.status == "ok"
    assert edges.rounds > silhouette.rounds  # edge rounds ran
    err_sil, err_edge = _finger_px(f, silhouette.hands), _finger_px(f, edges.hands)
    # measured: 1.89 px before, 1.89 px after the silhouette fit, 0.81 px with the image edges
    assert before > 1.5 and err_sil > 1.5, (before, err_sil)
    assert err_edge < 1.1 and err_edge < 0.6 * err_sil, (before, err_sil, err_edge)


def test_the_edge_term_is_deterministic(folded_frame):
    cfg = AlignConfig(image_edges=True, edge_rounds=2)
    a, b = align_frame(folded_frame, cfg), align_frame(folded_frame, cfg)
    for side in a.hands:
        for field in ("pose", "shape", "trans"):
            np.testing.assert_array_equal(
                getattr(a.hands[side], field), getattr(b.hands[side], field)
            )
