"""The stable public import for method authors and users: everything re-exported from one place.

The pieces live where the data flow puts them (``docs/design.md``):

* :mod:`hwp_bench.methods.contract`: the types (MethodInfo, the Method protocol); a leaf;
* :mod:`hwp_bench.methods.base`: MethodBase, the convenient implementation;
* :mod:`hwp_bench.methods.config`: presets, ``--set`` overrides, the config hash;
* :mod:`hwp_bench.methods.registry`: discovery through entry points (``hwp_bench.methods``).

A plugin needs only ``from hwp_bench.api import MethodBase, MethodInfo``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hwp_bench.methods.base import MethodBase, uses_iteration_api
from hwp_bench.methods.config import (
    ConfigError,
    config_hash,
    parse_overrides,
    resolve_config,
)
from hwp_bench.methods.contract import HAND_TYPES, IMPLEMENTATION_STATUSES, Method, MethodInfo
from hwp_bench.methods.registry import (
    MethodNotFound,
    MethodUnavailable,
    get_method,
    list_methods,
)

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


def resolve_method_config(
    method_id: str,
    preset: str | None = "quick",
    overrides: Sequence[str] | Mapping[str, Any] | None = None,
    *,
    seed: int | None = None,
) -> dict[str, Any]:
    """Look the method up in the registry and resolve its config."""
    return get_method(method_id).method_info().resolve_config(preset, overrides, seed=seed)
