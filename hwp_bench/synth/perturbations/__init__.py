"""HWP-Synth perturbations as declared units: one module per perturbation tag.

``base.py`` is the contract (:class:`Perturbation` and its hooks, default no-op), one module
per built-in (``hoi.py``, ``complex_pose.py``, ``illumination.py``, ``blur.py``), and
``registry.py`` lists what the scene applies. A new perturbation is one module plus a
registration: ``docs/extending_perturbations.md``.
"""

from hwp_bench.synth.perturbations.base import HandMotion, LightState, Perturbation
from hwp_bench.synth.perturbations.registry import (
    PerturbationUnavailable,
    get,
    register,
    registered,
    tags,
    titles,
    unregister,
)

__all__ = [
    "HandMotion",
    "LightState",
    "Perturbation",
    "PerturbationUnavailable",
    "get",
    "register",
    "registered",
    "tags",
    "titles",
    "unregister",
]
