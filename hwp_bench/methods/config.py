"""Method configurations: defaults, presets, ``--set key=value`` overrides and the config hash.

A method declares ``default_config`` (every key it understands, with its default) and presets
(``quick`` for a CPU, ``paper`` for a GPU), each a *partial* dict merged onto the defaults. The
user's ``--set`` overrides are merged last. Unknown keys are an error rather than silently
ignored, because a typo in ``--set lr=...`` would otherwise produce a benchmark number for a
configuration nobody asked for. Values are parsed as JSON (``3``, ``0.5``, ``true``, ``[1,2]``,
``"x"``) and fall back to a plain string; they must match the type of the default (an int is
accepted where a float is expected).

The config hash identifies "the same work" for the runner's skip logic and the result files:
SHA-256 of the canonical JSON of the resolved config, *without* the seed (reserved key
``seed``), so that results of one configuration over several seeds share a hash.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from hwp_bench.io.canonical import canonical_hash

#: Config key the runner fills with the job's seed; excluded from the config hash.
SEED_KEY = "seed"


class ConfigError(ValueError):
    """A preset or an override does not fit the method's configuration (message is for users)."""


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: ``base`` with ``update`` merged in, recursing into nested dicts."""
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_value(text: str) -> Any:
    """Parse one override value: JSON if it parses, else Python-style literals, else a string."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    lowered = {"True": True, "False": False, "None": None}
    if text in lowered:
        return lowered[text]
    return text


def parse_overrides(items: Iterable[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """``["a.b=1", "lr=0.01"]`` -> ``{"a": {"b": 1}, "lr": 0.01}`` (dotted keys nest)."""
    if items is None:
        return {}
    if isinstance(items, Mapping):
        flat = dict(items)
    else:
        flat = {}
        for item in items:
            if "=" not in item:
                raise ConfigError(f"override {item!r} is not of the form key=value")
            key, value = item.split("=", 1)
            key = key.strip()
            if not key:
                raise ConfigError(f"override {item!r} has an empty key")
            flat[key] = parse_value(value)
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        parts = str(key).split(".")
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {key!r} conflicts with another override")
        node[parts[-1]] = value
    return nested


def _check_types(defaults: Mapping[str, Any], update: Mapping[str, Any], prefix: str = "") -> None:
    for key, value in update.items():
        path = f"{prefix}{key}"
        if key not in defaults:
            if key == SEED_KEY and not prefix:
                continue
            close = difflib.get_close_matches(key, [str(k) for k in defaults], n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            known = ", ".join(sorted(str(k) for k in defaults))
            raise ConfigError(f"unknown config key {path!r}{hint}; known keys: {known}")
        default = defaults[key]
        if isinstance(default, Mapping):
            if not isinstance(value, Mapping):
                raise ConfigError(f"config key {path!r} is a group; set its fields as {path}.NAME")
            _check_types(default, value, prefix=f"{path}.")
            continue
        if default is None or value is None:
            continue
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif isinstance(default, str):
            ok = isinstance(value, str)
        elif isinstance(default, list | tuple):
            ok = isinstance(value, list | tuple)
        else:
            ok = True
        if not ok:
            raise ConfigError(
                f"config key {path!r} expects {type(default).__name__} "
                f"(default {default!r}), got {value!r}"
            )


def _coerce_floats(defaults: Mapping[str, Any], config: dict[str, Any]) -> None:
    """Ints given for float defaults become floats, so that ``lr=1`` and ``lr=1.0`` hash alike."""
    for key, default in defaults.items():
        if key not in config:
            continue
        if isinstance(default, Mapping) and isinstance(config[key], dict):
            _coerce_floats(default, config[key])
        elif isinstance(default, float) and isinstance(config[key], int):
            if not isinstance(config[key], bool):
                config[key] = float(config[key])


def resolve_config(
    default_config: Mapping[str, Any],
    presets: Mapping[str, Mapping[str, Any]],
    preset: str | None = None,
    overrides: Iterable[str] | Mapping[str, Any] | None = None,
    *,
    seed: int | None = None,
) -> dict[str, Any]:
    """Defaults, then the preset, then the overrides; type-checked; ``seed`` set if given."""
    config = copy.deepcopy(dict(default_config))
    if preset is not None:
        if preset not in presets:
            known = ", ".join(presets) or "(none)"
            raise ConfigError(f"unknown preset {preset!r}; this method has: {known}")
        _check_types(default_config, presets[preset])
        config = deep_merge(config, presets[preset])
    update = parse_overrides(overrides)
    _check_types(default_config, update)
    config = deep_merge(config, update)
    _coerce_floats(default_config, config)
    if seed is not None:
        config[SEED_KEY] = int(seed)
    return config


def identity_config(config: Mapping[str, Any], neutral: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` without the options that hold their neutral value (``MethodInfo.
    neutral_options``): what identifies a run, so that an option added later at the value that
    reproduces the old behaviour leaves every earlier run's identity unchanged."""
    return {k: v for k, v in config.items() if not (k in neutral and v == neutral[k])}


def config_hash(config: Mapping[str, Any], *, extra: Mapping[str, Any] | None = None) -> str:
    """SHA-256 hex digest of the config without its seed (plus ``extra`` identity fields)."""
    body = {k: v for k, v in config.items() if k != SEED_KEY}
    payload = {"config": body, **(dict(extra) if extra else {})}
    return canonical_hash(payload)
