"""The benchmark runner: fit, render and score a method on every (capture, seed) of a split.

One :class:`Job` is one (method, preset, config, dataset, capture, seed). :func:`run_job` does
all of its work in the calling process and is what every executor runs. The modules follow a
job's life:

* :mod:`~hwp_bench.runner.job`: its identity (config hash, run folder, done or not);
* :mod:`~hwp_bench.runner.frames`: the dataset resolved once, the splits it reads;
* :mod:`~hwp_bench.runner.locking`: one process per job at a time;
* :mod:`~hwp_bench.runner.fit_loop` and :mod:`~hwp_bench.runner.checkpoint`: training, resumable;
* :mod:`~hwp_bench.runner.renders` and :mod:`~hwp_bench.runner.diagnostics`: what is saved;
* :mod:`~hwp_bench.runner.scoring`: the result file;
* :mod:`~hwp_bench.runner.run_job`: the whole job, never raising;
* :mod:`~hwp_bench.runner.executors`: local processes, Ray, inline;
* :mod:`~hwp_bench.runner.summary`: the table ``hwp-bench run`` prints;
* :mod:`~hwp_bench.runner.sweep`: perturbation-strength sweeps.
"""

from __future__ import annotations

from hwp_bench.runner.frames import load_split, prefetch, prepare_dataset
from hwp_bench.runner.job import (
    Job,
    dataset_fingerprint,
    dataset_id,
    dataset_revision,
    job_is_done,
    job_to_dict,
    plan_jobs,
    skipped_outcome,
)
from hwp_bench.runner.run_job import UnsupportedCapture, run_job
from hwp_bench.runner.scoring import score_renders
from hwp_bench.runner.summary import RunSummary, format_table, summarize

__all__ = [
    "Job",
    "RunSummary",
    "UnsupportedCapture",
    "dataset_fingerprint",
    "dataset_id",
    "dataset_revision",
    "format_table",
    "job_is_done",
    "job_to_dict",
    "load_split",
    "plan_jobs",
    "prefetch",
    "prepare_dataset",
    "run_job",
    "score_renders",
    "skipped_outcome",
    "summarize",
]
