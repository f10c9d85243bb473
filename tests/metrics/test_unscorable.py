"""Frames with nothing to score (no hand pixel) are left out and listed, not fatal."""

from __future__ import annotations

import numpy as np
import pytest

from hwp_bench.metrics.evaluate import EvaluationError, evaluate_folder
from hwp_bench.metrics.protocols import (
    Protocol,
    UnscorableFrame,
    get_protocol,
    list_protocols,
    split_scorable,
)
from hwp_bench.results import verify_result
from hwp_bench.results.schema import schema_problems

from .test_evaluate import DATASET, frames, write_preds


def _emptied(frame, mask=None):
    frame.mask = np.zeros_like(frame.mask) if mask is None else mask
    return frame


@pytest.mark.parametrize("protocol", ["hwp-v1", "hwp-v2", "wildghand-paper"])
def test_an_empty_hand_mask_is_unscorable_under_every_built_in_protocol(protocol):
    assert protocol in list_protocols()
    proto = get_protocol(protocol)
    good, empty = frames(2)
    _emptied(empty)
    proto.check_frame(good)  # scorable: returns quietly
    with pytest.raises(UnscorableFrame, match="hand mask is empty"):
        proto.check_frame(empty)
    # The same frame through score_frame fails the same way (no silent zero score).
    with pytest.raises(UnscorableFrame):
        proto.score_frame(good.image, None, empty, metrics=("psnr",))


def test_hwp_v2_a_hand_without_a_fully_covered_core_is_unscorable_a_broken_mask_is_not():
    proto = get_protocol("hwp-v2")
    thin, missing, misshapen = frames(3)
    line = np.zeros_like(thin.mask)
    line[10, 4:28] = 1.0  # one pixel thin: every pixel has an uncovered neighbour
    _emptied(thin, line)
    with pytest.raises(UnscorableFrame, match="no fully covered pixel"):
        proto.check_frame(thin)
    missing.mask = None
    misshapen.mask = np.ones((5, 5), np.float32)
    for f in (missing, misshapen):
        with pytest.raises(ValueError) as err:
            proto.check_frame(f)
        assert not isinstance(err.value, UnscorableFrame)  # broken data stops the scoring


def test_split_scorable_keeps_order_and_reasons_and_trusts_protocols_without_the_check():
    frs = frames(4)
    _emptied(frs[1])
    _emptied(frs[3])
    keep, left = split_scorable(get_protocol("hwp-v2"), frs)
    assert [f.index for f in keep] == [10, 12]
    assert sorted(left) == [11, 13] and all("hand mask is empty" in r for r in left.values())

    class Legacy:  # a plugin protocol from before check_frame: every frame is scored
        id = "legacy"

    keep, left = split_scorable(Legacy(), frs)
    assert len(keep) == 4 and left == {}
    assert issubclass(UnscorableFrame, ValueError) and hasattr(Protocol, "check_frame")


def test_evaluate_folder_scores_the_rest_and_lists_the_frame_in_a_verifiable_result(tmp_path):
    frs = frames(3)
    write_preds(tmp_path, frs)
    full = evaluate_folder(tmp_path, frs, dataset=DATASET, metrics=("psnr",), progress=False)
    assert "unscored_frames" not in full  # nothing left out: the file is as before
    _emptied(frs[1])
    res = evaluate_folder(tmp_path, frs, dataset=DATASET, metrics=("psnr",), progress=False)
    assert sorted(res["frames"]) == ["10", "12"] and res["frames_expected"] == 2
    assert list(res["unscored_frames"]) == ["11"]
    assert "hand mask is empty" in res["unscored_frames"]["11"]
    assert any("1 test frames not scored" in n for n in res["notes"])
    # The two frames left keep exactly the values they had in the full evaluation.
    for k in ("10", "12"):
        assert res["frames"][k]["psnr"] == full["frames"][k]["psnr"]
    assert res["means"]["psnr"] == pytest.approx(
        np.mean([full["frames"][k]["psnr"] for k in ("10", "12")])
    )
    assert verify_result(res) == [] and schema_problems(res) == []
    for f in frs:
        _emptied(f)
    with pytest.raises(EvaluationError, match="no frame can be scored"):
        evaluate_folder(tmp_path, frs, dataset=DATASET, metrics=("psnr",), progress=False)


def test_the_schema_rejects_malformed_or_contradictory_unscored_frames(tmp_path):
    frs = frames(2)
    write_preds(tmp_path, frs)
    _emptied(frs[1])
    res = evaluate_folder(tmp_path, frs, dataset=DATASET, metrics=("psnr",), progress=False)
    bad_type = dict(res, unscored_frames={"11": 3})
    assert any("unscored_frames must map" in p for p in schema_problems(bad_type))
    overlap = dict(res, unscored_frames={"10": "empty"})
    assert any("names frames that were scored" in p for p in schema_problems(overlap))
    edited = dict(res, unscored_frames={"11": "something else"})
    assert verify_result(edited)  # part of the integrity hash
