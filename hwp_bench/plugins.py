"""The one plugin door: entry points plus an environment variable, for every kind of plugin.

Methods (group ``hwp_bench.methods``, variable ``HWP_BENCH_METHODS``) and evaluation protocols
(group ``hwp_bench.protocols``, variable ``HWP_BENCH_PROTOCOLS``) are found the same way. An
installed distribution declares::

    [project.entry-points."hwp_bench.protocols"]
    my-protocol = "my_package.module:MyProtocol"

and a plugin that is not installed (a file you are working on) is named in the variable, a
comma-separated list of ``[id=]target`` where target is ``module:Attr`` (importable from
``sys.path``) or ``/path/to/file.py:Attr``. Entries of the variable take precedence over entry
points with the same id, so a local checkout can shadow an installed version.

Why entry points and an environment variable rather than registration at import time: worker
processes (local spawn, Ray) start from scratch. Entry points are installed metadata and the
environment is inherited, so a plugin registered either way is found in every worker too.

Discovery reads metadata only; a plugin's module is imported when it is looked up. This module
imports nothing of hwp_bench, so any layer may use it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PluginSpec", "PluginUnavailable", "discover", "env_specs", "import_file"]


class PluginUnavailable(RuntimeError):
    """A registered plugin cannot be loaded (the message says why)."""


@dataclass(frozen=True)
class PluginSpec:
    """One registration: where an id points, and who declared it."""

    id: str | None  # None: taken from the loaded object (variable entries without id=)
    target: str  # "module:attr" or "/path/file.py:attr"
    source: str  # "entry point (dist 1.0)" or the variable's name

    def load(self, error: type[Exception] = PluginUnavailable) -> Any:
        """Import and return the target object; ``error`` with the reason on failure."""
        module_part, sep, attr = self.target.rpartition(":")
        if not sep or not module_part or not attr:
            raise error(f"target {self.target!r} is not of the form module:Attr")
        try:
            if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
                module = import_file(Path(module_part))
            else:
                module = importlib.import_module(module_part)
        except PluginUnavailable as exc:
            raise error(str(exc)) from exc
        except Exception as exc:  # ImportError, SyntaxError, errors at import time
            why = str(exc) if isinstance(exc, ImportError) else f"{type(exc).__name__}: {exc}"
            raise error(f"cannot import {module_part} ({why})") from exc
        obj: Any = module
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise error(f"{module_part} has no attribute {attr!r}")
            obj = getattr(obj, part)
        return obj


def import_file(path: Path):
    """Import a plugin file under a stable private module name (same name in every process)."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise PluginUnavailable(f"plugin file {path} does not exist")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"_hwp_bench_plugin_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginUnavailable(f"cannot load plugin file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def env_specs(variable: str) -> list[PluginSpec]:
    """The registrations listed in the environment variable ``variable``."""
    specs = []
    for raw in (os.environ.get(variable) or "").replace("\n", ",").split(","):
        item = raw.strip()
        if not item:
            continue
        plugin_id, eq, target = item.partition("=")
        if not eq:
            plugin_id, target = None, item
        specs.append(
            PluginSpec(
                id=plugin_id.strip() if plugin_id else None, target=target.strip(), source=variable
            )
        )
    return specs


def discover(
    group: str, variable: str, id_of: Callable[[Any], str] | None = None
) -> dict[str, PluginSpec]:
    """All registrations by id: entry points of ``group``, then ``variable``'s on top.

    ``id_of(obj)`` names a variable entry given without ``id=`` (it is imported for that); an
    entry that cannot be loaded stays listed under its target, so listings can show the error.
    """
    found: dict[str, PluginSpec] = {}
    for ep in importlib.metadata.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        where = f"entry point ({dist.name} {dist.version})" if dist is not None else "entry point"
        # The same distribution can be visible twice (editable install + build dir): first wins.
        found.setdefault(ep.name, PluginSpec(id=ep.name, target=ep.value, source=where))
    for spec in env_specs(variable):
        if spec.id is None:
            try:
                if id_of is None:
                    raise PluginUnavailable("no id")
                spec = PluginSpec(id=id_of(spec.load()), target=spec.target, source=spec.source)
            except Exception:
                spec = PluginSpec(id=spec.target, target=spec.target, source=spec.source)
        found[spec.id] = spec
    return found
