"""runner.executors.start_order: the local pool starts two-hand captures first."""

from __future__ import annotations

from hwp_bench.runner.executors import start_order
from hwp_bench.runner.job import plan_jobs


def _captures(jobs, order):
    return [(jobs[i].capture, jobs[i].seed) for i in order]


def test_two_hand_captures_start_first_and_seeds_stay_together():
    # capture00-03 are one hand, capture04-10 two hands (Table II)
    jobs = plan_jobs("wildghand", ["capture00", "capture04", "capture01", "capture07"], [0, 1])
    assert _captures(jobs, start_order(jobs)) == [
        ("capture04", 0), ("capture04", 1), ("capture07", 0), ("capture07", 1),
        ("capture00", 0), ("capture00", 1), ("capture01", 0), ("capture01", 1),
    ]  # fmt: skip


def test_the_clean_twin_is_ordered_the_same_way():
    jobs = plan_jobs("wildghand", ["capture02", "capture10"], [0], dataset="synth-clean")
    assert _captures(jobs, start_order(jobs)) == [("capture10", 0), ("capture02", 0)]


def test_another_dataset_keeps_its_order_even_with_table_ii_names(tmp_path):
    # a user's folder may reuse the names: its hand types are not Table II's
    jobs = plan_jobs("wildghand", ["capture00", "capture04"], [0], dataset=str(tmp_path))
    assert start_order(jobs) == [0, 1]
    jobs = plan_jobs("wildghand", ["mine", "capture04"], [0], dataset=str(tmp_path))
    assert start_order(jobs) == [0, 1]
