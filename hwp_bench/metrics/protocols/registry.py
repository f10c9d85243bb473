"""Finding protocols by id: built-ins and plugins through the entry-point group
``hwp_bench.protocols`` (and ``HWP_BENCH_PROTOCOLS``), the same door as methods.

An entry point names a :class:`~hwp_bench.metrics.protocols.base.Protocol` subclass (built with
no arguments) or an instance. Because discovery reads installed metadata and the environment,
a plugin protocol is found in every worker process the runner spawns, not only in the process
that registered it. :func:`register_protocol` remains for protocols made at run time in one
process (tests, notebooks); it does not reach other processes.
"""

from __future__ import annotations

import difflib

from hwp_bench import plugins
from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL
from hwp_bench.metrics.protocols.base import Protocol

ENTRY_POINT_GROUP = "hwp_bench.protocols"
ENV_VAR = "HWP_BENCH_PROTOCOLS"

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENV_VAR",
    "ProtocolUnavailable",
    "get_protocol",
    "list_protocols",
    "register_protocol",
]

# Protocols registered in this process, and instances built from plugins (built once each).
_LOCAL: dict[str, Protocol] = {}
_LOADED: dict[tuple[str, str], Protocol] = {}


class ProtocolUnavailable(plugins.PluginUnavailable):
    """A registered protocol cannot be loaded (the message says why)."""


def _instantiate(obj) -> Protocol:
    if isinstance(obj, type) and issubclass(obj, Protocol):
        obj = obj()
    if not isinstance(obj, Protocol):
        raise ProtocolUnavailable(f"{obj!r} is neither a Protocol subclass nor an instance")
    if not obj.id:
        raise ProtocolUnavailable(f"{type(obj).__name__} has no id")
    return obj


def _protocol_id(obj) -> str:
    return _instantiate(obj).id


def _discover() -> dict[str, plugins.PluginSpec]:
    return plugins.discover(ENTRY_POINT_GROUP, ENV_VAR, id_of=_protocol_id)


def register_protocol(protocol: Protocol) -> Protocol:
    """Add a protocol instance to this process's registry (its id must be new)."""
    if not protocol.id:
        raise ValueError("a protocol needs an id")
    known = _LOCAL.get(protocol.id)
    if (known is not None and known is not protocol) or (
        known is None and protocol.id in _discover()
    ):
        raise ValueError(f"protocol {protocol.id!r} is already registered")
    _LOCAL[protocol.id] = protocol
    return protocol


def get_protocol(protocol_id: str | None = None) -> Protocol:
    """The protocol ``protocol_id`` (default: the toolkit's default protocol).

    Raises ``KeyError`` naming the known ids for an unknown one, and
    :class:`ProtocolUnavailable` when a registered plugin cannot be loaded.
    """
    pid = protocol_id or DEFAULT_PROTOCOL
    if pid in _LOCAL:
        return _LOCAL[pid]
    specs = _discover()
    spec = specs.get(pid)
    if spec is None:
        known = sorted({*specs, *_LOCAL})
        close = difflib.get_close_matches(pid, known, n=2)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise KeyError(f"unknown protocol {pid!r}{hint}; registered: {', '.join(known)}")
    key = (spec.target, spec.source)
    if key not in _LOADED:
        protocol = _instantiate(spec.load(error=ProtocolUnavailable))
        if protocol.id != pid:
            raise ProtocolUnavailable(
                f"registered as {pid!r} but the protocol's id is {protocol.id!r}; make them equal"
            )
        _LOADED[key] = protocol
    return _LOADED[key]


def list_protocols() -> list[str]:
    """Ids of every protocol known here (plugins and this process's registrations)."""
    return sorted({*_discover(), *_LOCAL})


def describe_protocols() -> list[dict]:
    """One row per protocol (id, source, available, reason, description). Never raises."""
    rows = []
    specs = _discover()
    for pid in list_protocols():
        source = "registered in this process" if pid in _LOCAL else specs[pid].source
        try:
            protocol = get_protocol(pid)
            rows.append(
                {
                    "id": pid,
                    "source": source,
                    "available": True,
                    "reason": "",
                    "description": protocol.description,
                }
            )
        except Exception as exc:  # one broken plugin must not hide the others
            rows.append(
                {"id": pid, "source": source, "available": False, "reason": str(exc) or "error"}
            )
    return rows
