"""A job's identity: one (method, preset, config, dataset, capture, seed), and where it lives.

:class:`Job` is plain data, so it pickles to worker processes and Ray. Its run folder is named
by the method, preset, dataset, seed and the hash of the resolved config (plus the dataset's
revision), so a finished job is found again and skipped, and a changed config is new work.

The test-pose track (``test_poses``, :mod:`hwp_bench.tracks`) is not part of the run folder's
name: fitting does not depend on it, so a second track re-renders and re-scores the same
fitted method. It is part of where the renders and the result file live
(``renders/<track>/<capture>/``, ``results/<capture>.<protocol>.<track>.json``). Run folders
written before tracks existed keep ``renders/<capture>/`` and ``results/<capture>.<protocol>
.json``: those are the ``estimated`` track (the dataset's parameters), and stay readable.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL, DEFAULT_TRACK, LEGACY_TRACK


@dataclass(frozen=True)
class Job:
    """One unit of work; plain data so it pickles to worker processes and Ray."""

    method: str
    capture: str
    seed: int = 0
    preset: str = "quick"
    overrides: tuple[str, ...] = ()
    dataset: str = "synth"  # the user's name for it: part of the run's identity
    dataset_path: str | None = None  # the resolved folder, when the parent resolved it once
    protocol: str = DEFAULT_PROTOCOL
    test_poses: str = DEFAULT_TRACK  # test-pose track (hwp_bench.tracks): what render() gets
    metrics: tuple[str, ...] | None = None  # None: the protocol's metrics (psnr, ssim, lpips)
    out: str = "runs"
    threads: int = 1  # torch intra-op threads for this job
    checkpoint_every: int | None = None  # iterations; None: about 10 checkpoints per fit
    checkpoint_seconds: float = 300.0  # ... and at least this often in wall time
    progress: bool = True
    progress_position: int | None = None

    # -- derived identity --------------------------------------------------------------------
    def method_class(self):
        from hwp_bench.methods.registry import get_method

        return get_method(self.method)

    def config(self) -> dict[str, Any]:
        return copy.deepcopy(_identity(*self._key())[0])

    def config_hash(self) -> str:
        return _identity(*self._key())[1]

    def _key(self) -> tuple:
        from hwp_bench.methods.registry import ENV_VAR

        return (
            self.method,
            self.preset,
            self.overrides,
            self.seed,
            self.dataset,
            dataset_fingerprint(self.dataset),
            os.environ.get(ENV_VAR, ""),
        )

    def run_name(self) -> str:
        return f"{self.method}-{self.preset}-{_slug(self.dataset)}-s{self.seed}-{self.config_hash()[:10]}"

    def run_dir(self) -> Path:
        return Path(self.out) / self.run_name()

    def result_path(self) -> Path:
        return self.run_dir() / "results" / f"{self.capture}.{self.protocol}.{self.test_poses}.json"

    def renders_dir(self) -> Path:
        return self.run_dir() / "renders" / self.test_poses / self.capture

    def render_marker(self) -> Path:
        """Written once the render folder is complete (count, timings, test-pose digest)."""
        return self.run_dir() / "status" / f"{self.capture}.{self.test_poses}.renders.json"

    # -- the layout before test-pose tracks (read-only; it is the estimated track) -----------
    def legacy_result_path(self) -> Path | None:
        if self.test_poses != LEGACY_TRACK:
            return None
        return self.run_dir() / "results" / f"{self.capture}.{self.protocol}.json"

    def legacy_renders(self) -> tuple[Path, Path] | None:
        """(render folder, its completion marker) of the old layout, for the estimated track."""
        if self.test_poses != LEGACY_TRACK:
            return None
        run = self.run_dir()
        return run / "renders" / self.capture, run / "status" / f"{self.capture}.renders.json"

    def existing_result_path(self) -> Path:
        """The result file of this job as found on disk (new layout first), else the new path."""
        path = self.result_path()
        legacy = self.legacy_result_path()
        if not path.is_file() and legacy is not None and legacy.is_file():
            return legacy
        return path


@functools.lru_cache(maxsize=256)
def _identity(
    method, preset, overrides, seed, dataset, revision, _env
) -> tuple[dict[str, Any], str]:
    """(resolved config, config hash) of a job; cached because discovery reads metadata."""
    from hwp_bench.methods.config import config_hash, identity_config
    from hwp_bench.methods.registry import get_method

    info = get_method(method).method_info()
    config = info.resolve_config(preset, list(overrides), seed=seed)
    extra = {"method": info.id, "version": info.version, "dataset": dataset_id(dataset)}
    if revision is not None:
        # New data (a new HWP-Synth generator, say) is new work, never a reason to skip.
        extra["dataset_revision"] = revision
    # Options at their neutral value (added later, old behaviour) do not change the identity.
    identity = identity_config(config, getattr(info, "neutral_options", {}) or {})
    return config, config_hash(identity, extra=extra)


def dataset_fingerprint(dataset: str) -> str | None:
    """What version of the data a dataset argument means, known without loading it.

    HWP-Synth: the generator version that makes (or made) it. A folder: its generator marker
    (``hwp_synth.json``) or the ``revision`` its manifest records. ``hwp``: None (the Hub
    revision is only known once downloaded).
    """
    if dataset in ("synth", "synth-clean"):
        return _synth_generator_version()
    if dataset == "hwp":
        return None
    folder = Path(dataset).expanduser()
    marker = read_json(folder / "hwp_synth.json")
    if marker and "generator_version" in marker:
        return f"hwp_bench.synth v{marker['generator_version']}"
    manifest = read_json(folder / "hwp_dataset.json") or {}
    rev = manifest.get("revision")
    return None if rev is None else str(rev)


def _slug(text: str) -> str:
    name = Path(text).name if ("/" in text or os.sep in text) else text
    return re.sub(r"[^A-Za-z0-9_.]+", "_", name).strip("_") or "dataset"


def dataset_id(dataset: str) -> str:
    """Stable identity of a dataset argument: the name for built-ins, the absolute path else."""
    if dataset in ("synth", "synth-clean", "hwp"):
        return dataset
    return str(Path(dataset).expanduser().resolve())


def plan_jobs(
    method: str,
    captures: Sequence[str],
    seeds: Sequence[int],
    **common: Any,
) -> list[Job]:
    """The job grid, capture-major so that the first results cover every seed of a capture."""
    return [Job(method=method, capture=c, seed=int(s), **common) for c in captures for s in seeds]


@functools.lru_cache(maxsize=1)
def _synth_generator_version() -> str | None:
    try:
        from hwp_bench.synth.generate import GENERATOR_VERSION
    except ImportError:
        return None
    return f"hwp_bench.synth v{GENERATOR_VERSION}"


def dataset_revision(job: Job) -> str | None:
    """The dataset's revision for the result file (see :func:`dataset_fingerprint`).

    For ``hwp`` it is read from the folder the job ran on (the data home's manifest names the
    upstream commit it was fetched from); the job's identity does not depend on it.
    """
    rev = dataset_fingerprint(job.dataset)
    if rev is None and job.dataset_path:
        rev = dataset_fingerprint(job.dataset_path)
    return rev


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def skipped_outcome(job: Job) -> dict[str, Any]:
    """The outcome of a finished job, without starting a worker for it."""
    return {
        "method": job.method,
        "capture": job.capture,
        "seed": job.seed,
        "run": job.run_name(),
        "result": str(job.existing_result_path()),
        "status": "skipped",
        "seconds": 0.0,
    }


def job_is_done(job: Job) -> bool:
    """A readable result file of this exact run and track exists (the run name holds the hash
    too; a result file of the old layout counts for the estimated track), made from test
    poses of the current producer (the aligner's version and configuration, for ``aligned``:
    results from an older aligner are redone, from the final checkpoint)."""
    from hwp_bench.results import ResultError, read_result
    from hwp_bench.tracks import track_producer

    producer = track_producer(job.test_poses)

    for path in (job.result_path(), job.legacy_result_path()):
        if path is None or not path.is_file():
            continue
        try:
            body = read_result(path)
        except (OSError, ResultError):
            continue
        dataset = body.get("dataset") or {}
        track = dataset.get("test_poses", LEGACY_TRACK)
        if (
            (body.get("extra") or {}).get("run_hash") == job.config_hash()
            and track == job.test_poses
            and dataset.get("test_poses_producer") == producer
        ):
            return True
    return False


def job_to_dict(job: Job) -> dict[str, Any]:
    return dataclasses.asdict(job)
