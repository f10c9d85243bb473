"""The tested examples of docs/extending.md run as they are written there.

A block marked ``<!-- tested-example -->`` in the guide is executed here and what it defines is
checked on small tensors with hand-computed values, so the guide cannot drift from the code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "extending.md"
BLOCK = re.compile(r"<!-- tested-example -->\s*```python\n(.*?)```", re.S)


def _example(index: int) -> dict:
    blocks = BLOCK.findall(GUIDE.read_text(encoding="utf-8"))
    assert len(blocks) > index, f"{GUIDE.name} has {len(blocks)} tested examples"
    namespace: dict = {"__name__": "docs_example"}
    exec(compile(blocks[index], f"{GUIDE.name}[example {index}]", "exec"), namespace)  # noqa: S102
    return namespace


def _context(config, alpha, mask):
    from wildghand.losses import FrameContext

    h, w = alpha.shape
    return FrameContext(
        config=config,
        render=torch.zeros(h, w, 3),
        alpha=alpha,
        target=torch.zeros(h, w, 3),
        mask=mask,
        weight=torch.ones(h, w),
        pao_mode="off",
        gaussians=(),
    )


def test_loss_term_example_adds_a_named_weighted_term():
    from wildghand.losses import OBJECTIVE, Objective

    ns = _example(0)
    with_edge = ns["WITH_EDGE"]
    names = [t.name for t in with_edge.frame_terms]
    assert names == [t.name for t in OBJECTIVE.frame_terms] + ["edge"]
    assert with_edge.step_terms == OBJECTIVE.step_terms

    # alpha 1 on a 2x2 block of a 4x4 frame, the hand mask covers one of those 4 pixels:
    # alpha outside the mask sums to 3 over 16 pixels.
    alpha = torch.zeros(4, 4)
    alpha[:2, :2] = 1.0
    mask = torch.zeros(4, 4)
    mask[0, 0] = 1.0
    edge = with_edge.frame_terms[-1]
    assert edge.weight_key == "w_edge"
    ctx = _context({"w_edge": 2.0}, alpha, mask)
    assert float(ns["edge_term"](ctx)) == pytest.approx(3 / 16)

    total, values = Objective(frame_terms=(edge,)).frame_loss(ctx)
    assert float(values["edge"]) == pytest.approx(3 / 16)
    assert float(total) == pytest.approx(2.0 * 3 / 16)

    # Without a mask the term does not apply: no value, nothing added.
    total, values = Objective(frame_terms=(edge,)).frame_loss(
        _context({"w_edge": 2.0}, alpha, None)
    )
    assert "edge" not in values and float(total) == 0.0
