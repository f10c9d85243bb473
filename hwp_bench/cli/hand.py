"""``hwp-bench hand ...``: hand model commands (owned by the hand-model area)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)

DEFAULT_POSES = "flat,relaxed,fist,pointing,spread,grasp"


@app.command("show")
def show(
    model: str = typer.Option("open", help="Hand model: open or mano (needs HWP_MANO_DIR)."),
    pose: str = typer.Option(
        DEFAULT_POSES, help="Comma-separated named poses (see hwp_bench.hand.poses)."
    ),
    side: str = typer.Option("right", help="right or left."),
    subdivision: int = typer.Option(0, help="Subdivision level of the mesh."),
    shape: str = typer.Option("", help="Comma-separated shape coefficients (up to 10)."),
    views: str = typer.Option("palm,back,side", help="Views: palm, back, side."),
    size: int = typer.Option(256, help="Pixels per view."),
    out: Path = typer.Option(Path("hand.png"), help="Output PNG."),
) -> None:
    """Render a hand model in named poses from several views into one PNG."""
    import numpy as np
    import torch

    from hwp_bench.hand import load_hand_model
    from hwp_bench.hand.picture import hand_sheet
    from hwp_bench.hand.poses import POSES

    names = [p.strip() for p in pose.split(",") if p.strip()]
    unknown = [p for p in names if p not in POSES]
    if unknown:
        typer.echo(f"unknown pose(s) {unknown}; known: {', '.join(POSES)}", err=True)
        raise typer.Exit(2)
    from hwp_bench.hand.preview import VIEWS

    view_list = [v.strip() for v in views.split(",") if v.strip()]
    if not view_list or any(v not in VIEWS for v in view_list):
        typer.echo(f"views must be among {', '.join(VIEWS)}", err=True)
        raise typer.Exit(2)
    if side not in ("right", "left"):
        typer.echo("side must be right or left", err=True)
        raise typer.Exit(2)
    betas = np.zeros(10)
    if shape:
        vals = [float(x) for x in shape.split(",")]
        if len(vals) > 10:
            typer.echo("at most 10 shape coefficients", err=True)
            raise typer.Exit(2)
        betas[: len(vals)] = vals
    try:
        hand = load_hand_model(model, subdivision, dtype=torch.float64)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    path = hand_sheet(hand, names, view_list, side=side, shape=betas, size=size, out=out)
    typer.echo(f"wrote {path}")


@app.command("info")
def info(
    model: str = typer.Option("open", help="Hand model: open or mano (needs HWP_MANO_DIR)."),
    subdivision: int = typer.Option(0, help="Subdivision level."),
) -> None:
    """Print a hand model's sizes, joints and (open hand) shape directions."""
    import json

    import torch

    from hwp_bench.hand import load_hand_model

    try:
        hand = load_hand_model(model, subdivision, dtype=torch.float64)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    rest = hand(None).joints[0]
    typer.echo(repr(hand))
    typer.echo(f"uv_coords: {hand.uv_coords.shape[0]}, tip vertices: {hand.tip_vertices.tolist()}")
    typer.echo(f"wrist to middle tip: {1000 * float(rest[18].norm()):.1f} mm")
    typer.echo("joints (rest, mm): " + ", ".join(hand.joint_names))
    for name, p in zip(hand.joint_names, rest.tolist(), strict=True):
        typer.echo(f"  {name:>10}: {1000 * p[0]:7.1f} {1000 * p[1]:7.1f} {1000 * p[2]:7.1f}")
    for d in hand.meta.get("shape_doc", []):
        delta = json.dumps({k: round(v, 2) for k, v in d["delta_per_unit"].items()})
        typer.echo(f"shape[{d['direction']}] {d['name']}: {d['description']} | {delta}")
