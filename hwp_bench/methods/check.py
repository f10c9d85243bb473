"""``hwp-bench test-method``: check that a method keeps the contract of :mod:`hwp_bench.api`.

The checks (docs/design.md, section 'Method contract'), each reported pass/fail with what went
wrong:

1. the method is registered, imports, and its ``method_info`` is valid;
2. it trains on a few frames (the iteration API capped at ``iterations`` steps, or ``fit``);
3. ``render`` of pixel-free frames returns HxWx3 colour and HxW alpha in [0, 1] at the frame's
   size, and rendering twice gives the same images;
4. ``save`` then a fresh instance built with ``checkpoint=`` renders identical images;
5. renders written to disk and scored again give exactly the metrics of the in-memory renders.
"""

from __future__ import annotations

import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


class _Checks:
    def __init__(self, echo: Callable[[str], None]) -> None:
        self.items: list[Check] = []
        self.echo = echo

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        self.items.append(Check(name, ok, detail))
        self.echo(f"[{'PASS' if ok else 'FAIL'}] {name}" + (f": {detail}" if detail else ""))
        return ok

    def run(self, name: str, fn: Callable[[], str | None]) -> bool:
        try:
            detail = fn() or ""
        except Exception as exc:
            tb = traceback.format_exc(limit=-3)
            return self.add(name, False, f"{type(exc).__name__}: {exc}\n{tb}")
        return self.add(name, True, detail)


def _renders(method, frames) -> list[tuple[np.ndarray, np.ndarray | None]]:
    from hwp_bench.runner.renders import as_alpha, as_color

    out = []
    for frame in frames:
        r = method.render(frame.without_pixels())
        color = as_color(r["color"])
        if color.shape[:2] != (frame.height, frame.width):
            raise ValueError(
                f"frame {frame.index}: colour is {color.shape[:2]}, frame is "
                f"{frame.height}x{frame.width}"
            )
        out.append((color, as_alpha(r.get("alpha"), color.shape[:2])))
    return out


def _same(a, b) -> str | None:
    """None when the two render lists are bit-identical, else where they first differ."""
    for i, ((ca, aa), (cb, ab)) in enumerate(zip(a, b, strict=True)):
        if not np.array_equal(ca, cb):
            return f"frame #{i}: colour differs by up to {float(np.abs(ca - cb).max()):.3g}"
        if (aa is None) != (ab is None) or (aa is not None and not np.array_equal(aa, ab)):
            return f"frame #{i}: alpha differs"
    return None


def check_method(
    name: str,
    *,
    dataset: str = "synth",
    capture: str = "capture00",
    preset: str = "quick",
    overrides: Sequence[str] = (),
    iterations: int | None = 20,
    train_frames: int | None = 8,
    test_frames: int = 3,
    protocol: str = DEFAULT_PROTOCOL,
    metrics: Sequence[str] | None = None,
    seed: int = 0,
    echo: Callable[[str], None] = print,
) -> list[Check]:
    """Run the contract checks; returns them all (stops early only when nothing can follow)."""
    from hwp_bench.methods.base import uses_iteration_api
    from hwp_bench.methods.registry import get_method

    checks = _Checks(echo)
    state: dict[str, Any] = {}

    def registered():
        cls = get_method(name)
        info = cls.method_info()
        state["cls"], state["info"] = cls, info
        state["config"] = info.resolve_config(preset, list(overrides), seed=seed)
        return f"{info.name} v{info.version} ({info.implementation_status}), hands: " + ", ".join(
            info.hand_types
        )

    if not checks.run("registered, importable, method_info valid", registered):
        return checks.items

    def data():
        from hwp_bench.data import load_frames

        train = load_frames(dataset, capture, "train")
        test = load_frames(dataset, capture, "test")
        if train_frames:
            train = train[:: max(1, len(train) // train_frames)][:train_frames]
        state["train"], state["test"] = train, test[:test_frames]
        return f"{len(state['train'])} train / {len(state['test'])} test frames of {capture}"

    if not checks.run(f"load {dataset} {capture}", data):
        return checks.items

    def fit():
        method = state["cls"](config=state["config"])
        t0 = time.perf_counter()
        if uses_iteration_api(method):
            method.setup(state["train"], None)
            n = int(method.num_iterations)
            steps = n if iterations is None else min(n, iterations)
            losses = {}
            for step in range(steps):
                losses = method.train_iteration(step) or {}
            detail = f"{steps}/{n} iterations"
            if losses:
                detail += ", last " + ", ".join(f"{k}={float(v):.4g}" for k, v in losses.items())
        else:
            method.fit(state["train"], val_frames=None, progress=False)
            detail = "own fit()"
        state["method"] = method
        return f"{detail} in {time.perf_counter() - t0:.1f} s"

    if not checks.run("fit (iteration API or fit)", fit):
        return checks.items

    def render():
        first = _renders(state["method"], state["test"])
        again = _renders(state["method"], state["test"])
        state["renders"] = first
        diff = _same(first, again)
        if diff:
            raise AssertionError(f"rendering twice differs: {diff}")
        alpha = "with alpha" if first[0][1] is not None else "no alpha"
        return f"{len(first)} frames, {first[0][0].shape[1]}x{first[0][0].shape[0]}, {alpha}"

    if not checks.run("render: shapes, ranges, deterministic", render):
        return checks.items

    with tempfile.TemporaryDirectory(prefix="hwp-test-method-") as tmp:
        tmp = Path(tmp)

        def save_load():
            state["method"].save(tmp / "ckpt")
            fresh = state["cls"](config=state["config"], checkpoint=tmp / "ckpt")
            diff = _same(state["renders"], _renders(fresh, state["test"]))
            if diff:
                raise AssertionError(f"after save/load: {diff}")
            return "identical renders from a fresh instance"

        checks.run("save, load, render again: identical", save_load)

        def rescore():
            from hwp_bench.metrics import get_protocol
            from hwp_bench.runner.renders import write_frame
            from hwp_bench.runner.scoring import score_renders

            proto = get_protocol(protocol)
            direct = {}
            for frame, (color, alpha) in zip(state["test"], state["renders"], strict=True):
                scores = proto.score_frame(color, alpha, frame, metrics=metrics)
                direct[int(frame.index)] = {k: float(v) for k, v in scores.items()}
                write_frame(tmp / "renders", frame.index, color, alpha)
            again, _, _ = score_renders(proto, state["test"], tmp / "renders", metrics)
            if again != direct:
                raise AssertionError(f"in memory {direct} != from disk {again}")
            means = {
                k: float(np.mean([v[k] for v in direct.values()]))
                for k in next(iter(direct.values()))
            }
            return f"{protocol}: " + ", ".join(f"{k}={v:.4g}" for k, v in means.items())

        checks.run("re-scoring saved renders reproduces the metrics", rescore)
    return checks.items
