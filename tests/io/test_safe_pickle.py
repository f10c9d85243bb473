"""The restricted unpickler against crafted pickles (issue 17, item 4): sizes bounded before
anything is allocated, no object dtypes however they are reached, ``BUILD`` only on what the
pickle itself created, malformed input always a coded error. Genuine pickles still load."""

from __future__ import annotations

import pickle
import struct
import time

import numpy as np
import pytest

from hwp_bench.io import UnsafePickleError, safe_load_pickle
from hwp_bench.io.safe_pickle import MalformedPickleError, _dtype


def _str(s: str) -> bytes:
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b  # BINUNICODE


def _glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _int(n: int) -> bytes:
    raw = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw  # LONG1


P2 = b"\x80\x02"


def test_set_of_a_billion_range_is_refused_before_allocating():
    blob = P2 + _glob("builtins", "set") + _glob("builtins", "range") + _int(10**9)
    blob += b"\x85R\x85R."  # TUPLE1 REDUCE TUPLE1 REDUCE STOP
    assert len(blob) < 60
    t0 = time.perf_counter()
    with pytest.raises(UnsafePickleError, match="range of 1000000000 items"):
        safe_load_pickle(blob)
    assert time.perf_counter() - t0 < 1.0
    # a small range is ordinary data
    ok = P2 + _glob("builtins", "list") if False else None  # (list is not needed: set works)
    small = P2 + _glob("builtins", "set") + _glob("builtins", "range") + _int(5) + b"\x85R\x85R."
    assert safe_load_pickle(small) == {0, 1, 2, 3, 4}
    assert ok is None


def test_ndarray_called_directly_with_an_object_dtype_is_refused():
    # numpy.ndarray((2,), 'O'): the class itself as the callable, object dtype given as a string
    blob = P2 + _glob("numpy", "ndarray") + b"K\x02\x85" + _str("O") + b"\x86R."
    with pytest.raises(UnsafePickleError, match="_reconstruct"):
        safe_load_pickle(blob)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        blob = P2 + _glob(module, "ndarray") + b"K\x02\x85" + _str("O") + b"\x86R."
        with pytest.raises(UnsafePickleError):
            safe_load_pickle(blob)


def test_object_arrays_are_refused_in_every_form():
    with pytest.raises(UnsafePickleError, match="object"):
        safe_load_pickle(pickle.dumps(np.array([{"a": 1}], dtype=object)))
    structured = np.zeros(2, dtype=[("a", "f4"), ("b", "O")])
    with pytest.raises(UnsafePickleError):
        safe_load_pickle(pickle.dumps(structured, protocol=2))
    with pytest.raises(UnsafePickleError):
        safe_load_pickle(pickle.dumps(np.array([None, 1], dtype=object), protocol=5))


def _dtype_then_build(name: str, state_items: bytes) -> bytes:
    """numpy.dtype(name, False, True) followed by BUILD with the given state tuple."""
    return (
        P2
        + _glob("numpy", "dtype")
        + _str(name)
        + b"\x89\x88\x87R"  # NEWFALSE NEWTRUE TUPLE3 REDUCE
        + b"("
        + state_items
        + b"tb."  # MARK ... TUPLE BUILD STOP
    )


def _v8_state(flags: int) -> bytes:
    # (3, '|', None, None, None, 8, 1, flags)
    return b"K\x03" + _str("|") + b"NNN" + b"K\x08K\x01" + b"J" + struct.pack("<i", flags)


def test_build_cannot_flag_a_void_dtype_as_holding_objects():
    good = safe_load_pickle(_dtype_then_build("V8", _v8_state(0)))
    assert good == np.dtype("V8") and not good.hasobject
    with pytest.raises(UnsafePickleError, match="object"):
        safe_load_pickle(_dtype_then_build("V8", _v8_state(63)))
    with pytest.raises(UnsafePickleError, match="object"):
        safe_load_pickle(_dtype_then_build("V8", _v8_state(1)))
    # numpy's shared dtype singletons were never touched
    assert np.dtype("V8").flags == 0 and np.dtype("f8").flags == 0


def test_build_cannot_rename_or_patch_the_loaders_own_objects():
    name = _dtype.__name__
    for module, attr in [("numpy", "dtype"), ("builtins", "set"), ("numpy", "ndarray")]:
        # GLOBAL; state (None, {"__name__": "hijacked"}); BUILD: setattr on the global itself
        blob = P2 + _glob(module, attr) + b"N}" + _str("__name__") + _str("hijacked")
        blob += b"s\x86b."  # SETITEM TUPLE2 BUILD STOP
        with pytest.raises(UnsafePickleError, match="BUILD on a"):
            safe_load_pickle(blob)
    assert _dtype.__name__ == name == "_dtype"
    # BUILD on plain containers is refused too
    blob = P2 + b"}" + b"N}" + _str("x") + b"K\x01s\x86b."
    with pytest.raises(UnsafePickleError, match="BUILD on a dict"):
        safe_load_pickle(blob)


def _array_state(shape: tuple[int, ...], data: bytes, dt: str = "f8") -> bytes:
    dims = b"(" + b"".join(_int(s) for s in shape) + b"t"
    return (
        P2
        + _glob("numpy.core.multiarray", "_reconstruct")
        + _glob("numpy", "ndarray")
        + b"K\x00\x85"
        + b"C\x01b"  # SHORT_BINBYTES b'b'
        + b"\x87R"  # TUPLE3 REDUCE -> empty placeholder array
        + b"(K\x01"
        + dims
        + _glob("numpy", "dtype")
        + _str(dt)
        + b"\x89\x88\x87R"
        + b"\x89"  # is_fortran False
        + b"B"
        + struct.pack("<I", len(data))
        + data
        + b"tb."
    )


def test_array_shapes_are_checked_against_the_data_present():
    arr = safe_load_pickle(_array_state((2, 2), np.arange(4.0).tobytes()))
    np.testing.assert_array_equal(arr, np.arange(4.0).reshape(2, 2))
    t0 = time.perf_counter()
    with pytest.raises(UnsafePickleError, match="does not match"):
        safe_load_pickle(_array_state((10**12,), bytes(16)))
    with pytest.raises(UnsafePickleError, match="does not match"):
        safe_load_pickle(_array_state((10**6, 10**6), bytes(16)))
    # zero-size items cannot hide a huge element count either
    with pytest.raises(UnsafePickleError):
        safe_load_pickle(_array_state((10**9,), b"", dt="V0"))
    assert time.perf_counter() - t0 < 1.0
    # the placeholder itself is bounded
    blob = (
        P2
        + _glob("numpy.core.multiarray", "_reconstruct")
        + _glob("numpy", "ndarray")
        + _int(10**12)
        + b"\x85C\x01b\x87R."
    )
    with pytest.raises(UnsafePickleError, match="placeholder"):
        safe_load_pickle(blob)


def test_a_dtype_in_use_cannot_change_its_size():
    good = np.arange(3, dtype=np.float32)
    blob = pickle.dumps(good, protocol=2)
    np.testing.assert_array_equal(safe_load_pickle(blob), good)
    # the dtype built twice: refused however harmless the second state looks
    twice = _dtype_then_build("V8", _v8_state(0))[:-1] + b"(" + _v8_state(0) + b"tb."
    with pytest.raises(UnsafePickleError, match="second BUILD"):
        safe_load_pickle(twice)
    # a void dtype whose state claims 64-byte items
    big = b"K\x03" + _str("|") + b"NNN" + b"K@K\x01K\x00"
    with pytest.raises(UnsafePickleError):
        safe_load_pickle(_dtype_then_build("V8", big))


def test_structured_dtype_with_an_out_of_range_field_is_refused():
    dt = np.dtype([("a", "<f4"), ("b", "<i8")])
    np.testing.assert_array_equal(
        safe_load_pickle(pickle.dumps(np.zeros(3, dt), protocol=2)), np.zeros(3, dt)
    )
    # ('V12', fields a at offset 0 and b at offset 100 > itemsize)
    fields = (
        b"}"
        + _str("a")
        + _glob("numpy", "dtype")
        + _str("f4")
        + b"\x89\x88\x87RK\x00\x86s"
        + _str("b")
        + _glob("numpy", "dtype")
        + _str("i8")
        + b"\x89\x88\x87RKd\x86s"
    )
    state = (
        b"K\x03" + _str("|") + b"N" + _str("a") + _str("b") + b"\x86" + fields + b"K\x0cK\x01K\x10"
    )
    with pytest.raises(UnsafePickleError):
        safe_load_pickle(_dtype_then_build("V12", state))


@pytest.mark.parametrize(
    "blob, fragment",
    [
        (b"", "empty"),
        (pickle.dumps({"a": [1, 2, 3]})[:-5], "not a valid pickle"),
        (b"\x80\x02P1\n.", "persistent"),  # PERSID
        (b"\x80\x02Q.", "not a valid pickle"),  # BINPERSID on an empty stack
        (b"\x80\x02h\x07.", "Memo"),  # BINGET of an undefined memo slot
        (b"\x80\x02\xff.", "not a valid pickle"),  # unknown opcode
        (b"\x80\x02" + b"(" * 100_000 + b".", "not a valid pickle"),  # marks without end
        (b"I99999999999999999999999999999999\n.", None),  # a big int is just data
    ],
)
def test_malformed_input_is_a_coded_error(blob, fragment):
    if fragment is None:
        assert safe_load_pickle(blob) == 99999999999999999999999999999999
        return
    with pytest.raises(MalformedPickleError, match=fragment):
        safe_load_pickle(blob)


def test_a_frame_claiming_exabytes_reads_only_what_is_there():
    t0 = time.perf_counter()
    assert safe_load_pickle(b"\x80\x04\x95" + struct.pack("<Q", 2**62) + b"N.") is None
    assert time.perf_counter() - t0 < 1.0


def test_a_bytearray_declaring_gigabytes_is_refused_before_allocating():
    # found by benchmarks/fuzz.py: the stock BYTEARRAY8 allocates the declared size first
    blob = b"\x80\x05\x96" + struct.pack("<Q", 1929379848) + b"abc."
    t0 = time.perf_counter()
    with pytest.raises(MalformedPickleError, match="1929379848 bytes declared, 4 present"):
        safe_load_pickle(blob)
    assert time.perf_counter() - t0 < 0.5
    ok = pickle.dumps(bytearray(b"xyz"), protocol=5)
    assert safe_load_pickle(ok) == bytearray(b"xyz")


def test_genuine_numpy_pickles_of_every_protocol_still_load():
    values = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "bigendian": np.arange(4, dtype=">i4"),
        "unicode": np.array(["ab", "c"]),
        "bytes": np.array([b"x", b"yz"]),
        "datetime": np.array(["2024-01-01"], dtype="datetime64[s]"),
        "struct": np.zeros(2, dtype=[("a", "f4"), ("b", "i8", (2,))]),
        "scalar": np.float32(2.5),
        "zero-d": np.array(3.0),
        "empty": np.zeros((0, 4)),
        "bool": np.array([True, False]),
        "complex": np.array([1 + 2j]),
        "set": {1, 2},
        "frozenset": frozenset({"a"}),
        "bytes-obj": b"\x00\xff",
        "nested": [{"a": (1, 2.5, None)}],
    }
    for protocol in range(0, 6):
        blob = pickle.dumps(values, protocol=protocol)
        out, ref = safe_load_pickle(blob), pickle.loads(blob)  # the standard unpickler's result
        for k, v in values.items():
            if isinstance(v, np.ndarray):
                np.testing.assert_array_equal(out[k], v)
                assert out[k].dtype == ref[k].dtype, (protocol, k)
            else:
                assert out[k] == v, (protocol, k)


def test_python2_style_latin1_strings_hold_array_data():
    # protocol-2 pickles written by Python 2 carry array bytes as str: read with latin1
    arr = np.arange(3, dtype="<f8")
    raw = arr.tobytes().decode("latin1")
    blob = (
        P2
        + _glob("numpy.core.multiarray", "_reconstruct")
        + _glob("numpy", "ndarray")
        + b"K\x00\x85"
        + _str("b")
        + b"\x87R(K\x01K\x03\x85"
        + _glob("numpy", "dtype")
        + _str("f8")
        + b"\x89\x88\x87R"
        + b"\x89"
        + _str(raw)
        + b"tb."
    )
    np.testing.assert_array_equal(safe_load_pickle(blob), arr)


def test_the_real_lpips_checkpoint_still_converts():
    from hwp_bench.metrics.lpips_weights import convert_ckpt
    from hwp_bench.paths import weights_dir

    ckpt = weights_dir() / "lpips" / "alexnet.ckpt"
    if not ckpt.is_file():
        pytest.skip(f"no cached LPIPS checkpoint at {ckpt} (fetched on first LPIPS use)")
    arrays = convert_ckpt(ckpt.read_bytes())
    assert arrays["conv0.weight"].shape == (64, 3, 11, 11)
    assert arrays["lin4.weight"].shape == (1, 256, 1, 1)
