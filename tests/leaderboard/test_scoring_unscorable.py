"""Hidden test frames that no protocol can score (no hand pixel) are left out of a
submission's scores, counted per capture, and do not fail the split."""

from __future__ import annotations

import numpy as np
import pytest


def _frames(lb):
    h, w = 40, 48  # LPIPS needs crops of at least 32 px
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(3)
    hand = (((yy - 20) / 15) ** 2 + ((xx - 24) / 17) ** 2 <= 1).astype(np.float32)
    empty = np.zeros((h, w), np.float32)
    masks = {"capture04": [hand, empty, hand], "capture05": [empty, empty]}
    return {
        cap: [
            lb.inter_test_frame(
                rng.uniform(0.1, 0.9, (h, w, 3)).astype(np.float32), m, cap, i, len(ms)
            )
            for i, m in enumerate(ms)
        ]
        for cap, ms in masks.items()
    }


@pytest.mark.parametrize("protocol", ["hwp-v1", "hwp-v2"])
def test_frames_without_a_hand_are_counted_not_scored(tmp_path, lb, protocol):
    from hwp_leaderboard.archive import inspect_archive
    from hwp_leaderboard.groundtruth import FramesGroundTruth
    from hwp_leaderboard.scoring import protocol_scorer, score_archive

    from hwp_bench.metrics.protocols import get_protocol

    frames = _frames(lb)
    gt = FramesGroundTruth(frames, {"inter": ["capture04", "capture05"]}, dataset_id="t")
    sub = lb.pack(tmp_path, frames, "inter", noise=0.05, protocol=protocol)
    index = inspect_archive(sub, spec=gt.spec("inter"))
    record = score_archive(sub, index, gt, protocol_scorer(protocol))

    assert record["unscored_frames"] == {"capture04": 1, "capture05": 2}
    assert record["num_frames"] == 5  # every frame was read and checked
    # capture05 has nothing to score: no figure; capture04 is the mean of its two hand frames
    assert set(record["captures"]) == {"capture04"}
    assert record["captures"]["capture04"]["num_frames"] == 2
    from hwp_leaderboard.archive import iter_renders

    proto = get_protocol(protocol)
    by_index = {f.index: f for f in frames["capture04"]}
    psnr = [
        proto.score_frame(c, a, by_index[i])["psnr"]
        for cap, i, c, a in iter_renders(sub, index, gt.spec("inter"))
        if cap == "capture04" and i in (0, 2)
    ]
    assert record["captures"]["capture04"]["psnr"] == pytest.approx(np.mean(psnr), abs=1e-9)
    assert record["metrics"]["psnr"] == pytest.approx(np.mean(psnr), abs=1e-9)
    assert record["tags"]["hoi"]["num_captures"] == 1
