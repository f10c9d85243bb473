"""Restricted unpickling for untrusted pickles (upstream ``output.pkl``, MANO, LPIPS weights).

Plain :func:`pickle.load` executes arbitrary code through ``__reduce__``. Here:

* every global a pickle asks for is checked against an allow-list; anything else
  (``os.system``, ``builtins.eval``, ``subprocess.Popen`` ...) raises
  :class:`UnsafePickleError` before it is ever called;
* sizes are bounded *before* anything is allocated: the input (``max_bytes``, read whole, so a
  frame or bytes opcode can never ask for more than the file holds; ``BYTEARRAY8`` reads its
  bytes before allocating, unlike the stock opcode), ``range`` objects
  (``set(range(10**9))`` is 39 bytes of pickle), and every array (its element count and bytes
  must match the data actually present in the pickle);
* numpy dtypes are created as fresh copies (never numpy's shared singletons) and checked
  after every state change: object dtypes, and dtypes whose flags or field offsets were
  altered to mean something else, are refused;
* ``BUILD`` (the opcode that sets an object's state) is only applied to a numpy array or
  dtype the pickle itself just created (once each, with the state checked first) or to an
  instance of a caller's substitute class. ``BUILD`` on a class, a function, a container or
  anything else is refused, so a pickle cannot rename or patch the loader's own objects;
* any malformed input (truncated, empty, undefined memo, persistent ids, bad opcodes)
  raises :class:`MalformedPickleError`, a subclass of :class:`UnsafePickleError`, never a
  stray ``EOFError``/``KeyError``/``MemoryError``.

The unpickler is Python's pure-Python one (``pickle._Unpickler``) with a custom ``BUILD``:
array data arrives in large byte chunks, so it stays fast for MANO (a few MB) and
``output.pkl`` files.

Callers choose what they allow:

* ``allow_numpy=True`` (default) admits numpy's array reconstruction (``numpy.core.multiarray.
  _reconstruct``, ``numpy.ndarray`` as its class token, ``numpy.dtype``, scalar
  reconstruction, ``_frombuffer``) under both the numpy 1 (``numpy.core``) and numpy 2
  (``numpy._core``) module names.
* ``substitutes`` maps ``(module, name)`` to a harmless callable used instead of the real class.
  The MANO loader uses this to turn chumpy objects into plain arrays without importing chumpy.
"""

from __future__ import annotations

import _compat_pickle
import io
import math
import os
import pickle
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

__all__ = ["MalformedPickleError", "UnsafePickleError", "safe_load_pickle"]


class UnsafePickleError(pickle.UnpicklingError):
    """Raised when a pickle asks for something outside the allow-list or the size limits."""


class MalformedPickleError(UnsafePickleError):
    """The input is not a valid pickle (empty, truncated, corrupt opcodes, undefined memo)."""


_NUMPY_MODULES = (
    "numpy.core.multiarray",
    "numpy._core.multiarray",
    "numpy",
    "numpy.core.numeric",
    "numpy._core.numeric",
)
_NUMPY_NAMES = {"_reconstruct", "ndarray", "dtype", "scalar", "_frombuffer"}
#: ``range`` objects are lazy: their length is bounded before ``set``/``list`` can expand them.
MAX_RANGE = 1_000_000
#: An array reconstructed before its state arrives is empty in every genuine pickle.
_MAX_PLACEHOLDER_ELEMENTS = 1024
#: dtype flags that only object-like dtypes carry (numpy's NPY_ITEM_HASOBJECT|REFCOUNT,
#: NPY_LIST_PICKLE, NPY_ITEM_IS_POINTER, NPY_USE_GETITEM, NPY_USE_SETITEM).
_OBJECT_FLAGS = 0x01 | 0x02 | 0x04 | 0x20 | 0x40


def _range(*args: Any) -> range:
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        raise UnsafePickleError("range() arguments must be integers")
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise UnsafePickleError(f"range of {len(r)} items refused (limit {MAX_RANGE})")
    return r


def _bytes(*args: Any) -> bytes:
    """``bytes()`` as protocols 0-2 write empty bytes; never ``bytes(n)`` (n zero bytes)."""
    if args and not isinstance(args[0], (str, bytes)):
        raise UnsafePickleError("bytes() from anything but a string is not allowed")
    if args and isinstance(args[0], str):
        return _codecs_encode(*args)
    return bytes(*args[:1])


_SAFE_BUILTINS: dict[tuple[str, str], Any] = {
    ("builtins", "bytes"): _bytes,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("builtins", "slice"): slice,
    ("builtins", "range"): _range,
    ("collections", "OrderedDict"): dict,
    # Protocol-2 pickles of bytes go through codecs.encode(str, "latin1"): pure data.
    ("_codecs", "encode"): None,
}


class _NdarrayToken:
    """Stands for ``numpy.ndarray`` in a pickle: only valid as ``_reconstruct``'s class."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:  # noqa: ARG003
        raise UnsafePickleError("numpy.ndarray may only be rebuilt through _reconstruct")


def _numpy_global(module: str, name: str) -> Any | None:
    if module in _NUMPY_MODULES and name in _NUMPY_NAMES:
        return {
            "ndarray": _NdarrayToken,
            "dtype": _dtype,
            "_frombuffer": _frombuffer,
            "scalar": _scalar,
            "_reconstruct": _reconstruct,
        }[name]
    return None


def _codecs_encode(obj, encoding="utf-8", errors="strict"):  # noqa: ANN001
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise UnsafePickleError("unexpected use of _codecs.encode in pickle")
    return obj.encode(encoding, errors)


def _check_dtype(dt: Any) -> np.dtype:
    """``dt`` if it is a plain (non-object) dtype whose layout numpy itself would build."""
    if not isinstance(dt, np.dtype):
        raise UnsafePickleError(f"expected a numpy dtype, got {type(dt).__name__}")
    if dt.hasobject or dt.flags & _OBJECT_FLAGS:
        raise UnsafePickleError(
            "object-dtype numpy arrays are not allowed (they can hold any object)"
        )
    if dt.fields is not None:
        names = list(dt.names or ())
        fields = [dt.fields[n] for n in names]
        for f in fields:
            _check_dtype(f[0])
        try:
            ref = np.dtype(
                {
                    "names": names,
                    "formats": [f[0] for f in fields],
                    "offsets": [f[1] for f in fields],
                    "itemsize": dt.itemsize,
                }
            )
        except (TypeError, ValueError) as exc:
            raise UnsafePickleError(f"inconsistent structured dtype ({exc})") from None
        if ref != dt:
            raise UnsafePickleError("structured dtype differs from its own description")
    elif dt.subdtype is not None:
        base, shape = dt.subdtype
        _check_dtype(base)
        if base.itemsize * math.prod(shape) != dt.itemsize:
            raise UnsafePickleError("sub-array dtype size does not match its shape")
    else:
        try:
            ref = np.dtype(dt.str)
        except (TypeError, ValueError) as exc:
            raise UnsafePickleError(f"unusable dtype {dt.str!r} ({exc})") from None
        if ref != dt or ref.itemsize != dt.itemsize or ref.flags != dt.flags:
            raise UnsafePickleError(f"dtype {dt.str!r} was altered from numpy's definition")
    return dt


def _dtype(obj: Any, align: Any = False, copy: Any = True) -> np.dtype:
    """``numpy.dtype(obj, align, copy=True)``: always a new object, never a shared singleton
    that a later ``BUILD`` could corrupt for the whole process."""
    if not isinstance(obj, (str, bytes)):
        raise UnsafePickleError(f"numpy.dtype({type(obj).__name__}) is not allowed")
    if isinstance(obj, bytes):
        obj = obj.decode("latin1")
    try:
        dt = np.dtype(obj, bool(align), True)
    except (TypeError, ValueError) as exc:
        raise UnsafePickleError(f"invalid dtype in pickle ({exc})") from None
    return _check_dtype(dt)


def _elements(shape: Any) -> int:
    if not isinstance(shape, tuple):
        shape = (shape,)
    if len(shape) > 32 or not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
        raise UnsafePickleError(f"invalid array shape {shape!r}")
    if any(s < 0 for s in shape):
        raise UnsafePickleError(f"negative array dimension in {shape!r}")
    return math.prod(shape)


def _reconstruct(cls, shape, dtype):  # noqa: ANN001 - mirrors numpy's private signature
    if cls is not _NdarrayToken:
        raise UnsafePickleError(f"array subclass {cls!r} is not allowed")
    if isinstance(dtype, (bytes, str)):
        dtype = _dtype(dtype)
    _check_dtype(dtype)
    n = _elements(shape)
    if n > _MAX_PLACEHOLDER_ELEMENTS:
        raise UnsafePickleError(f"array placeholder of {n} elements refused")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _data_bytes(data: Any) -> bytes:
    if isinstance(data, str):  # Python 2 pickles read with encoding="latin1"
        return data.encode("latin1")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise UnsafePickleError(f"array data must be bytes, not {type(data).__name__}")


def _scalar(dtype, data=None):  # noqa: ANN001
    _check_dtype(dtype)
    if data is None:
        return dtype.type()
    raw = _data_bytes(data)
    if len(raw) != dtype.itemsize:
        raise UnsafePickleError("numpy scalar data does not match its dtype size")
    return np.frombuffer(raw, dtype=dtype, count=1)[0]


def _frombuffer(buf, dtype, shape, order):  # noqa: ANN001
    _check_dtype(dtype)
    raw = _data_bytes(buf)
    n = _elements(shape)
    if n * dtype.itemsize != len(raw) or (dtype.itemsize == 0 and n > len(raw)):
        raise UnsafePickleError(f"array of shape {shape} does not match its {len(raw)} data bytes")
    if order not in ("C", "F", "A", "K"):
        raise UnsafePickleError(f"invalid array order {order!r}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order=order).copy()


def _check_array_state(state: Any) -> None:
    """``ndarray.__setstate__`` state ``(version, shape, dtype, is_fortran, rawdata)``."""
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise UnsafePickleError("unexpected numpy array state")
    shape, dtype, fortran, raw = state[-4:]
    _check_dtype(dtype)
    n = _elements(shape)
    if not isinstance(fortran, (bool, int)):
        raise UnsafePickleError("unexpected numpy array state")
    size = len(_data_bytes(raw))
    if n * dtype.itemsize != size or (dtype.itemsize == 0 and n > max(size, 1)):
        raise UnsafePickleError(
            f"array of shape {shape} and dtype {dtype.str} does not match its {size} data bytes"
        )


class _RestrictedUnpickler(pickle._Unpickler):  # noqa: SLF001 - the pure-Python unpickler
    dispatch = dict(pickle._Unpickler.dispatch)  # noqa: SLF001

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
        self._stateful = tuple(
            c
            for c in self._substitutes.values()
            if isinstance(c, type) and c.__module__ != "builtins"
        )
        self._built: dict[int, Any] = {}  # id -> object: each may be BUILT once

    def find_class(self, module: str, name: str) -> Any:  # noqa: D401 - pickle hook
        key = (module, name)
        if key in self._substitutes:
            return self._substitutes[key]
        if self.proto < 3:  # Python 2 names (also what Python 3 writes for protocols 0-2)
            key = _compat_pickle.NAME_MAPPING.get(key, key)
            key = (_compat_pickle.IMPORT_MAPPING.get(key[0], key[0]), key[1])
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

    def persistent_load(self, pid: Any) -> Any:
        raise MalformedPickleError("persistent ids are not supported (not a plain data pickle)")

    def load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if id(inst) in self._built:
            raise UnsafePickleError(f"second BUILD on one {type(inst).__name__} refused")
        if type(inst) is np.ndarray:
            _check_array_state(state)
            inst.__setstate__(state)
        elif isinstance(inst, np.dtype):
            # Apply to a scratch copy first: a dtype already in use must never change. (Not
            # np.dtype(inst, copy=True), which returns inst itself; inst is still exactly what
            # _dtype made from its name, since each object is BUILT at most once.)
            scratch = np.dtype(inst.str, False, True)
            try:
                scratch.__setstate__(state)
            except (TypeError, ValueError) as exc:
                raise UnsafePickleError(f"invalid dtype state ({exc})") from None
            _check_dtype(scratch)
            if scratch.itemsize != inst.itemsize:  # arrays may already use this dtype
                raise UnsafePickleError("dtype state changes the item size")
            inst.__setstate__(state)
            _check_dtype(inst)
        elif self._stateful and isinstance(inst, self._stateful):
            setstate = getattr(inst, "__setstate__", None)
            if setstate is not None:
                setstate(state)
            elif isinstance(state, dict):
                inst.__dict__.update(state)
            else:
                raise UnsafePickleError(f"unexpected state for {type(inst).__name__}")
        else:
            raise UnsafePickleError(
                f"BUILD on a {type(inst).__name__} is not allowed (only numpy arrays and dtypes "
                "the pickle created)"
            )
        self._built[id(inst)] = inst

    dispatch[pickle.BUILD[0]] = load_build

    def load_bytearray8(self) -> None:
        # The stock opcode allocates bytearray(n) for the n the pickle declares *before*
        # reading: 2 GB from a 600-byte pickle (found by benchmarks/fuzz.py). Read first.
        (n,) = struct.unpack("<Q", self.read(8))
        data = self.read(n)
        if len(data) != n:
            raise MalformedPickleError(f"bytearray of {n} bytes declared, {len(data)} present")
        self.append(bytearray(data))

    dispatch[pickle.BYTEARRAY8[0]] = load_bytearray8


def _read_bounded(fh: BinaryIO, max_bytes: int, name: str) -> bytes:
    chunks, total = [], 0
    while True:
        chunk = fh.read(min(1 << 20, max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise UnsafePickleError(f"{name} is over the {max_bytes} byte limit")
    return b"".join(chunks)


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
    ``max_bytes`` bounds the input size; the whole input is read first (bounded), so no
    opcode can make the loader read or allocate more than the pickle holds.
    Raises :class:`UnsafePickleError` (:class:`MalformedPickleError` for broken input).
    """
    if isinstance(source, (bytes, bytearray)):
        if len(source) > max_bytes:
            raise UnsafePickleError(
                f"pickle is {len(source)} bytes, over the {max_bytes} byte limit"
            )
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        size = path.stat().st_size
        if size > max_bytes:
            raise UnsafePickleError(f"{path} is {size} bytes, over the {max_bytes} byte limit")
        with open(path, "rb") as fh:
            data = _read_bounded(fh, max_bytes, str(path))
    else:
        data = _read_bounded(source, max_bytes, "pickle stream")
    if not data:
        raise MalformedPickleError("empty file: not a pickle")
    unpickler = _RestrictedUnpickler(
        io.BytesIO(data), allow_numpy=allow_numpy, substitutes=substitutes, encoding=encoding
    )
    try:
        return unpickler.load()
    except UnsafePickleError:
        raise
    except RecursionError:
        raise MalformedPickleError("pickle nests too deeply") from None
    except MemoryError:
        raise UnsafePickleError("pickle needs more memory than it holds data") from None
    except Exception as exc:  # noqa: BLE001 - any other failure is a malformed input
        msg = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise MalformedPickleError(
            f"not a valid pickle ({type(exc).__name__}{': ' + msg if msg else ''})"
        ) from None
