"""Method registry: entry points of the group ``hwp_bench.methods`` plus ``HWP_BENCH_METHODS``.

Built-in methods use the same door as third-party ones: an installed distribution declares

    [project.entry-points."hwp_bench.methods"]
    my-method = "my_package.module:MyMethod"

For a plugin that is not installed (a file you are working on), set ``HWP_BENCH_METHODS`` to a
comma-separated list of ``[id=]target`` where target is ``module:Class`` (importable from
``sys.path``) or ``/path/to/file.py:Class``; without ``id=`` the id comes from the class's
``method_info().id``. Entries of ``HWP_BENCH_METHODS`` take precedence over entry points with
the same id, so a local checkout can shadow an installed version.

Discovery only reads metadata; a method's module is imported when it is looked up. A method
whose import fails (missing optional dependency, module not written yet) is listed as
*unavailable* with the reason, and does not stop the others from working.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENTRY_POINT_GROUP = "hwp_bench.methods"
ENV_VAR = "HWP_BENCH_METHODS"


class MethodNotFound(LookupError):
    """No method is registered under this id (message lists the known ones)."""


class MethodUnavailable(RuntimeError):
    """The method is registered but cannot run here (message says why)."""


@dataclass(frozen=True)
class MethodSpec:
    """One registration: where a method id points, and who declared it."""

    id: str | None  # None: take it from method_info() once loaded (env entries without id=)
    target: str  # "module:attr" or "/path/file.py:attr"
    source: str  # "entry point (dist 1.0)" or "HWP_BENCH_METHODS"

    def load(self) -> type:
        """Import and return the class; :class:`MethodUnavailable` with the reason on failure."""
        module_part, sep, attr = self.target.rpartition(":")
        if not sep or not module_part or not attr:
            raise MethodUnavailable(f"target {self.target!r} is not of the form module:Class")
        try:
            if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
                module = _import_file(Path(module_part))
            else:
                module = importlib.import_module(module_part)
        except MethodUnavailable:
            raise
        except Exception as exc:  # ImportError, SyntaxError, errors at import time
            why = str(exc) if isinstance(exc, ImportError) else f"{type(exc).__name__}: {exc}"
            raise MethodUnavailable(f"cannot import {module_part} ({why})") from exc
        obj: Any = module
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise MethodUnavailable(f"{module_part} has no attribute {attr!r}")
            obj = getattr(obj, part)
        if not isinstance(obj, type):
            raise MethodUnavailable(f"{self.target} is not a class")
        return obj


def _import_file(path: Path):
    """Import a plugin file under a stable private module name (same name in every process)."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise MethodUnavailable(f"plugin file {path} does not exist")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"_hwp_bench_plugin_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise MethodUnavailable(f"cannot load plugin file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _env_specs(value: str | None) -> list[MethodSpec]:
    specs = []
    for raw in (value or "").replace("\n", ",").split(","):
        item = raw.strip()
        if not item:
            continue
        method_id, eq, target = item.partition("=")
        if not eq:
            method_id, target = None, item
        specs.append(
            MethodSpec(
                id=method_id.strip() if method_id else None, target=target.strip(), source=ENV_VAR
            )
        )
    return specs


def discover() -> dict[str, MethodSpec]:
    """All registrations by id (entry points, then ``HWP_BENCH_METHODS`` on top). No imports."""
    found: dict[str, MethodSpec] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        where = f"entry point ({dist.name} {dist.version})" if dist is not None else "entry point"
        # The same distribution can be visible twice (editable install + build dir): first wins.
        found.setdefault(ep.name, MethodSpec(id=ep.name, target=ep.value, source=where))
    for spec in _env_specs(os.environ.get(ENV_VAR)):
        if spec.id is None:
            try:
                cls = spec.load()
                spec = MethodSpec(id=cls.method_info().id, target=spec.target, source=spec.source)
            except Exception:
                # Keep it listed under its target so `hwp-bench methods` can show the error.
                spec = MethodSpec(id=spec.target, target=spec.target, source=spec.source)
        found[spec.id] = spec
    return found


def _validate(method_id: str, cls: type) -> Any:
    from hwp_bench.methods.contract import MethodInfo

    if not callable(getattr(cls, "method_info", None)):
        raise MethodUnavailable(f"{cls.__module__}.{cls.__qualname__} has no method_info()")
    try:
        info = cls.method_info()
    except Exception as exc:
        raise MethodUnavailable(f"method_info() failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(info, MethodInfo):
        raise MethodUnavailable(
            "method_info() must return hwp_bench.api.MethodInfo (hwp_bench.methods.contract)"
        )
    if info.id != method_id:
        raise MethodUnavailable(
            f"registered as {method_id!r} but method_info().id is {info.id!r}; make them equal"
        )
    for name in ("render", "save", "load"):
        if not callable(getattr(cls, name, None)):
            raise MethodUnavailable(f"{cls.__qualname__} has no {name}()")
    if not callable(getattr(cls, "fit", None)) and not callable(
        getattr(cls, "train_iteration", None)
    ):
        raise MethodUnavailable(f"{cls.__qualname__} has neither fit() nor train_iteration()")
    return info


def get_method(method_id: str, *, check_requirements: bool = True) -> type:
    """The class registered as ``method_id``, imported and checked.

    Raises :class:`MethodNotFound` (unknown id, with suggestions) or :class:`MethodUnavailable`
    (import failed, contract broken, or ``check_requirements()`` gave a reason).
    """
    specs = discover()
    if method_id not in specs:
        close = difflib.get_close_matches(method_id, list(specs), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        known = ", ".join(sorted(specs)) or "(none)"
        raise MethodNotFound(
            f"no method {method_id!r} is registered.{hint} Known: {known}. Register one with an "
            f"entry point in the group {ENTRY_POINT_GROUP!r} or with {ENV_VAR}=id=module:Class."
        )
    cls = specs[method_id].load()
    _validate(method_id, cls)
    if check_requirements:
        check = getattr(cls, "check_requirements", None)
        reason = check() if callable(check) else None
        if reason:
            raise MethodUnavailable(f"method {method_id!r} cannot run here: {reason}")
    return cls


@dataclass(frozen=True)
class MethodStatus:
    """A row of ``hwp-bench methods``."""

    id: str
    source: str
    target: str
    available: bool
    reason: str  # "" when available
    info: Any  # MethodInfo or None when the class could not be loaded


def list_methods() -> list[MethodStatus]:
    """Every registered method with whether it can run here, sorted by id. Never raises."""
    rows = []
    for method_id, spec in sorted(discover().items()):
        info, reason = None, ""
        try:
            cls = spec.load()
            info = _validate(method_id, cls)
            check = getattr(cls, "check_requirements", None)
            reason = (check() if callable(check) else None) or ""
        except Exception as exc:  # one broken plugin must not hide the others
            reason = str(exc) or type(exc).__name__
        rows.append(
            MethodStatus(
                id=method_id,
                source=spec.source,
                target=spec.target,
                available=not reason,
                reason=reason,
                info=info,
            )
        )
    return rows
