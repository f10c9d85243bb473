"""Which perturbations HWP-Synth applies, in which order.

Three sources, in this order:

1. the built-ins, fixed here in Table II's order (``hoi``, ``complex_pose``, ``illumination``,
   ``blur``): their order is the order of their random draws, so it is part of the data;
2. plugins through the toolkit's plugin door (:mod:`hwp_bench.plugins`): the entry-point group
   ``hwp_bench.perturbations`` or the variable ``HWP_BENCH_PERTURBATIONS``
   (``[tag=]module:Class`` or ``/path/file.py:Class``, comma-separated); these reach the
   worker processes that render captures in parallel;
3. classes registered in this process with :func:`register` (tests, notebooks): they do not
   reach other processes, so :func:`hwp_bench.synth.generate` renders in-process while any
   are registered.

Plugins and local registrations follow the built-ins sorted by tag, so the result does not
depend on discovery order. Every source gives classes (subclasses of
:class:`~hwp_bench.synth.perturbations.base.Perturbation`); the scene makes one instance per
capture.
"""

from __future__ import annotations

import re

from hwp_bench import plugins
from hwp_bench.synth.perturbations.base import Perturbation
from hwp_bench.synth.perturbations.blur import MotionBlur
from hwp_bench.synth.perturbations.complex_pose import ComplexPose
from hwp_bench.synth.perturbations.hoi import HandObjectInteraction
from hwp_bench.synth.perturbations.illumination import Illumination

ENTRY_POINT_GROUP = "hwp_bench.perturbations"
ENV_VAR = "HWP_BENCH_PERTURBATIONS"

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "ENV_VAR",
    "PerturbationUnavailable",
    "builtin_tags",
    "get",
    "local",
    "register",
    "registered",
    "tags",
    "titles",
    "unregister",
]

#: The built-in perturbations, in the order of their random draws (never reorder).
BUILTIN: tuple[type[Perturbation], ...] = (
    HandObjectInteraction,
    ComplexPose,
    Illumination,
    MotionBlur,
)
_TAG_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_LOCAL: dict[str, type[Perturbation]] = {}
_LOADED: dict[tuple[str, str], type[Perturbation]] = {}


class PerturbationUnavailable(plugins.PluginUnavailable):
    """A registered perturbation plugin cannot be loaded (the message says why)."""


def _check(cls) -> type[Perturbation]:
    if not (isinstance(cls, type) and issubclass(cls, Perturbation)):
        raise PerturbationUnavailable(f"{cls!r} is not a Perturbation subclass")
    if not _TAG_RE.match(cls.tag or ""):
        raise PerturbationUnavailable(
            f"{cls.__name__}.tag {cls.tag!r} must be lower case letters, digits and underscores"
        )
    return cls


def _plugins() -> list[type[Perturbation]]:
    specs = plugins.discover(ENTRY_POINT_GROUP, ENV_VAR, id_of=lambda obj: _check(obj).tag)
    out = []
    for tag, spec in specs.items():
        key = (tag, spec.target)
        if key not in _LOADED:
            cls = _check(spec.load(PerturbationUnavailable))
            if cls.tag != tag:
                raise PerturbationUnavailable(
                    f"perturbation plugin {spec.target} ({spec.source}) is registered as "
                    f"{tag!r} but its tag is {cls.tag!r}"
                )
            _LOADED[key] = cls
        out.append(_LOADED[key])
    return out


def registered() -> tuple[type[Perturbation], ...]:
    """Every perturbation class HWP-Synth applies, in application order."""
    extra = {cls.tag: cls for cls in _plugins()}
    extra.update(_LOCAL)
    builtin = {cls.tag for cls in BUILTIN}
    clash = sorted(set(extra) & builtin)
    if clash:
        raise PerturbationUnavailable(f"perturbation tags {clash} are built-in; choose other tags")
    return BUILTIN + tuple(extra[t] for t in sorted(extra))


def tags() -> tuple[str, ...]:
    """Tags of every registered perturbation, in application order."""
    return tuple(cls.tag for cls in registered())


def titles() -> dict[str, str]:
    """Tag -> words for people (dataset cards), for every registered perturbation."""
    return {cls.tag: cls.title or cls.tag for cls in registered()}


def builtin_tags() -> tuple[str, ...]:
    """The paper's perturbation tags (Table II), from the built-in classes."""
    return tuple(cls.tag for cls in BUILTIN)


def get(tag: str) -> type[Perturbation]:
    """The class registered for ``tag``; ``KeyError`` naming the known tags otherwise."""
    for cls in registered():
        if cls.tag == tag:
            return cls
    raise KeyError(f"unknown perturbation {tag!r}: choose one of {', '.join(tags())}")


def local() -> tuple[str, ...]:
    """Tags registered in this process only (they do not reach worker processes)."""
    return tuple(sorted(_LOCAL))


def register(cls: type[Perturbation]) -> type[Perturbation]:
    """Add a perturbation class in this process (usable as a class decorator).

    Its tag must be new. Registration changes generated data (one more strength per frame):
    see the version rule in ``docs/extending_perturbations.md``.
    """
    _check(cls)
    if cls.tag in {c.tag for c in BUILTIN} or cls.tag in {c.tag for c in _plugins()}:
        raise ValueError(f"perturbation {cls.tag!r} is already registered")
    if _LOCAL.get(cls.tag, cls) is not cls:
        raise ValueError(f"perturbation {cls.tag!r} is already registered")
    _LOCAL[cls.tag] = cls
    return cls


def unregister(tag: str) -> None:
    """Remove a perturbation registered with :func:`register` (built-ins stay)."""
    if tag not in _LOCAL:
        raise KeyError(f"perturbation {tag!r} was not registered with register()")
    del _LOCAL[tag]
