"""Restricted unpickling for untrusted pickles (upstream ``output.pkl``, MANO, LPIPS weights).

Plain :func:`pickle.load` executes arbitrary code through ``__reduce__``. Here every global a
pickle asks for is checked against an allow-list; anything else (``os.system``, ``builtins.eval``,
``subprocess.Popen`` ...) raises :class:`UnsafePickleError` before it is ever called.

Callers choose what they allow:

* ``allow_numpy=True`` (default) admits numpy's array reconstruction (``numpy.core.multiarray.
  _reconstruct``, ``numpy.ndarray``, ``numpy.dtype``, scalar reconstruction) under both the
  numpy 1 (``numpy.core``) and numpy 2 (``numpy._core``) module names.
* ``substitutes`` maps ``(module, name)`` to a harmless callable used instead of the real class.
  The MANO loader uses this to turn chumpy objects into plain arrays without importing chumpy.
"""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np


class UnsafePickleError(pickle.UnpicklingError):
    """Raised when a pickle refers to a global that is not on the allow-list."""


_NUMPY_MODULES = (
    "numpy.core.multiarray",
    "numpy._core.multiarray",
    "numpy",
    "numpy.core.numeric",
    "numpy._core.numeric",
)
_NUMPY_NAMES = {"_reconstruct", "ndarray", "dtype", "scalar", "_frombuffer"}

_SAFE_BUILTINS = {
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("builtins", "slice"): slice,
    ("builtins", "range"): range,
    ("collections", "OrderedDict"): dict,
    # Protocol-2 pickles of bytes go through codecs.encode(str, "latin1"): pure data.
    ("_codecs", "encode"): None,
}


def _numpy_global(module: str, name: str) -> Any | None:
    if module in _NUMPY_MODULES and name in _NUMPY_NAMES:
        if name == "ndarray":
            return np.ndarray
        if name == "dtype":
            return _dtype
        if name == "_frombuffer":
            return _frombuffer
        if name == "scalar":
            return _scalar
        return _reconstruct
    if module == "numpy" and name == "dtype":
        return _dtype
    return None


def _codecs_encode(obj, encoding="utf-8", errors="strict"):  # noqa: ANN001
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise UnsafePickleError("unexpected use of _codecs.encode in pickle")
    return obj.encode(encoding, errors)


def _dtype(*args):  # noqa: ANN002
    dt = np.dtype(*args)
    if dt.hasobject:
        raise UnsafePickleError(
            "object-dtype numpy arrays are not allowed (they can hold any object)"
        )
    return dt


def _reconstruct(cls, shape, dtype):  # noqa: ANN001 - mirrors numpy's private signature
    if cls is not np.ndarray:
        raise UnsafePickleError(f"array subclass {cls!r} is not allowed")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _scalar(dtype, data=None):  # noqa: ANN001
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError("object-dtype numpy scalars are not allowed")
    return np.frombuffer(data, dtype=dtype, count=1)[0] if data is not None else dtype.type()


def _frombuffer(buf, dtype, shape, order):  # noqa: ANN001
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError("object-dtype arrays are not allowed")
    arr = np.frombuffer(buf, dtype=dtype)
    return arr.reshape(shape, order=order).copy()


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(
        self,
        fh: BinaryIO,
        *,
        allow_numpy: bool,
        substitutes: Mapping[tuple[str, str], Callable[..., Any]] | None,
        encoding: str,
    ) -> None:
        super().__init__(fh, encoding=encoding)
        self._allow_numpy = allow_numpy
        self._substitutes = dict(substitutes or {})

    def find_class(self, module: str, name: str) -> Any:  # noqa: D401 - pickle hook
        key = (module, name)
        if key in self._substitutes:
            return self._substitutes[key]
        if key in _SAFE_BUILTINS:
            return _SAFE_BUILTINS[key] or _codecs_encode
        if self._allow_numpy:
            found = _numpy_global(module, name)
            if found is not None:
                return found
        raise UnsafePickleError(
            f"refusing to unpickle global {module}.{name}: this file may execute code "
            "(only numpy arrays, dicts, lists, strings and numbers are accepted)"
        )


def safe_load_pickle(
    source: str | os.PathLike | bytes | BinaryIO,
    *,
    allow_numpy: bool = True,
    substitutes: Mapping[tuple[str, str], Callable[..., Any]] | None = None,
    encoding: str = "latin1",
    max_bytes: int = 2 * 1024**3,
) -> Any:
    """Unpickle ``source`` (path, bytes or binary file) with the restricted allow-list.

    ``encoding='latin1'`` reads Python-2 pickles (MANO's) with numpy arrays correctly.
    ``max_bytes`` bounds the input size for files and bytes.
    """
    if isinstance(source, (bytes, bytearray)):
        if len(source) > max_bytes:
            raise UnsafePickleError(
                f"pickle is {len(source)} bytes, over the {max_bytes} byte limit"
            )
        fh: BinaryIO = io.BytesIO(source)
        return _RestrictedUnpickler(
            fh, allow_numpy=allow_numpy, substitutes=substitutes, encoding=encoding
        ).load()
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        size = path.stat().st_size
        if size > max_bytes:
            raise UnsafePickleError(f"{path} is {size} bytes, over the {max_bytes} byte limit")
        with open(path, "rb") as fh2:
            return _RestrictedUnpickler(
                fh2, allow_numpy=allow_numpy, substitutes=substitutes, encoding=encoding
            ).load()
    return _RestrictedUnpickler(
        source, allow_numpy=allow_numpy, substitutes=substitutes, encoding=encoding
    ).load()
