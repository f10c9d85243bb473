"""The method interface: what every method (ours, baselines, third-party plugins) implements.

DESIGN.md section 3. A method is a class registered under the entry-point group
``hwp_bench.methods`` (or listed in ``HWP_BENCH_METHODS`` for local plugins, see
:mod:`hwp_bench.registry`). The runner only ever talks to it through this contract:

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

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from hwp_bench.method_config import (
    SEED_KEY,
    ConfigError,
    config_hash,
    parse_overrides,
    resolve_config,
)

if TYPE_CHECKING:
    from hwp_bench.data.frame import Frame

__all__ = [
    "HAND_TYPES",
    "IMPLEMENTATION_STATUSES",
    "ConfigError",
    "Method",
    "MethodBase",
    "MethodInfo",
    "MethodNotFound",
    "MethodUnavailable",
    "config_hash",
    "get_method",
    "list_methods",
    "parse_overrides",
    "resolve_config",
    "resolve_method_config",
    "uses_iteration_api",
]

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

    def resolve_config(
        self,
        preset: str | None = "quick",
        overrides: Sequence[str] | Mapping[str, Any] | None = None,
        *,
        seed: int | None = None,
    ) -> dict[str, Any]:
        """Defaults <- preset <- overrides (type-checked), with the seed if given."""
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


class MethodBase:
    """Convenience base: config handling, the default ``fit`` loop, torch-state save/load.

    Subclasses implement ``method_info``, ``setup`` (call ``super().setup`` to keep the
    frames), ``train_iteration``, ``render`` and either ``state_dict``/``load_state_dict`` or
    ``save``/``load``. Build state in ``initialize()`` rather than ``__init__``: the base
    constructor calls it before loading a checkpoint, so the state exists to load into.
    """

    #: File written by the default ``save``.
    STATE_FILE: ClassVar[str] = "method_state.pt"

    def __init__(self, *, config: Mapping[str, Any] | None = None, checkpoint=None) -> None:
        info = self.method_info()
        # A partial config (a user calling the class directly) is completed from the defaults;
        # a resolved one passes through unchanged. Unknown keys raise ConfigError.
        self.config: dict[str, Any] = resolve_config(
            info.default_config, info.presets, None, dict(config or {})
        )
        self.seed: int = int(self.config.get(SEED_KEY, 0))
        self.train_frames: list[Frame] = []
        self.val_frames: list[Frame] | None = None
        self.initialize()
        if checkpoint is not None:
            self.load(checkpoint)

    # -- description -------------------------------------------------------------------------
    @classmethod
    def method_info(cls) -> MethodInfo:
        raise NotImplementedError(f"{cls.__name__} must define method_info()")

    @classmethod
    def check_requirements(cls) -> str | None:
        """``None`` if the method can run here, else a reason a user can act on.

        ``hwp-bench methods`` shows it; the runner refuses to start an unavailable method.
        Example: ``"needs the MANO model (pip install hwp-bench[mano] and ...)"``.
        """
        return None

    def initialize(self) -> None:
        """Create the method's state from ``self.config`` (override; called by ``__init__``)."""

    # -- iteration API -----------------------------------------------------------------------
    def setup(self, train_frames: Sequence[Frame], val_frames: Sequence[Frame] | None = None):
        """Prepare training on these frames (override and call ``super().setup``)."""
        self.train_frames = list(train_frames)
        self.val_frames = list(val_frames) if val_frames is not None else None

    @property
    def num_iterations(self) -> int:
        """Total training iterations (default: ``config["iterations"]``)."""
        if "iterations" not in self.config:
            raise NotImplementedError(
                f"{type(self).__name__} needs an 'iterations' config key or a num_iterations "
                "property"
            )
        return int(self.config["iterations"])

    def train_iteration(self, step: int) -> dict[str, float]:
        """One optimisation step; return floats to show and log (``loss`` first)."""
        raise NotImplementedError(f"{type(self).__name__} must implement train_iteration()")

    def fit(
        self,
        train_frames: Sequence[Frame],
        *,
        val_frames: Sequence[Frame] | None = None,
        progress: bool = True,
    ) -> dict[str, Any]:
        """Default fit: ``setup`` then every ``train_iteration``, with a tqdm bar."""
        from tqdm.auto import tqdm

        self.setup(train_frames, val_frames)
        n = self.num_iterations
        start = time.perf_counter()
        last: dict[str, float] = {}
        with tqdm(total=n, desc=f"fit {self.method_info().id}", disable=not progress) as bar:
            for step in range(n):
                last = {k: float(v) for k, v in (self.train_iteration(step) or {}).items()}
                bar.update(1)
                if last:
                    bar.set_postfix({k: f"{v:.4g}" for k, v in list(last.items())[:3]})
        return {"iterations": n, "seconds": time.perf_counter() - start, "last": last}

    # -- inference ---------------------------------------------------------------------------
    def render(self, frame: Frame) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement render()")

    # -- persistence -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Tensors, numbers, strings, lists and dicts (what ``torch.load(weights_only=True)``
        reads back): everything ``render`` and further ``train_iteration`` calls need."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement state_dict/load_state_dict or save/load"
        )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} must implement state_dict/load_state_dict or save/load"
        )

    def save(self, path: str | Path) -> None:
        """Write ``state_dict()`` to ``path/method_state.pt`` (atomically)."""
        import torch

        from hwp_bench.io import atomic_path

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with atomic_path(path / self.STATE_FILE) as tmp:
            torch.save(self.state_dict(), tmp)

    def load(self, path: str | Path) -> None:
        """Read what ``save`` wrote; ``weights_only`` so a checkpoint cannot run code."""
        import torch

        file = Path(path) / self.STATE_FILE
        if not file.is_file():
            raise FileNotFoundError(f"no {self.STATE_FILE} in checkpoint folder {path}")
        self.load_state_dict(torch.load(file, map_location="cpu", weights_only=True))

    def diagnostics(self) -> dict[str, Any]:
        return {}


def uses_iteration_api(method: Any) -> bool:
    """True when the runner can drive (and so checkpoint and resume) this method step by step."""
    cls = type(method)
    train_iteration = getattr(cls, "train_iteration", None)
    if train_iteration is None or not hasattr(cls, "setup"):
        return False
    if isinstance(method, MethodBase):
        overrides_step = cls.train_iteration is not MethodBase.train_iteration
        overrides_fit = cls.fit is not MethodBase.fit
        return overrides_step and not overrides_fit
    return True


def resolve_method_config(
    method_id: str,
    preset: str | None = "quick",
    overrides: Sequence[str] | Mapping[str, Any] | None = None,
    *,
    seed: int | None = None,
) -> dict[str, Any]:
    """Look the method up in the registry and resolve its config."""
    return get_method(method_id).method_info().resolve_config(preset, overrides, seed=seed)


# Registry: re-exported here so that ``hwp_bench.api`` is the one import plugins need.
from hwp_bench.registry import (  # noqa: E402
    MethodNotFound,
    MethodUnavailable,
    get_method,
    list_methods,
)
