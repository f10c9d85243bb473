"""MANO loading from a synthetic pickle with MANO's structure, written here with chumpy-typed
entries (fake ``chumpy`` modules, never the real package), and the unpickler's safety."""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
import types

import numpy as np
import pytest
import torch
from scipy import sparse

from hwp_bench.hand import PARENTS, load_hand_model
from hwp_bench.hand.mano import read_mano_pickle
from hwp_bench.hand.reference import reference_forward
from hwp_bench.io import UnsafePickleError


def _mesh():
    from importlib import util
    from pathlib import Path

    spec = util.spec_from_file_location("_subdiv", Path(__file__).parent / "test_subdivide.py")
    mod = util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.mano_like_mesh()


class _FakeCh:
    """Pickles like ``chumpy.ch.Ch``: class chumpy.ch.Ch, state = its __dict__."""

    def __init__(self, x):
        self.x = np.asarray(x)
        self._dirty_vars = {"x"}
        self._itr = None
        self._make_dense = False
        self._make_sparse = False
        self._depends_on_deps = {}


class _FakeSelect(_FakeCh):
    def __init__(self, a, idxs, preferred_shape):
        super().__init__(np.zeros(1))
        del self.x
        self.a, self.idxs, self.preferred_shape = a, idxs, preferred_shape


class _FakeCsc:
    """Pickles like scipy 0.x's ``scipy.sparse.csc.csc_matrix`` (state with ``_shape``)."""

    def __init__(self, m):
        m = sparse.csc_matrix(m)
        self._shape, self.data, self.indices, self.indptr = m.shape, m.data, m.indices, m.indptr
        self.maxprint = 50


@contextlib.contextmanager
def fake_modules():
    """Register the fake classes under chumpy's and old scipy's names (only while pickling)."""
    ch = types.ModuleType("chumpy.ch")
    reo = types.ModuleType("chumpy.reordering")
    csc = types.ModuleType("scipy.sparse.csc")
    for cls, mod, name in (
        (_FakeCh, ch, "Ch"),
        (_FakeSelect, reo, "Select"),
        (_FakeCsc, csc, "csc_matrix"),
    ):
        cls.__module__, cls.__qualname__ = mod.__name__, name
        setattr(mod, name, cls)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "chumpy", types.ModuleType("chumpy"))
        mp.setitem(sys.modules, "chumpy.ch", ch)
        mp.setitem(sys.modules, "chumpy.reordering", reo)
        mp.setitem(sys.modules, "scipy.sparse.csc", csc)
        yield


def _mano_arrays(side: str, seed: int = 0) -> dict:
    verts, faces = _mesh()
    rng = np.random.default_rng(seed)
    v = verts * np.array([-0.004, 0.01, 0.01]) + np.array([0.0957, 0.0064, 0.0062])
    nv = len(v)
    # each vertex skinned to its ring's joint and the next one
    ring_joint = np.clip((v[:, 0] - v[:, 0].min()) / np.ptp(v[:, 0]) * 15, 0, 15).astype(int)
    w = np.zeros((nv, 16))
    w[np.arange(nv), ring_joint] = 0.7
    w[np.arange(nv), np.maximum(np.asarray(PARENTS)[ring_joint], 0)] += 0.3
    jreg = np.zeros((16, nv))
    for j in range(16):
        members = np.nonzero(ring_joint == j)[0][:8]
        members = members if len(members) else np.array([j])
        jreg[j, members] = 1.0 / len(members)
    shapedirs = 0.002 * rng.standard_normal((nv, 3, 10))
    posedirs = 0.001 * rng.standard_normal((nv, 3, 135))
    if side == "left":
        v = v * np.array([-1.0, 1.0, 1.0])
    kintree = np.array([[2**32 - 1] + list(PARENTS[1:]), list(range(16))], dtype=np.int64)
    return {
        "v_template": v,
        "f": faces.astype(np.uint32),
        "weights": w,
        "posedirs": posedirs,
        "shapedirs": shapedirs,
        "J_regressor": jreg,
        "kintree_table": kintree,
        "hands_components": rng.standard_normal((45, 45)),
        "hands_mean": 0.1 * rng.standard_normal(45),
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


def _write_pkl(path, arrays: dict, protocol: int = 2, left_bug: bool = False):
    data = dict(arrays)
    sd = data["shapedirs"]
    if left_bug:
        sd = sd.copy()
        sd[:, 0] *= -1
    # chumpy-typed entries, as in the released files: Ch, a reordering view, sparse regressor
    data["shapedirs"] = _FakeCh(sd)
    flat = _FakeCh(data["weights"].ravel())
    data["weights"] = _FakeSelect(flat, np.arange(flat.x.size), data["weights"].shape)
    data["J_regressor"] = _FakeCsc(data["J_regressor"])
    with fake_modules(), open(path, "wb") as fh:
        pickle.dump(data, fh, protocol=protocol)


@pytest.fixture
def mano_dir(tmp_path):
    right = _mano_arrays("right")
    left = _mano_arrays("left")
    # MANO's left hand mirrors the right: mirror the shape directions too ...
    left["shapedirs"] = right["shapedirs"] * np.array([-1.0, 1.0, 1.0])[:, None]
    _write_pkl(tmp_path / "MANO_RIGHT.pkl", right)
    # ... but, like the released file, store x with the wrong sign (the loader must fix it)
    _write_pkl(tmp_path / "MANO_LEFT.pkl", left, protocol=1, left_bug=True)
    return tmp_path, right


def test_reads_chumpy_and_sparse_without_chumpy(mano_dir):
    path, right = mano_dir
    arrays = read_mano_pickle(path / "MANO_RIGHT.pkl")
    np.testing.assert_array_equal(arrays["shapedirs"], right["shapedirs"])
    np.testing.assert_array_equal(arrays["weights"], right["weights"])
    np.testing.assert_allclose(arrays["J_regressor"], right["J_regressor"])
    assert arrays["hands_mean"].shape == (45,)
    raw = open(path / "MANO_RIGHT.pkl", "rb").read()
    assert b"chumpy.ch" in raw and b"scipy.sparse.csc" in raw  # really chumpy-typed entries
    assert "chumpy.ch" not in sys.modules  # ... read without any chumpy module


def test_mano_model_forward(mano_dir):
    path, right = mano_dir
    model = load_hand_model("mano", mano_dir=path, dtype=torch.float64)
    assert model.num_vertices == 778 and tuple(model.faces.shape) == (1538, 3)
    data = model.data("right")
    # wrist-centred for every shape: J_regressor row 0 of the shaped template is the origin
    g = torch.Generator().manual_seed(0)
    shape = torch.randn(2, 10, generator=g, dtype=torch.float64)
    pose = 0.4 * torch.randn(2, 48, generator=g, dtype=torch.float64)
    trans = torch.randn(2, 3, generator=g, dtype=torch.float64)
    rest = model(None, shape)
    torch.testing.assert_close(rest.joints[:, 0], torch.zeros(2, 3, dtype=torch.float64))
    jreg = torch.as_tensor(right["J_regressor"])
    torch.testing.assert_close(
        jreg @ rest.vertices[0] - (jreg @ rest.vertices[0])[0], rest.joints[0, :16]
    )
    # against the per-vertex reference, pose correctives included
    out = model(pose, shape, trans)
    for i in range(2):
        v, j = reference_forward(data, pose[i].numpy(), shape[i].numpy(), trans[i].numpy())
        np.testing.assert_allclose(out.vertices[i].numpy(), v, atol=1e-10)
        np.testing.assert_allclose(out.joints[i].numpy(), j, atol=1e-10)
    # pose correctives matter (the synthetic posedirs are non-zero)
    no_pc = data.replace(posedirs=None)
    v0, _ = reference_forward(no_pc, pose[0].numpy(), shape[0].numpy(), trans[0].numpy())
    assert np.abs(v0 - out.vertices[0].numpy()).max() > 1e-4
    assert tuple(model.tip_vertices.tolist()) == (744, 320, 443, 554, 671)  # smplx's ids
    assert model.vertex_uvs.min() >= 0 and model.vertex_uvs.max() <= 1


def test_mano_left_shapedirs_fixed_and_mirrored(mano_dir):
    path, _ = mano_dir
    model = load_hand_model("mano", mano_dir=path, dtype=torch.float64)
    r, l_ = model.data("right"), model.data("left")
    np.testing.assert_allclose(l_.shapedirs, r.shapedirs * np.array([-1.0, 1.0, 1.0])[:, None])


def test_mano_subdivides_with_pose_correctives(mano_dir):
    path, _ = mano_dir
    model = load_hand_model("mano", 1, mano_dir=path, dtype=torch.float64)
    assert model.num_vertices == 3093
    assert model.data().posedirs.shape == (3093, 3, 135)


def test_missing_files_name_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("HWP_MANO_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="HWP_MANO_DIR"):
        load_hand_model("mano")
    monkeypatch.setenv("HWP_MANO_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"MANO_RIGHT\.pkl.*HWP_MANO_DIR"):
        load_hand_model("mano")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_unpickler_rejects_os_system(tmp_path, monkeypatch):
    arrays = _mano_arrays("right")
    arrays["extra"] = _Evil()
    _write_pkl(tmp_path / "MANO_RIGHT.pkl", arrays)
    called = []
    monkeypatch.setattr(os, "system", lambda *a: called.append(a) or 0)
    with pytest.raises(UnsafePickleError, match="system"):
        read_mano_pickle(tmp_path / "MANO_RIGHT.pkl")
    with pytest.raises(UnsafePickleError):
        load_hand_model("mano", mano_dir=tmp_path)
    assert called == []
