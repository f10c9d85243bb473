"""Robustness sweep: how each method's test quality falls as one perturbation gets stronger.

Beyond the paper. On HWP-Synth the strength of every perturbation is a generator parameter, so
one capture can be re-rendered with a single perturbation at increasing strength while
everything else (poses, camera, appearance, the clean test clip) stays identical. Each method
is fitted on every level with the ordinary runner and scored on the same clean test clip; the
curve PSNR(strength) shows robustness directly, without the confounds of comparing captures.

Any registered HWP-Synth perturbation can be swept (:mod:`hwp_bench.synth.perturbations`), by
its tag or one of its aliases (``occlusion`` is ``hoi``).

Level ``L`` multiplies the peaks of the capture's strength schedule for that perturbation
(``L = 0``: the clean twin; ``L = 1``: the strength HWP-Synth uses by default; ``L > 1`` is
allowed up to 2, with strengths still clipped to [0, 1] by the renderer).

Writes ``OUT/data/<perturbation>-L<level>/`` (dataset folders), ``OUT/runs/`` (runner output)
and ``OUT/sweep-<perturbation>/sweep.json`` + ``robustness.png``.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any


class _SweepNames(Mapping[str, str]):
    """CLI names -> HWP-Synth perturbation tags, read from the perturbation registry on every
    use (so a perturbation registered after import is sweepable): each registered
    perturbation's tag, then its aliases."""

    def _names(self) -> dict[str, str]:
        from hwp_bench.synth.perturbations import registered

        out: dict[str, str] = {}
        for cls in registered():
            out[cls.tag] = cls.tag
            for alias in cls.aliases:
                out.setdefault(alias, cls.tag)
        return out

    def __getitem__(self, name: str) -> str:
        names = self._names()
        if name not in names:
            raise KeyError(f"unknown perturbation {name!r}: choose one of {', '.join(names)}")
        return names[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


#: CLI names -> HWP-Synth perturbation tags (a live view of the registry).
SWEEP_PERTURBATIONS: Mapping[str, str] = _SweepNames()
SCHEMA = "hwp-bench-sweep"


def _level_name(level: float) -> str:
    return f"L{level:.2f}".replace(".", "p")


def generate_level(
    root: str | os.PathLike,
    capture: str,
    perturbation: str,
    level: float,
    *,
    preset: str = "quick",
    seed: int = 0,
    num_frames: int | None = None,
    progress: bool = True,
) -> Path:
    """Write a one-capture dataset where only ``perturbation`` acts, at ``level`` x strength."""
    from hwp_bench.data.layout import DatasetWriter
    from hwp_bench.data.tags import capture_info
    from hwp_bench.synth.scene import CaptureScene
    from hwp_bench.synth.spec import get_preset

    tag = SWEEP_PERTURBATIONS[perturbation]
    if not 0.0 <= level <= 2.0:
        raise ValueError(f"sweep level {level} outside [0, 2]")
    root = Path(root)
    writer = DatasetWriter(root, name=root.name, description=f"HWP-Synth sweep: {tag} x {level}")
    if writer.has_capture(capture):
        return root
    info = dataclasses.replace(capture_info(capture), perturbations=(tag,))
    scene = CaptureScene(info, get_preset(preset), seed, num_frames=num_frames)
    scene.schedules[tag] = scene.schedules[tag].scaled(level)

    def rows():
        from tqdm.auto import tqdm

        for i in tqdm(range(scene.num_frames), desc=f"{tag} x{level:g}", disable=not progress):
            yield scene.frame(i)

    writer.write_capture(
        capture,
        rows(),
        num_frames=scene.num_frames,
        hand_type=info.hand_type,
        tags=[tag] if level > 0 else [],
    )
    writer.finalize()
    return root


def run_sweep(
    perturbation: str,
    levels: Sequence[float],
    methods: Sequence[str],
    *,
    out: str | os.PathLike = "sweeps",
    capture: str = "capture04",
    preset: str = "quick",
    synth_preset: str = "quick",
    seed: int = 0,
    overrides: Sequence[str] = (),
    num_frames: int | None = None,
    cpus: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate every level, fit and score every method on it, write sweep.json and the plot.

    ``preset`` is the methods' preset, ``synth_preset`` the generator's (``quick`` or ``full``).
    """
    from hwp_bench.io import atomic_write_json
    from hwp_bench.results import plots
    from hwp_bench.results.schema import read_result
    from hwp_bench.runner import Job

    if perturbation not in SWEEP_PERTURBATIONS:
        raise ValueError(
            f"unknown perturbation {perturbation!r}: choose one of {', '.join(SWEEP_PERTURBATIONS)}"
        )
    if not levels:
        raise ValueError("give at least one level")
    out = Path(out)
    levels = sorted(float(x) for x in levels)
    folders = {
        lv: generate_level(
            out / "data" / f"{perturbation}-{_level_name(lv)}",
            capture,
            perturbation,
            lv,
            preset=synth_preset,
            seed=seed,
            num_frames=num_frames,
            progress=progress,
        )
        for lv in levels
    }
    jobs = [
        Job(
            method=m,
            capture=capture,
            seed=seed,
            preset=preset,
            overrides=tuple(overrides),
            dataset=str(folders[lv]),
            out=str(out / "runs"),
            progress=progress,
        )
        for m in methods
        for lv in levels
    ]
    from hwp_bench.runner.executors import run_local

    outcomes = run_local(jobs, cpus=cpus)
    psnr: dict[str, list[float | None]] = {m: [] for m in methods}
    failures = []
    for job, outcome in zip(jobs, outcomes, strict=True):
        value = None
        if outcome.get("status") in ("done", "skipped") and outcome.get("result"):
            value = float(read_result(outcome["result"])["means"]["psnr"])
        else:
            failures.append(f"{job.method} at {job.dataset}: {outcome.get('error', 'failed')}")
        psnr[job.method].append(value)
    doc = {
        "schema": SCHEMA,
        "perturbation": perturbation,
        "capture": capture,
        "preset": preset,
        "synth_preset": synth_preset,
        "seed": seed,
        "levels": levels,
        "psnr": psnr,
        "failures": failures,
    }
    folder = out / f"sweep-{perturbation}"
    atomic_write_json(folder / "sweep.json", doc)
    curves = {
        m: (
            [lv for lv, v in zip(levels, vals, strict=True) if v is not None],
            [v for v in vals if v is not None],
        )
        for m, vals in psnr.items()
    }
    plots.robustness_curves(curves, perturbation, "psnr", folder / "robustness.png")
    return doc


def slope(levels: Sequence[float], values: Sequence[float]) -> float:
    """Least-squares slope of PSNR against strength (dB per unit strength)."""
    mx, my = statistics.fmean(levels), statistics.fmean(values)
    den = sum((x - mx) ** 2 for x in levels)
    return (
        sum((x - mx) * (y - my) for x, y in zip(levels, values, strict=True)) / den if den else 0.0
    )
