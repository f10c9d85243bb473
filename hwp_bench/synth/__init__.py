"""HWP-Synth: the procedurally rendered stand-in for HWP (docs/design.md, section 'HWP-Synth').

``ensure_synth(preset="quick", seed=0, clean=False) -> Path`` returns the dataset folder under
``hwp_bench.paths.datasets_dir()`` (``hwp-synth-quick-s0-v<N>``, clean twin
``hwp-synth-quick-s0-clean-v<N>``; N is the generator version),
generating missing captures first. Modules, one job each: ``raster`` (z-buffer triangle
rasterizer), ``shading`` (textures, normals, light, shadow map), ``skin`` (procedural skin
albedo baked in UV space), ``textures``/``primitives``/``props`` (objects), ``rig``/``motion``
(keyposes per action motif), ``camera`` (intrinsics, handheld motion), ``perturbations``
(one module per perturbation tag, its hooks and the registry; guide:
docs/extending_perturbations.md), ``schedule`` (perturbation strengths over time), ``scene``
(one capture: applies the registered perturbations), ``generate`` (dataset folders),
``preview`` (contact sheets).
"""

from hwp_bench.synth.generate import (
    GENERATOR_VERSION,
    dataset_name,
    default_root,
    ensure_synth,
    generate,
)
from hwp_bench.synth.spec import PRESETS, Preset, get_preset

__all__ = [
    "GENERATOR_VERSION",
    "PRESETS",
    "Preset",
    "dataset_name",
    "default_root",
    "ensure_synth",
    "generate",
    "get_preset",
]
