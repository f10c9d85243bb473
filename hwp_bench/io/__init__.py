"""Small I/O helpers shared by every part of the toolkit: atomic writes, safe unpickling."""

from hwp_bench.io.atomic import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
)
from hwp_bench.io.safe_pickle import UnsafePickleError, safe_load_pickle

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "UnsafePickleError",
    "safe_load_pickle",
]
