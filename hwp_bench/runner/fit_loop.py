"""The fit loop: drive a method's iteration API with progress, checkpoints and resume."""

from __future__ import annotations

import math
import time

from hwp_bench.runner.frames import load_split, load_validation


def fit_method(job, cls, config, ckpt_dir, found, logger):
    from tqdm.auto import tqdm

    from hwp_bench.methods.base import uses_iteration_api
    from hwp_bench.runner.checkpoint import save_checkpoint

    train = load_split(job, "train")
    if not train:
        raise RuntimeError(f"{job.capture} of {job.dataset} has no training frames")
    val = load_validation(job)
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
