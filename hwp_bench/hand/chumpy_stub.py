"""Read chumpy and scipy-sparse objects out of MANO pickles without importing either.

MANO's pickles (Python 2) store some arrays as ``chumpy.ch.Ch`` objects (sometimes wrapped in
``chumpy.reordering`` views) and the joint regressor as a ``scipy.sparse.csc_matrix``. Through
:func:`hwp_bench.io.safe_load_pickle`'s ``substitutes``, each of those classes is replaced by a
:class:`Stub` that only records the pickled state (a dict of arrays and numbers); after loading,
:func:`to_array` evaluates the few reorderings chumpy defines with plain numpy. Nothing from the
file is ever called, and an unknown chumpy class is refused by the restricted unpickler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from hwp_bench.io import UnsafePickleError


class Stub:
    """Stand-in for a pickled class instance: keeps its state, does nothing else."""

    kind = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> Stub:  # NEWOBJ calls cls.__new__(cls)
        obj = object.__new__(cls)
        obj.state = {}
        return obj

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state = {**(state[0] or {}), **state[1]}  # (dict, slots) form
        if not isinstance(state, dict):
            raise UnsafePickleError(f"unexpected pickled state for {self.kind}")
        self.state = state


def _stub_class(kind: str) -> type[Stub]:
    return type(f"Stub_{kind}", (Stub,), {"kind": kind})


_CHUMPY = {
    ("chumpy.ch", "Ch"): "Ch",
    ("chumpy.reordering", "Select"): "Select",
    ("chumpy.reordering", "transpose"): "transpose",
    ("chumpy.reordering", "Reshape"): "Reshape",
    ("chumpy.reordering", "swapaxes"): "swapaxes",
    ("chumpy.reordering", "rollaxis"): "rollaxis",
    ("chumpy.reordering", "Tile"): "Tile",
    ("chumpy.reordering", "Repeat"): "Repeat",
    ("chumpy.reordering", "Concatenate"): "Concatenate",
    ("chumpy.reordering", "AtleastNd"): "AtleastNd",
}
_SPARSE = [
    ("scipy.sparse.csc", "csc_matrix"),
    ("scipy.sparse._csc", "csc_matrix"),
    ("scipy.sparse.csr", "csr_matrix"),
    ("scipy.sparse._csr", "csr_matrix"),
]
_STUBS: dict[tuple[str, str], type[Stub]] = {k: _stub_class(v) for k, v in _CHUMPY.items()}
_STUBS.update({k: _stub_class(k[1]) for k in _SPARSE})


def _reconstructor(cls: Any, base: Any, state: Any = None) -> Stub:
    """Protocol 0/1 pickles build objects through ``copy_reg._reconstructor``."""
    if not (isinstance(cls, type) and issubclass(cls, Stub)) or base is not object:
        raise UnsafePickleError(f"copy_reg._reconstructor for {cls!r} is not allowed")
    return cls.__new__(cls)


def mano_substitutes() -> dict[tuple[str, str], Callable[..., Any]]:
    """``substitutes=`` for :func:`safe_load_pickle` that reads MANO pickles."""
    subs: dict[tuple[str, str], Callable[..., Any]] = dict(_STUBS)
    for mod in ("copy_reg", "copyreg"):
        subs[(mod, "_reconstructor")] = _reconstructor
    for mod in ("__builtin__", "builtins"):  # Python 2 pickles name builtins "__builtin__"
        subs[(mod, "object")] = object
        subs[(mod, "set")] = set  # chumpy's _dirty_vars
        subs[(mod, "frozenset")] = frozenset
    return subs


def to_array(obj: Any, name: str = "value") -> Any:
    """Plain numpy for a loaded value (arrays, chumpy stubs, sparse stubs); others unchanged."""
    if isinstance(obj, np.ndarray):
        return obj
    if not isinstance(obj, Stub):
        return obj
    s, kind = obj.state, obj.kind
    try:
        if kind == "Ch":
            return np.asarray(to_array(s["x"], name), dtype=np.float64)
        if kind in ("csc_matrix", "csr_matrix"):
            return _sparse_to_dense(s, kind)
        a = to_array(s.get("a", s.get("x")), name) if kind != "Concatenate" else None
        if kind == "Select":
            out = np.asarray(a).ravel()[np.asarray(s["idxs"]).ravel()]
            return out.reshape(s["preferred_shape"]) if "preferred_shape" in s else out
        if kind == "transpose":
            return np.transpose(a, axes=s.get("axes"))
        if kind == "Reshape":
            return np.reshape(a, s["newshape"])
        if kind == "swapaxes":
            return np.swapaxes(a, s["axis1"], s["axis2"])
        if kind == "rollaxis":
            return np.rollaxis(a, s["axis"], s.get("start", 0))
        if kind == "Tile":
            return np.tile(a, s["reps"])
        if kind == "Repeat":
            return np.repeat(a, s["repeats"], s.get("axis"))
        if kind == "AtleastNd":
            return {1: np.atleast_1d, 2: np.atleast_2d, 3: np.atleast_3d}[s["ndims"]](a)
        if kind == "Concatenate":
            parts = [to_array(s[t], name) for t in s["dterms"]]
            return np.concatenate(parts, axis=s["axis"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"cannot read {name!r} ({kind} object): {exc}") from exc
    raise ValueError(f"cannot read {name!r}: unsupported pickled object {kind}")


def _sparse_to_dense(s: dict, kind: str) -> np.ndarray:
    shape = tuple(s.get("_shape", s.get("shape")))
    data = np.asarray(s["data"], dtype=np.float64)
    indices = np.asarray(s["indices"], dtype=np.int64)
    indptr = np.asarray(s["indptr"], dtype=np.int64)
    major = shape[1] if kind == "csc_matrix" else shape[0]
    if len(indptr) != major + 1 or indptr[-1] != len(data) or len(indices) != len(data):
        raise ValueError(f"inconsistent {kind} arrays")
    dense = np.zeros(shape)
    counts = np.diff(indptr)
    outer = np.repeat(np.arange(major), counts)
    if kind == "csc_matrix":
        np.add.at(dense, (indices, outer), data)
    else:
        np.add.at(dense, (outer, indices), data)
    return dense
