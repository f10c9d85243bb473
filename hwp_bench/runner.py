"""The benchmark runner: fit, render and score a method on every (capture, seed) of a split.

One :class:`Job` is one (method, preset, config, dataset, capture, seed). :func:`run_job` does
all of its work in the calling process and is what every executor runs (local processes, Ray
workers, or inline). Its output lives under ``<out>/<run>/`` where ``<run>`` names the method,
preset, dataset, seed and the config hash::

    run.json                                   what this run is (method, config, hash, dataset)
    logs/<capture>.log                         per-job log (losses, checkpoints, errors)
    checkpoints/<capture>/                     method.save() + runner_state.json (step)
    renders/<capture>/<index:05d>.npy|.png|.alpha.npy
    status/<capture>.renders.json              the render folder is complete (timings, digest)
    status/<capture>.failed.json               the last failure, with its traceback
    results/<capture>.<protocol>.json          the result file (DESIGN.md section 3)

Idempotence falls out of that layout: a job whose result file exists is skipped; one whose
renders are complete is only re-scored (a new protocol costs no fitting); one whose final
checkpoint exists is only rendered; one with a partial checkpoint resumes training from the
saved step. Every file is written atomically, so a killed job leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import json
import logging
import math
import os
import re
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwp_bench.io import atomic_write_json
from hwp_bench.method_config import SEED_KEY

DEFAULT_PROTOCOL = "hwp-v1"


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
    metrics: tuple[str, ...] | None = None  # None: the protocol's metrics (psnr, ssim, lpips)
    out: str = "runs"
    threads: int = 1  # torch intra-op threads for this job
    checkpoint_every: int | None = None  # iterations; None: about 10 checkpoints per fit
    checkpoint_seconds: float = 300.0  # ... and at least this often in wall time
    progress: bool = True
    progress_position: int | None = None

    # -- derived identity --------------------------------------------------------------------
    def method_class(self):
        from hwp_bench.registry import get_method

        return get_method(self.method)

    def config(self) -> dict[str, Any]:
        return copy.deepcopy(_identity(*self._key())[0])

    def config_hash(self) -> str:
        return _identity(*self._key())[1]

    def _key(self) -> tuple:
        from hwp_bench.registry import ENV_VAR

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
        return self.run_dir() / "results" / f"{self.capture}.{self.protocol}.json"


@functools.lru_cache(maxsize=256)
def _identity(
    method, preset, overrides, seed, dataset, revision, _env
) -> tuple[dict[str, Any], str]:
    """(resolved config, config hash) of a job; cached because discovery reads metadata."""
    from hwp_bench.method_config import config_hash
    from hwp_bench.registry import get_method

    info = get_method(method).method_info()
    config = info.resolve_config(preset, list(overrides), seed=seed)
    extra = {"method": info.id, "version": info.version, "dataset": dataset_id(dataset)}
    if revision is not None:
        # New data (a new HWP-Synth generator, say) is new work, never a reason to skip.
        extra["dataset_revision"] = revision
    return config, config_hash(config, extra=extra)


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
    marker = _read_json(folder / "hwp_synth.json")
    if marker and "generator_version" in marker:
        return f"hwp_bench.synth v{marker['generator_version']}"
    manifest = _read_json(folder / "hwp_dataset.json") or {}
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


# -- consumed interfaces (other areas); imported lazily so the CLI starts fast -------------------


def load_split(job: Job, split: str):
    from hwp_bench.data import load_frames

    return load_frames(job.dataset_path or job.dataset, job.capture, split)


def _load_validation(job: Job):
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


@functools.lru_cache(maxsize=1)
def _synth_generator_version() -> str | None:
    try:
        from hwp_bench.synth.generate import GENERATOR_VERSION
    except ImportError:
        return None
    return f"hwp_bench.synth v{GENERATOR_VERSION}"


def dataset_revision(job: Job) -> str | None:
    """The dataset's revision for the result file (see :func:`dataset_fingerprint`)."""
    return dataset_fingerprint(job.dataset)


# -- the job ---------------------------------------------------------------------------------


class UnsupportedCapture(Exception):
    """The method does not handle this capture's hand type (reported, not a failure)."""


def _job_logger(job: Job, run_dir: Path) -> logging.Logger:
    log_dir = run_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"hwp_bench.runner.{run_dir.name}.{job.capture}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    handler = logging.FileHandler(log_dir / f"{job.capture}.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    return logger


def _write_run_json(job: Job, run_dir: Path, config: dict, chash: str, info) -> None:
    path = run_dir / "run.json"
    if path.is_file():
        return
    body = {
        "run": run_dir.name,
        "method": info.to_dict(),
        "preset": job.preset,
        "overrides": list(job.overrides),
        "config": config,
        "config_hash": chash,
        "dataset": dataset_id(job.dataset),
        "seed": job.seed,
    }
    with contextlib.suppress(FileExistsError):
        atomic_write_json(path, body)


def run_job(job: Job) -> dict[str, Any]:
    """Do (or finish, or skip) one job; never raises: the outcome says what happened."""
    t0 = time.perf_counter()
    outcome: dict[str, Any] = {"method": job.method, "capture": job.capture, "seed": job.seed}
    try:
        run_dir = job.run_dir()
    except Exception as exc:  # unknown method, bad override: nothing to log into
        return {**outcome, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    outcome.update(run=run_dir.name, result=str(job.result_path()))
    if job_is_done(job):
        return {**outcome, "status": "skipped", "seconds": time.perf_counter() - t0}
    with _job_lock(run_dir, job.capture) as locked:
        if not locked:
            return {
                **outcome,
                "status": "failed",
                "error": "another process is running this job right now (its lock is held); "
                "wait for it or stop it, then rerun",
                "seconds": time.perf_counter() - t0,
            }
        outcome = _run_locked(job, run_dir, outcome)
    outcome["seconds"] = time.perf_counter() - t0
    return outcome


@contextlib.contextmanager
def _job_lock(run_dir: Path, capture: str):
    """An exclusive advisory lock per job, released by the OS if the process dies, so that a
    rerun never trains into the checkpoint folder of a job that is still running."""
    import fcntl

    path = run_dir / "locks" / f"{capture}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _run_locked(job: Job, run_dir: Path, outcome: dict[str, Any]) -> dict[str, Any]:
    outcome = dict(outcome)
    if job_is_done(job):  # finished by another process while we waited to start
        return {**outcome, "status": "skipped"}
    logger = _job_logger(job, run_dir)
    failed_marker = run_dir / "status" / f"{job.capture}.failed.json"
    try:
        details = _run_job_body(job, run_dir, logger)
        with contextlib.suppress(FileNotFoundError):
            failed_marker.unlink()
        outcome.update(status="done", **details)
    except UnsupportedCapture as exc:
        logger.info("unsupported: %s", exc)
        outcome.update(status="unsupported", error=str(exc))
    except Exception as exc:
        tb = traceback.format_exc()
        logger.error("failed: %s\n%s", exc, tb)
        atomic_write_json(
            failed_marker,
            {"error": f"{type(exc).__name__}: {exc}", "traceback": tb, "time": time.time()},
        )
        outcome.update(status="failed", error=f"{type(exc).__name__}: {exc}", log=_log_path(job))
    finally:
        for h in list(logger.handlers):
            logger.removeHandler(h)
            h.close()
    return outcome


def _log_path(job: Job) -> str:
    return str(job.run_dir() / "logs" / f"{job.capture}.log")


def skipped_outcome(job: Job) -> dict[str, Any]:
    """The outcome of a finished job, without starting a worker for it."""
    return {
        "method": job.method,
        "capture": job.capture,
        "seed": job.seed,
        "run": job.run_name(),
        "result": str(job.result_path()),
        "status": "skipped",
        "seconds": 0.0,
    }


def job_is_done(job: Job) -> bool:
    """A readable result file of this exact run exists (the run name holds the hash too)."""
    path = job.result_path()
    if not path.is_file():
        return False
    from hwp_bench.results import ResultError, read_result

    try:
        body = read_result(path)
    except (OSError, ResultError):
        return False
    return (body.get("extra") or {}).get("run_hash") == job.config_hash()


def _set_threads(n: int) -> None:
    import torch

    torch.set_num_threads(max(1, int(n)))


def _run_job_body(job: Job, run_dir: Path, logger: logging.Logger) -> dict[str, Any]:
    from hwp_bench.checkpoint import clean_stale, find_checkpoint

    _set_threads(job.threads)
    cls = job.method_class()
    info = cls.method_info()
    config = job.config()
    chash = job.config_hash()
    _write_run_json(job, run_dir, config, chash, info)
    logger.info(
        "job %s %s seed %d on %s (config %s)", job.method, job.capture, job.seed, job.dataset, chash
    )

    test_frames = sorted(load_split(job, "test"), key=lambda f: f.index)
    if not test_frames:
        raise RuntimeError(f"{job.capture} of {job.dataset} has no test frames")
    hand_type = test_frames[0].hand_type
    if hand_type not in info.hand_types:
        raise UnsupportedCapture(
            f"{job.method} supports {'/'.join(info.hand_types)} hands, {job.capture} is {hand_type}"
        )

    renders_dir = run_dir / "renders" / job.capture
    render_marker = run_dir / "status" / f"{job.capture}.renders.json"
    ckpt_dir = run_dir / "checkpoints" / job.capture
    details: dict[str, Any] = {}

    render_info = _read_json(render_marker)
    if render_info is None or render_info.get("count") != len(test_frames):
        clean_stale(ckpt_dir)
        found = find_checkpoint(ckpt_dir)
        if found is not None and found[1].get("complete"):
            logger.info("final checkpoint found: rendering only")
            method = cls(config=config, checkpoint=found[0])
            fit_info = found[1]
        else:
            method, fit_info = _fit(job, cls, config, ckpt_dir, found, logger)
        details["resumed_from_step"] = fit_info.get("resumed_from_step")
        render_info = _render_all(job, method, test_frames, renders_dir, logger)
        render_info["fit"] = {
            k: fit_info.get(k) for k in ("fit_seconds", "iterations", "resumed_from_step")
        }
        atomic_write_json(render_marker, render_info)
    else:
        logger.info("renders complete: scoring only")

    result = _score(job, info, config, chash, test_frames, renders_dir, render_info, logger)
    details["means"] = result["means"]
    return details


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _fit(job, cls, config, ckpt_dir, found, logger):
    from tqdm.auto import tqdm

    from hwp_bench.api import uses_iteration_api
    from hwp_bench.checkpoint import save_checkpoint

    train = load_split(job, "train")
    if not train:
        raise RuntimeError(f"{job.capture} of {job.dataset} has no training frames")
    val = _load_validation(job)
    method = cls(config=config)
    logger.info("fitting on %d train frames", len(train))

    if not uses_iteration_api(method):
        # A method with its own fit loop: no intermediate checkpoints, so no resume.
        start = time.perf_counter()
        method.fit(train, val_frames=val, progress=job.progress)
        state = {"step": None, "complete": True, "fit_seconds": time.perf_counter() - start}
        save_checkpoint(method, ckpt_dir, state)
        logger.info("fit done in %.1f s (own fit loop)", state["fit_seconds"])
        return method, state

    method.setup(train, val)
    n = int(method.num_iterations)
    step, spent, resumed = 0, 0.0, None
    if found is not None:
        method.load(found[0])
        step, spent = int(found[1]["step"]), float(found[1].get("fit_seconds", 0.0))
        resumed = step
        logger.info("resumed from checkpoint at step %d/%d", step, n)
    every = job.checkpoint_every or max(1, math.ceil(n / 10))
    # With the default cadence a fast fit does not spend its time writing checkpoints.
    min_interval = 0.0 if job.checkpoint_every else 10.0
    last_save_step, last_save_time = step, time.perf_counter()
    session_start = time.perf_counter()
    desc = f"{job.method} {job.capture} s{job.seed}"
    with tqdm(
        total=n,
        initial=step,
        desc=desc,
        disable=not job.progress,
        position=job.progress_position,
        leave=job.progress_position is None,
        dynamic_ncols=True,
    ) as bar:
        while step < n:
            losses = method.train_iteration(step) or {}
            step += 1
            bar.update(1)
            if losses:
                shown = {k: float(v) for k, v in list(losses.items())[:3]}
                bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items()}, refresh=False)
                if not all(math.isfinite(v) for v in shown.values()):
                    raise FloatingPointError(f"non-finite loss at step {step}: {shown}")
            if step % max(1, every) == 0 or step == n:
                logger.info(
                    "step %d/%d %s",
                    step,
                    n,
                    " ".join(f"{k}={float(v):.6g}" for k, v in losses.items()),
                )
            now = time.perf_counter()
            since = now - last_save_time
            due = (step - last_save_step >= every and since >= min_interval) or (
                since >= job.checkpoint_seconds
            )
            if due and step < n:
                state = {
                    "step": step,
                    "complete": False,
                    "fit_seconds": spent + (now - session_start),
                }
                save_checkpoint(method, ckpt_dir, state)
                last_save_step, last_save_time = step, time.perf_counter()
                logger.info("checkpoint at step %d", step)
    fit_seconds = spent + (time.perf_counter() - session_start)
    state = {
        "step": n,
        "complete": True,
        "fit_seconds": fit_seconds,
        "iterations": n,
        "resumed_from_step": resumed,
    }
    save_checkpoint(method, ckpt_dir, state)
    logger.info("fit done: %d iterations, %.1f s", n, fit_seconds)
    return method, state


def _render_all(job, method, test_frames, renders_dir, logger) -> dict[str, Any]:
    from tqdm.auto import tqdm

    from hwp_bench.renders import as_alpha, as_color, write_frame

    seconds = []
    for frame in tqdm(
        test_frames,
        desc=f"render {job.capture}",
        disable=not job.progress,
        position=job.progress_position,
        leave=job.progress_position is None,
    ):
        t = time.perf_counter()
        out = method.render(frame.without_pixels())
        seconds.append(time.perf_counter() - t)
        color = as_color(out["color"])
        if color.shape[:2] != (frame.height, frame.width):
            raise ValueError(
                f"render() returned {color.shape[:2]} for a {frame.height}x{frame.width} frame"
            )
        alpha = as_alpha(out.get("alpha"), color.shape[:2])
        write_frame(renders_dir, frame.index, color, alpha)
    logger.info("rendered %d frames, %.3f s/frame", len(seconds), float(np.median(seconds)))
    return {
        "count": len(test_frames),
        "render_seconds_per_frame": float(np.mean(seconds)),
        "diagnostics": _save_diagnostics(method, renders_dir.parent.parent, job.capture, logger),
    }


def _save_diagnostics(method, run_dir: Path, capture: str, logger) -> dict[str, Any]:
    """JSON-able diagnostics go into the result file (``extra.diagnostics``); arrays, and
    dicts of arrays, into ``diagnostics/<capture>/arrays.npz``, with each 2-D map also as a
    grey PNG (``<key>_<sub>.png``, scaled by its maximum) for the HTML report.

    Diagnostics are extras (WildGHand: per-frame omega, PAO weight maps): a method whose
    ``diagnostics()`` fails still gets its renders scored, and the log says why.
    """
    try:
        diag = dict(method.diagnostics() or {})
    except Exception as exc:
        logger.warning("diagnostics() failed: %s: %s", type(exc).__name__, exc)
        return {}
    scalars: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for key, value in diag.items():
        value = _as_array(value)
        if isinstance(value, np.ndarray):
            arrays[str(key)] = value
        elif (
            isinstance(value, dict)
            and value
            and all(isinstance(_as_array(v), np.ndarray) for v in value.values())
        ):
            for sub, v in value.items():
                name = f"{key}_{int(sub):05d}" if str(sub).isdigit() else f"{key}_{sub}"
                arrays[name] = _as_array(v)
        elif _jsonable(value):
            scalars[str(key)] = value
        else:
            logger.warning("diagnostic %r is neither JSON nor arrays: not saved", key)
    if arrays:
        from PIL import Image

        from hwp_bench.io import atomic_path

        folder = run_dir / "diagnostics" / capture
        with atomic_path(folder / "arrays.npz") as tmp:
            np.savez_compressed(tmp, **arrays)
        for name, arr in arrays.items():
            if arr.ndim == 2 and np.issubdtype(arr.dtype, np.number) and np.isfinite(arr).all():
                top = float(arr.max())
                img = np.clip(arr / top, 0, 1) if top > 0 else np.zeros_like(arr, np.float64)
                with atomic_path(folder / f"{name}.png") as tmp:
                    Image.fromarray(np.round(img * 255).astype(np.uint8), mode="L").save(
                        tmp, format="PNG"
                    )
        logger.info("saved %d diagnostic arrays under %s", len(arrays), folder)
    return scalars


def _as_array(value):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return value


def _jsonable(v) -> bool:
    try:
        json.dumps(v, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


def score_renders(
    protocol, test_frames, renders_dir, metrics=None
) -> tuple[dict[int, dict], str, str]:
    """Score the saved renders (as a re-scorer would read them) against the frames.

    Returns per-frame metrics keyed by frame index and the SHA-256 of predictions and ground
    truth (:mod:`hwp_bench.results.hashing`).
    """
    from hwp_bench.renders import read_frame
    from hwp_bench.results import hash_ground_truth, hash_predictions

    per_frame: dict[int, dict[str, float]] = {}
    items = []
    for frame in test_frames:
        color, alpha = read_frame(renders_dir, frame.index)
        scores = protocol.score_frame(color, alpha, frame, metrics=metrics)
        per_frame[int(frame.index)] = {k: float(v) for k, v in scores.items()}
        items.append((frame.index, color, alpha))
    return per_frame, hash_predictions(items), hash_ground_truth(test_frames)


def _score(job, info, config, chash, test_frames, renders_dir, render_info, logger):
    from hwp_bench.metrics import get_protocol
    from hwp_bench.results import build_result, write_result

    protocol = get_protocol(job.protocol)
    per_frame, pred_sha, gt_sha = score_renders(protocol, test_frames, renders_dir, job.metrics)
    fit = render_info.get("fit") or {}
    timings = {"render_s_per_frame": render_info["render_seconds_per_frame"]}
    if fit.get("fit_seconds") is not None:
        timings["fit_s"] = fit["fit_seconds"]
    method_config = {k: v for k, v in config.items() if k != SEED_KEY}
    record = build_result(
        dataset={
            "id": dataset_id(job.dataset),
            "revision": dataset_revision(job),
            "config": job.capture,
            "capture": job.capture,
            "split": "test",
            "hand_type": test_frames[0].hand_type,
        },
        method={
            "id": info.id,
            "name": info.name,
            "version": info.version,
            "implementation_status": info.implementation_status,
            "preset": job.preset,
            "overrides": list(job.overrides),
            "config": method_config,
        },
        seed=job.seed,
        protocol=protocol,
        frames=per_frame,
        predictions_sha256=pred_sha,
        ground_truth_sha256=gt_sha,
        frame_tags={int(f.index): list(f.tags or []) for f in test_frames},
        frames_expected=len(test_frames),
        timings=timings,
        metrics=job.metrics,
        peak_memory=_peak_memory(),
        extra={
            "run": job.run_name(),
            "run_hash": chash,
            "fit_iterations": fit.get("iterations"),
            "resumed_from_step": fit.get("resumed_from_step"),
            "diagnostics": render_info.get("diagnostics", {}),
        },
    )
    write_result(job.result_path(), record)
    logger.info("scored with %s: %s", job.protocol, record["means"])
    return record


def _peak_memory() -> dict[str, int]:
    """Peak resident memory of this process (one job per process locally) and of the GPU."""
    import resource

    out = {"cpu_rss_bytes": int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024}
    with contextlib.suppress(Exception):
        import torch

        if torch.cuda.is_available():
            out["gpu_bytes"] = int(torch.cuda.max_memory_allocated())
    return out


# -- summary ---------------------------------------------------------------------------------


@dataclass
class RunSummary:
    """What ``hwp-bench run`` prints: per-capture rows and the split mean."""

    outcomes: list[dict[str, Any]]
    rows: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [o for o in self.outcomes if o.get("status") == "failed"]


METRIC_ORDER = ("psnr", "ssim", "lpips")


def summarize(outcomes: Sequence[dict[str, Any]], captures: Sequence[str]) -> RunSummary:
    """Per capture: mean over seeds (and std when there are several) of each metric."""
    summary = RunSummary(outcomes=list(outcomes))
    by_capture: dict[str, list[dict]] = {c: [] for c in captures}
    status: dict[str, list[str]] = {c: [] for c in captures}
    for o in outcomes:
        status.setdefault(o["capture"], []).append(o.get("status", "?"))
        if o.get("status") in ("done", "skipped") and o.get("result"):
            body = _read_json(Path(o["result"]))
            if body is not None:
                by_capture.setdefault(o["capture"], []).append(body["means"])
    names = sorted({n for ms in by_capture.values() for m in ms for n in m})
    names = [n for n in METRIC_ORDER if n in names] + [n for n in names if n not in METRIC_ORDER]
    summary.metrics = names
    for capture in captures:
        means = by_capture.get(capture, [])
        row: dict[str, Any] = {"capture": capture, "seeds": len(means)}
        for n in names:
            vals = [m[n] for m in means if n in m]
            row[n] = float(np.mean(vals)) if vals else None
            row[n + "_std"] = float(np.std(vals)) if len(vals) > 1 else None
        bad = [s for s in status.get(capture, []) if s not in ("done", "skipped")]
        row["status"] = ", ".join(sorted(set(bad))) if bad else "ok"
        summary.rows.append(row)
    return summary


def format_table(summary: RunSummary, *, title: str = "") -> str:
    """A plain-text table: one row per capture, then the mean over captures with results."""
    from tabulate import tabulate

    def cell(row, n):
        v = row.get(n)
        if v is None:
            return "-"
        std = row.get(n + "_std")
        return f"{v:.3f} ± {std:.3f}" if std is not None else f"{v:.3f}"

    headers = ["capture", *[n.upper() for n in summary.metrics], "seeds", "status"]
    body = [
        [r["capture"], *[cell(r, n) for n in summary.metrics], r["seeds"], r["status"]]
        for r in summary.rows
    ]
    scored = [r for r in summary.rows if any(r.get(n) is not None for n in summary.metrics)]
    if scored:
        mean_row = {
            n: float(np.mean([r[n] for r in scored if r.get(n) is not None]))
            for n in summary.metrics
        }
        label = (
            "mean"
            if len(scored) == len(summary.rows)
            else (f"mean ({len(scored)}/{len(summary.rows)})")
        )
        body.append([label, *[cell(mean_row, n) for n in summary.metrics], "", ""])
    text = tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)
    return f"{title}\n{text}" if title else text


def job_to_dict(job: Job) -> dict[str, Any]:
    return dataclasses.asdict(job)
