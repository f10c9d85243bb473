"""A spawned job starts with its thread budget in the environment (OpenBLAS, OpenMP, MKL size
their pools at import, before the job can limit them), and a value the user set is kept."""

from __future__ import annotations

import json
import multiprocessing
import os

from hwp_bench.runner.executors import THREAD_ENV_VARS, _environment, thread_environment


def _report_environment(path: str) -> None:
    import numpy  # noqa: F401  (loads OpenBLAS, which reads the environment now)
    from threadpoolctl import threadpool_info

    blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    with open(path, "w") as f:
        json.dump({"env": {k: os.environ.get(k) for k in THREAD_ENV_VARS}, "blas": blas}, f)


def test_only_unset_variables_are_given():
    assert thread_environment(3, environ={}) == {k: "3" for k in THREAD_ENV_VARS}
    assert thread_environment(0, environ={}) == {k: "1" for k in THREAD_ENV_VARS}
    kept = thread_environment(2, environ={"OMP_NUM_THREADS": "8"})
    assert kept == {"OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}


def test_a_spawned_child_starts_with_the_budget_and_the_parent_is_restored(tmp_path, monkeypatch):
    for k in THREAD_ENV_VARS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "5")  # the user's: kept
    out = tmp_path / "env.json"
    proc = multiprocessing.get_context("spawn").Process(
        target=_report_environment, args=(str(out),)
    )
    with _environment(thread_environment(1)):
        proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == 0
    seen = json.loads(out.read_text())
    assert seen["env"] == {
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "5",
    }
    # numpy's OpenBLAS (and scipy's, when loaded) came up with one thread
    assert seen["blas"] and all(n == 1 for n in seen["blas"])
    # the parent's environment is as it was
    assert "OMP_NUM_THREADS" not in os.environ and "OPENBLAS_NUM_THREADS" not in os.environ
    assert os.environ["MKL_NUM_THREADS"] == "5"
