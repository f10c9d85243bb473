"""Method registry: entry points of the group ``hwp_bench.methods`` plus ``HWP_BENCH_METHODS``.

Built-in methods use the same door as third-party ones (:mod:`hwp_bench.plugins`, shared with
evaluation protocols): an installed distribution declares

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
from dataclasses import dataclass
from typing import Any

from hwp_bench import plugins
from hwp_bench.plugins import PluginSpec, PluginUnavailable

ENTRY_POINT_GROUP = "hwp_bench.methods"
ENV_VAR = "HWP_BENCH_METHODS"


class MethodNotFound(LookupError):
    """No method is registered under this id (message lists the known ones)."""


class MethodUnavailable(PluginUnavailable):
    """The method is registered but cannot run here (message says why)."""


#: A method registration (the generic plugin spec; ``load`` raises MethodUnavailable here).
MethodSpec = PluginSpec


def _method_id(cls: Any) -> str:
    return cls.method_info().id


def discover() -> dict[str, MethodSpec]:
    """All registrations by id (entry points, then ``HWP_BENCH_METHODS`` on top). No imports."""
    return plugins.discover(ENTRY_POINT_GROUP, ENV_VAR, id_of=_method_id)


def _load_class(spec: MethodSpec) -> type:
    obj = spec.load(error=MethodUnavailable)
    if not isinstance(obj, type):
        raise MethodUnavailable(f"{spec.target} is not a class")
    return obj


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
    cls = _load_class(specs[method_id])
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
            cls = _load_class(spec)
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
