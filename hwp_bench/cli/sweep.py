"""``hwp-bench synth-sweep``: method quality against the strength of one perturbation."""

from __future__ import annotations

from pathlib import Path

import typer


def sweep_cmd(
    perturbation: str = typer.Option(
        ...,
        "--perturbation",
        "-p",
        help="A registered perturbation tag or alias: blur | occlusion (hoi) | illumination | "
        "complex_pose, or a plugin's tag.",
    ),
    levels: str = typer.Option(
        "0,0.5,1,1.5", "--levels", help="Comma-separated strength multipliers in [0, 2]."
    ),
    methods: str = typer.Option(
        "wildghand,intergaussianhand", "--methods", help="Comma-separated method ids."
    ),
    capture: str = typer.Option("capture04", "--capture", help="HWP-Synth capture to re-render."),
    preset: str = typer.Option("quick", "--preset", help="Method preset."),
    synth_preset: str = typer.Option(
        "quick", "--synth-preset", help="HWP-Synth preset: quick | full."
    ),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(Path("sweeps"), "--out", help="Output folder."),
    overrides: list[str] = typer.Option([], "--set", help="Method config override key=value."),
    cpus: int = typer.Option(0, "--cpus", help="CPU budget (0: all cores)."),
) -> None:
    """Re-render CAPTURE with one perturbation at increasing strength and fit every method on it."""
    from hwp_bench.runner.sweep import SWEEP_PERTURBATIONS, run_sweep, slope

    if perturbation not in SWEEP_PERTURBATIONS:
        typer.echo(
            f"error: unknown perturbation {perturbation!r}: choose one of {', '.join(SWEEP_PERTURBATIONS)}",
            err=True,
        )
        raise typer.Exit(2)
    try:
        lv = [float(x) for x in levels.split(",") if x.strip()]
    except ValueError as exc:
        typer.echo(f"error: --levels: {exc}", err=True)
        raise typer.Exit(2) from exc
    doc = run_sweep(
        perturbation,
        lv,
        [m.strip() for m in methods.split(",") if m.strip()],
        out=out,
        capture=capture,
        preset=preset,
        synth_preset=synth_preset,
        seed=seed,
        overrides=overrides,
        cpus=cpus or None,
    )
    for m, vals in doc["psnr"].items():
        shown = ", ".join("-" if v is None else f"{v:.2f}" for v in vals)
        pts = [(x, v) for x, v in zip(doc["levels"], vals, strict=True) if v is not None]
        s = slope([p[0] for p in pts], [p[1] for p in pts]) if len(pts) > 1 else float("nan")
        typer.echo(f"{m:24s} PSNR at levels {doc['levels']}: {shown}   slope {s:+.2f} dB/unit")
    for f in doc["failures"]:
        typer.echo(f"failed: {f}", err=True)
    typer.echo(f"wrote {out / ('sweep-' + perturbation)}/sweep.json and robustness.png")
    if doc["failures"]:
        raise typer.Exit(1)
