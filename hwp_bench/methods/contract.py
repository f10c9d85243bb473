"""The method contract: the types every method (ours, baselines, plugins) is written against.

This is a leaf module: it imports nothing of hwp_bench at module level, so a plugin (or a
worker process) can depend on it without pulling in the runner, the data layer or torch.
The whole protocol, with the resume sequence the runner follows, is described in
``docs/extending.md``; :class:`hwp_bench.methods.base.MethodBase` is a convenient
implementation of it.

``method_info()`` (classmethod)
    A :class:`MethodInfo`: id, name, paper, supported hand types, default config and presets,
    and an honest implementation status.
``__init__(*, config, checkpoint=None)``
    ``config`` is the resolved configuration (defaults <- preset <- ``--set`` overrides, plus
    the job's ``seed``). With ``checkpoint`` (a folder written by ``save``) the method is ready
    to render straight away.
Iteration API (preferred: lets the runner show progress, checkpoint and resume after a kill)
    ``setup(train_frames, val_frames=None)``, ``num_iterations``,
    ``train_iteration(step) -> {"loss": float, ...}`` for ``step`` in
    ``range(start, num_iterations)``.
``fit(train_frames, *, val_frames=None, progress=True)``
    :class:`MethodBase` implements it as a loop over the iteration API; a method that cannot
    be cut into iterations overrides ``fit`` instead (the runner then cannot resume it).
``render(frame) -> {"color": HxWx3 float32 in [0,1], "alpha": HxW float32 in [0,1], ...}``
    From ``frame.K``, ``frame.hands``, ``frame.t`` and ``frame.height``/``frame.width`` only.
    The runner passes ``frame.without_pixels()``, so the pixels are not there to peek at.
``save(dir)`` / ``load(dir)``
    Everything needed to render, and to continue training: ``load`` is called after
    ``setup`` when the runner resumes, then ``train_iteration`` continues from the saved step
    (the runner keeps the step itself, next to the method's files).
``diagnostics()``
    Method-specific outputs (WildGHand: per-frame temporal weights, PAO masks); may be empty.

Resume protocol, exactly as the runner does it::

    m = Cls(config=config)
    m.setup(train_frames, val_frames)
    m.load(checkpoint_dir)            # only when resuming
    for step in range(saved_step, m.num_iterations):
        m.train_iteration(step)

Seeds: the runner puts the job's seed in ``config["seed"]``; a method seeds its own generators
from it (``MethodBase.seed``). The seed is excluded from the config hash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from hwp_bench.data.frame import Frame

__all__ = ["HAND_TYPES", "IMPLEMENTATION_STATUSES", "Method", "MethodInfo"]

#: Hand types of Table III: one hand, or two interacting hands.
HAND_TYPES = ("single", "inter")

#: What ``MethodInfo.implementation_status`` may say, so that tables can be honest about it.
IMPLEMENTATION_STATUSES = {
    "trivial": "a sanity baseline, not a method from a paper",
    "faithful": "implements the paper's method as described",
    "partial": "the paper's method with components simplified or missing (see notes)",
    "approximate": "the method's pipeline, with a documented substitute for a part that cannot be had",
    "wrapper": "runs the original authors' code and weights when the user provides them",
    "stub": "registered but not implemented",
    "oracle": "uses the data generator's ground truth (a ceiling for the tables, not a method)",
}


@dataclass(frozen=True)
class MethodInfo:
    """What a method is, what it needs and how to configure it."""

    id: str
    name: str
    paper: str = ""  # citation or URL; "" for methods that are not from a paper
    version: str = "0.1.0"  # bump when results change; part of the result file
    description: str = ""
    required_features: tuple[str, ...] = ("image", "mask", "hand_params", "camera")
    hand_types: tuple[str, ...] = HAND_TYPES
    default_config: Mapping[str, Any] = field(default_factory=dict)
    # Partial configs merged onto default_config; "quick" (CPU) and "paper" (GPU) by convention.
    presets: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: {"quick": {}, "paper": {}}
    )
    implementation_status: str = "faithful"
    notes: str = ""
    # Options added after results were published, each with the value that reproduces the
    # behaviour from before it existed. A config holding that value is identified (run folder,
    # skip-if-done) as if the option were absent, so adding an option never orphans finished
    # runs. A change that alters results bumps ``version`` instead.
    neutral_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id or any(c.isspace() for c in self.id):
            raise ValueError(f"method id must be a non-empty word, got {self.id!r}")
        if self.implementation_status not in IMPLEMENTATION_STATUSES:
            raise ValueError(
                f"implementation_status {self.implementation_status!r} is not one of "
                f"{sorted(IMPLEMENTATION_STATUSES)}"
            )
        bad = [h for h in self.hand_types if h not in HAND_TYPES]
        if bad:
            raise ValueError(f"hand_types {bad} not among {HAND_TYPES}")
        unknown = [k for k in self.neutral_options if k not in self.default_config]
        if unknown:
            raise ValueError(f"neutral_options {unknown} are not keys of default_config")

    def resolve_config(
        self,
        preset: str | None = "quick",
        overrides: Sequence[str] | Mapping[str, Any] | None = None,
        *,
        seed: int | None = None,
    ) -> dict[str, Any]:
        """Defaults <- preset <- overrides (type-checked), with the seed if given.

        The merge rules live in :mod:`hwp_bench.methods.config` (imported here, not at module
        level, so that this module stays a leaf).
        """
        from hwp_bench.methods.config import resolve_config

        return resolve_config(self.default_config, self.presets, preset, overrides, seed=seed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "paper": self.paper,
            "version": self.version,
            "description": self.description,
            "required_features": list(self.required_features),
            "hand_types": list(self.hand_types),
            "presets": sorted(self.presets),
            "implementation_status": self.implementation_status,
            "notes": self.notes,
            "neutral_options": dict(self.neutral_options),
        }


@runtime_checkable
class Method(Protocol):
    """The structural contract (a class need not inherit :class:`MethodBase` to satisfy it)."""

    @classmethod
    def method_info(cls) -> MethodInfo: ...

    def fit(self, train_frames: Sequence[Frame], *, val_frames=None, progress=True) -> Any: ...

    def render(self, frame: Frame) -> dict[str, Any]: ...

    def save(self, path: str | Path) -> None: ...

    def load(self, path: str | Path) -> None: ...

    def diagnostics(self) -> dict[str, Any]: ...
