"""MethodBase: a convenient implementation of the method contract (config, fit loop, save/load).

Methods need not inherit it (the contract in :mod:`hwp_bench.methods.contract` is structural),
but the built-in ones do: it resolves the config, seeds, implements ``fit`` as a loop over the
iteration API and saves ``state_dict()`` atomically.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hwp_bench.methods.config import SEED_KEY, resolve_config
from hwp_bench.methods.contract import MethodInfo

if TYPE_CHECKING:
    from hwp_bench.data.frame import Frame

__all__ = ["MethodBase", "uses_iteration_api"]


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
