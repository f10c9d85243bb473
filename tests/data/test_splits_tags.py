"""The split rule and the Table II / Table V tags."""

from __future__ import annotations

import math

import pytest

from hwp_bench.data import captures_for
from hwp_bench.data.splits import SPLITS, split_bounds, split_indices, split_of
from hwp_bench.data.tags import (
    CAPTURES,
    CONFIGS,
    TABLE_II,
    TABLE_V_GROUPS,
    capture_info,
    query,
    tags_for,
)

PAPER_FRAMES = [901, 742, 828, 1086, 1662, 1216, 1524, 1360, 1444, 1533, 1525]


def _reference_split(i: int, n: int) -> str:
    """The rule as written in docs/design.md, with floats (obviously correct for these sizes)."""
    if i < math.floor(0.8 * n + 1e-9):
        return "train"
    if i < math.floor(0.9 * n + 1e-9):
        return "validation"
    return "test"


@pytest.mark.parametrize("n", [*range(1, 26), *PAPER_FRAMES])
def test_split_boundaries(n):
    b = split_bounds(n)
    assert b["train"][0] == 0 and b["test"][1] == n
    assert b["train"][1] == b["validation"][0] and b["validation"][1] == b["test"][0]
    assert b["train"][1] == (8 * n) // 10 and b["test"][0] == (9 * n) // 10
    idx = split_indices(n)
    assert sorted(i for s in SPLITS for i in idx[s]) == list(range(n))
    for i in range(n):
        assert split_of(i, n) == _reference_split(i, n)
    assert len(idx["test"]) >= 1  # the test clip is never empty


def test_split_examples():
    assert split_bounds(10) == {"train": (0, 8), "validation": (8, 9), "test": (9, 10)}
    assert split_bounds(1) == {"train": (0, 0), "validation": (0, 0), "test": (0, 1)}
    assert split_bounds(1662) == {
        "train": (0, 1329),
        "validation": (1329, 1495),
        "test": (1495, 1662),
    }
    assert split_bounds(901) == {"train": (0, 720), "validation": (720, 810), "test": (810, 901)}
    with pytest.raises(ValueError):
        split_of(5, 5)


def test_table_ii_facts():
    assert [c.frames for c in TABLE_II] == PAPER_FRAMES
    assert sum(PAPER_FRAMES) == 13821  # "over 13.8K frames"
    assert [c.capture for c in TABLE_II if c.hand_type == "single"] == [
        f"capture0{i}" for i in range(4)
    ]
    assert capture_info(9).device == "phone" and capture_info("capture04").device == "webcam"
    assert capture_info("capture00").upstream_folder == "capture0_subsample3_single"
    assert capture_info("capture10").upstream_folder == "capture10_subsample3"
    assert tags_for("capture07") == ["complex_pose", "illumination"]


def test_table_v_groups_reproduce_the_paper():
    # Groups as printed for Table V (docs/design.md, section 'Dataset layout and splits'),
    # by capture number.
    paper = {
        "hoi": {4, 5, 6, 8, 9, 10},
        "complex_pose": {6, 7, 8, 9, 10},
        "illumination": {7},
        "blur": {4, 5, 8, 9, 10},
    }
    assert {k: {CAPTURES[c].number for c in v} for k, v in TABLE_V_GROUPS.items()} == paper
    assert query("inter", perturbation="blur") == [f"capture{n:02d}" for n in (4, 5, 8, 9, 10)]
    assert query("single", perturbation="blur") == ["capture01", "capture03"]
    assert query("inter", device="phone") == ["capture09", "capture10"]
    assert query("all", perturbation="illumination") == ["capture02", "capture07"]


def test_captures_for_every_config():
    assert captures_for("single") == ["capture00", "capture01", "capture02", "capture03"]
    assert captures_for("inter") == [f"capture{i:02d}" for i in range(4, 11)]
    assert captures_for("all") == [f"capture{i:02d}" for i in range(11)]
    assert captures_for("capture07") == ["capture07"]
    assert len(CONFIGS) == 14
    for bad in ("Inter", "capture11", "capture4", "two"):
        with pytest.raises(ValueError, match="unknown config"):
            captures_for(bad)
