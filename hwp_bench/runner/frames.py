"""The frames a job reads: its dataset resolved once, then the train/validation/test splits."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from hwp_bench.runner.job import Job, job_is_done


def load_split(job: Job, split: str):
    from hwp_bench.data import load_frames

    return load_frames(job.dataset_path or job.dataset, job.capture, split)


def load_validation(job: Job):
    try:
        frames = load_split(job, "validation")
    except (KeyError, ValueError, FileNotFoundError):
        return None
    return list(frames) or None


def prepare_dataset(dataset: str, captures: Sequence[str]) -> tuple[Path, list[str]]:
    """Resolve the dataset once in the parent (generating HWP-Synth or downloading HWP before
    workers could race to do it); return its folder and which of ``captures`` it holds."""
    from hwp_bench.data import resolve
    from hwp_bench.data.layout import read_captures

    folder = Path(resolve(dataset, captures=list(captures)))
    present = set(read_captures(folder))
    return folder, [c for c in captures if c in present]


def prefetch(jobs: Sequence[Job]) -> None:
    """Download what every worker would otherwise fetch at the same moment (LPIPS weights).

    Failures are left to the jobs, which report them one by one with the full message.
    """
    try:
        if all(job_is_done(j) for j in jobs):
            return
    except Exception:  # an unknown method, say: the jobs themselves will report it
        return
    wants_lpips = False
    for j in jobs:
        if j.metrics is not None:
            wants_lpips |= "lpips" in j.metrics
        else:
            with contextlib.suppress(Exception):
                from hwp_bench.metrics import get_protocol

                wants_lpips |= "lpips" in get_protocol(j.protocol).metrics
    if wants_lpips:
        with contextlib.suppress(Exception):
            from hwp_bench.metrics.lpips_weights import load_lpips_arrays

            load_lpips_arrays()
