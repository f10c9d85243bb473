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
    side: str = typer.Option("right", help="right or left."),
    shape: str = typer.Option("", help="Comma-separated shape coefficients (up to 10)."),
    decimals: int = typer.Option(1, help="Decimals of the joint positions (in mm)."),
) -> None:
    """Print a hand model's sizes, rest joints (wrist at the origin) and shape directions.

    For MANO it also prints smplx's ``transl`` that puts smplx.MANO's joints on the printed
    ones (same pose and shape; see docs/hand_mano.md).
    """
    import json

    import torch

    from hwp_bench.hand import load_hand_model

    if side not in ("right", "left"):
        typer.echo("side must be right or left", err=True)
        raise typer.Exit(2)
    try:
        betas = [float(x) for x in shape.split(",") if x.strip()]
    except ValueError:
        betas = [float("nan")]
    if len(betas) > 10 or not all(b == b for b in betas):
        typer.echo("--shape takes at most 10 comma-separated numbers", err=True)
        raise typer.Exit(2)
    try:
        hand = load_hand_model(model, subdivision, dtype=torch.float64)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    shape_t = torch.zeros(1, 10, dtype=torch.float64)
    shape_t[0, : len(betas)] = torch.tensor(betas, dtype=torch.float64)
    rest = hand(None, shape_t, side=side).joints[0]
    typer.echo(repr(hand))
    typer.echo(f"uv_coords: {hand.uv_coords.shape[0]}, tip vertices: {hand.tip_vertices.tolist()}")
    typer.echo(f"wrist to middle tip: {1000 * float((rest[18] - rest[0]).norm()):.1f} mm")
    typer.echo(f"joints ({side} hand, rest, mm): " + ", ".join(hand.joint_names))
    w = 6 + decimals
    for name, p in zip(hand.joint_names, rest.tolist(), strict=True):
        x, y, z = (f"{1000 * c:{w}.{decimals}f}" for c in p)
        typer.echo(f"  {name:>10}: {x} {y} {z}")
    if "native_wrist" in hand.data(side).meta:
        from hwp_bench.hand.transl import trans_to_transl

        t = trans_to_transl(torch.zeros(3, dtype=torch.float64), shape_t[0], side, model=hand)
        xyz = ", ".join(f"{1000 * float(c):.{max(decimals, 3)}f}" for c in t)
        typer.echo(
            f"smplx transl = ({xyz}) mm: smplx.MANO(use_pca=False, flat_hand_mean=True) with "
            "this transl, the same pose and shape gives these joints (tips: its VERTEX_IDS['mano'])"
        )
    for d in hand.meta.get("shape_doc", []):
        delta = json.dumps({k: round(v, 2) for k, v in d["delta_per_unit"].items()})
        typer.echo(f"shape[{d['direction']}] {d['name']}: {d['description']} | {delta}")
