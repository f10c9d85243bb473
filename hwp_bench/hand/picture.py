"""Contact sheets of a hand model: poses in columns, views in rows (``hwp-bench hand show``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from hwp_bench.hand.model import HandModel
from hwp_bench.hand.poses import named_pose
from hwp_bench.hand.preview import render_mesh


def hand_sheet(
    model: HandModel,
    poses: list[str],
    views: list[str],
    *,
    side: str = "right",
    shape: np.ndarray | None = None,
    size: int = 256,
    out: str | Path = "hand.png",
) -> Path:
    """Render every (pose, view) pair and write one labelled PNG atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hwp_bench.io import atomic_path

    betas = torch.zeros(1, 10, dtype=model.dtype)
    if shape is not None:
        betas[0] = torch.as_tensor(shape, dtype=model.dtype)
    faces = model.faces_for(side).numpy()
    meshes = []
    for name in poses:
        pose = torch.as_tensor(named_pose(name, side), dtype=model.dtype)[None]
        meshes.append(model(pose, betas, None, side=side).vertices[0].detach().numpy())
    # One scale for the whole sheet so poses can be compared; each view centred on its hand.
    extent = 1.1 * max(float(np.ptp(v, axis=0).max()) for v in meshes)
    fig, axes = plt.subplots(
        len(views), len(poses), figsize=(2.0 * len(poses), 2.0 * len(views)), squeeze=False
    )
    for c, (name, verts) in enumerate(zip(poses, meshes, strict=True)):
        for r, view in enumerate(views):
            img = render_mesh(verts, faces, view=view, side=side, size=size, extent=extent)
            ax = axes[r, c]
            ax.imshow(img)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name, fontsize=10)
            if c == 0:
                ax.set_ylabel(view, fontsize=10)
    fig.suptitle(f"{model.name} hand ({side}, V={model.num_vertices})", fontsize=10)
    fig.tight_layout()
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return out
