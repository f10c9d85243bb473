"""Atomic writes and the restricted unpickler."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from hwp_bench.io import UnsafePickleError, atomic_path, atomic_write_json, safe_load_pickle


def test_atomic_write_json_roundtrip(tmp_path):
    p = atomic_write_json(tmp_path / "a" / "r.json", {"b": 1, "a": [1.5, 2]})
    assert json.loads(p.read_text()) == {"a": [1.5, 2], "b": 1}
    assert [f.name for f in p.parent.iterdir()] == ["r.json"]


def test_atomic_path_leaves_old_file_on_error(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half-written")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["result.json"]


def test_safe_pickle_reads_numpy_and_containers():
    obj = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b": [1, "x", 2.5],
        "c": (np.int64(3),),
    }
    for protocol in (2, 3, 4, 5):
        out = safe_load_pickle(pickle.dumps(obj, protocol=protocol))
        np.testing.assert_array_equal(out["a"], obj["a"])
        assert out["a"].dtype == np.float32
        assert out["b"] == [1, "x", 2.5]
        assert int(out["c"][0]) == 3


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/hwp_pwned",))


def test_safe_pickle_rejects_os_system(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"x": _Evil()}))
    with pytest.raises(UnsafePickleError, match="system"):
        safe_load_pickle(path)


def test_safe_pickle_rejects_object_arrays():
    data = pickle.dumps(np.array([{"a": 1}], dtype=object))
    with pytest.raises(UnsafePickleError):
        safe_load_pickle(data)


def test_safe_pickle_substitutes(tmp_path):
    class Fake:
        pass

    Fake.__module__ = "chumpy.ch"
    Fake.__qualname__ = "Ch"
    Fake.__name__ = "Ch"

    def __reduce__(self):
        return (Fake, (), {"x": np.ones(3)})

    Fake.__reduce__ = __reduce__
    import sys
    import types

    pkg, mod = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")
    mod.Ch = Fake
    pkg.ch = mod
    sys.modules.update({"chumpy": pkg, "chumpy.ch": mod})
    try:
        blob = pickle.dumps({"w": Fake()}, protocol=2)
    finally:
        del sys.modules["chumpy"], sys.modules["chumpy.ch"]
    with pytest.raises(UnsafePickleError, match="chumpy"):
        safe_load_pickle(blob)

    class Sub:
        def __setstate__(self, state):
            self.x = state["x"]

    out = safe_load_pickle(blob, substitutes={("chumpy.ch", "Ch"): Sub})
    np.testing.assert_array_equal(out["w"].x, np.ones(3))


def test_safe_pickle_size_limit():
    with pytest.raises(UnsafePickleError, match="limit"):
        safe_load_pickle(pickle.dumps(list(range(1000))), max_bytes=10)
