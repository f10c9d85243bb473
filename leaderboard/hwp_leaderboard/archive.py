"""Validation of a submission zip: the same code runs in ``submit check`` and on the server.

Two levels, so that uploads return at once and the expensive part runs in the worker:

* :func:`inspect_archive` reads only the zip's central directory, ``manifest.json`` and each
  PNG's header: size limits, zip-bomb limits (declared entry and total sizes, compression
  ratio, file count), path traversal, symlinks, encryption, unexpected files, the manifest
  schema, missing or extra frames and image sizes against the split's :class:`SplitSpec`.
* :func:`iter_renders` then decodes every PNG with limits, yielding float images for scoring.

Declared sizes in a zip can lie; :mod:`zipfile` never returns more than the declared
``file_size`` of an entry and checks its CRC, and every read here is bounded by that size, so
the declared numbers checked up front really bound the work.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hwp_leaderboard.errors import SubmissionError
from hwp_leaderboard.limits import DEFAULT_LIMITS, Limits
from hwp_leaderboard.manifest import Manifest, parse_manifest
from hwp_leaderboard.spec import SplitSpec, render_name

MANIFEST_NAME = "manifest.json"
# ASCII digits only (\d would also take "٣"), matched in full (``$`` would allow a newline).
RENDER_RE = re.compile(r"renders/(capture[0-9]{2})/([0-9]{1,6})(\.alpha)?\.png")
#: What a malformed archive can make zipfile, zlib or struct raise while it is read: each is
#: the submission's fault and becomes a coded ``bad-zip`` rejection, never a server error.
_MALFORMED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    ValueError,
    struct.error,
    NotImplementedError,
    RuntimeError,
    UnicodeError,
    OverflowError,
    RecursionError,
    KeyError,
    IndexError,
    TypeError,
)
_PNG_COLOR_TYPES = {0: "greyscale", 2: "RGB", 3: "palette", 4: "greyscale+alpha", 6: "RGBA"}
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class ArchiveIndex:
    """What :func:`inspect_archive` found in a valid archive."""

    manifest: Manifest
    renders: dict[tuple[str, int], str] = field(default_factory=dict)
    alphas: dict[tuple[str, int], str] = field(default_factory=dict)
    total_uncompressed: int = 0
    size_bytes: int = 0
    sha256: str = ""

    @property
    def captures(self) -> list[str]:
        return sorted({c for c, _ in self.renders})


def _check_name(info: zipfile.ZipInfo) -> None:
    raw = info.orig_filename
    name = info.filename
    if "\x00" in raw or "\\" in raw:
        raise SubmissionError("traversal", f"entry name {raw!r} contains a backslash or NUL")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise SubmissionError("traversal", f"entry name {raw!r} is an absolute path")
    parts = name.rstrip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise SubmissionError("traversal", f"entry name {raw!r} contains '..', '.' or '//'")


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = (info.external_attr >> 16) & 0xFFFF
    return stat.S_ISLNK(mode)


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Read one entry, never more than its declared size (zipfile checks the CRC)."""
    try:
        with zf.open(info) as fh:
            data = fh.read(info.file_size + 1)
    except NotImplementedError:
        raise SubmissionError("bad-zip", f"cannot read {info.filename}: unsupported") from None
    except (OSError, *_MALFORMED) as exc:  # zlib.error: a corrupt deflate stream
        raise SubmissionError(
            "bad-zip", f"cannot read {info.filename}: {type(exc).__name__}: {exc}"
        ) from None
    if len(data) != info.file_size:
        raise SubmissionError("bad-zip", f"{info.filename}: size differs from the zip directory")
    return data


def _open_zip(path: Path, limits: Limits) -> zipfile.ZipFile:
    size = path.stat().st_size
    if size > limits.max_upload_bytes:
        raise SubmissionError(
            "too-large", f"archive is {size} bytes, the limit is {limits.max_upload_bytes} bytes"
        )
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise SubmissionError("not-zip", f"not a readable zip archive ({exc})") from None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def inspect_archive(
    path: str | os.PathLike,
    *,
    spec: SplitSpec | dict[str, SplitSpec] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    check_headers: bool = True,
    allowed_protocols: tuple[str, ...] | None = None,
    dataset_id: str | None = None,
) -> ArchiveIndex:
    """Check an archive's structure and contents against ``spec``; raise SubmissionError.

    ``spec`` is either one split's spec or a mapping split -> spec (the manifest's split picks
    one). Without a spec, frames cannot be compared with the split; the check then only insists
    that each capture's images share one size. Whatever a malformed archive makes the zip
    reader raise is a ``bad-zip`` :class:`SubmissionError`, never another exception.
    """
    try:
        return _inspect(
            Path(path),
            spec=spec,
            limits=limits,
            check_headers=check_headers,
            allowed_protocols=allowed_protocols,
            dataset_id=dataset_id,
        )
    except SubmissionError:
        raise
    except _MALFORMED as exc:
        raise SubmissionError(
            "bad-zip", f"the archive is malformed ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def _inspect(
    path: Path,
    *,
    spec: SplitSpec | dict[str, SplitSpec] | None,
    limits: Limits,
    check_headers: bool,
    allowed_protocols: tuple[str, ...] | None,
    dataset_id: str | None,
) -> ArchiveIndex:
    with _open_zip(path, limits) as zf:
        infos = zf.infolist()
        if len(infos) > limits.max_files:
            raise SubmissionError(
                "too-many-files",
                f"archive has {len(infos)} entries, the limit is {limits.max_files}",
            )
        seen: set[str] = set()
        total = 0
        manifest_info = None
        renders: dict[tuple[str, int], str] = {}
        alphas: dict[tuple[str, int], str] = {}
        by_name: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            _check_name(info)
            if _is_symlink(info):
                raise SubmissionError("symlink", f"entry {info.filename!r} is a symbolic link")
            if info.flag_bits & 0x1:
                raise SubmissionError("encrypted", f"entry {info.filename!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise SubmissionError(
                    "unsupported-compression",
                    f"entry {info.filename!r} uses compression method {info.compress_type}; "
                    "use stored or deflated",
                )
            name = info.filename
            if name in seen:
                raise SubmissionError("duplicate", f"entry {name!r} appears twice")
            seen.add(name)
            if info.is_dir():
                if info.file_size:
                    raise SubmissionError("bad-zip", f"directory entry {name!r} has data")
                continue
            if info.file_size > limits.max_entry_uncompressed:
                raise SubmissionError(
                    "zip-bomb",
                    f"entry {name!r} expands to {info.file_size} bytes, the limit per file is "
                    f"{limits.max_entry_uncompressed}",
                )
            if info.file_size >= limits.ratio_min_bytes:
                ratio = info.file_size / max(info.compress_size, 1)
                if ratio > limits.max_ratio:
                    raise SubmissionError(
                        "zip-bomb",
                        f"entry {name!r} has compression ratio {ratio:.0f}, the limit is "
                        f"{limits.max_ratio:.0f}",
                    )
            total += info.file_size
            if total > limits.max_total_uncompressed:
                raise SubmissionError(
                    "zip-bomb",
                    f"archive expands to more than {limits.max_total_uncompressed} bytes",
                )
            if name == MANIFEST_NAME:
                manifest_info = info
                continue
            m = RENDER_RE.fullmatch(name)
            if not m:
                raise SubmissionError(
                    "unexpected-file",
                    f"unexpected entry {name!r}: only manifest.json and "
                    "renders/<captureNN>/<index>.png (and .alpha.png) are allowed",
                )
            key = (m.group(1), int(m.group(2)))
            target = alphas if m.group(3) else renders
            if key in target:
                raise SubmissionError("duplicate", f"frame {key[0]}/{key[1]} appears twice")
            target[key] = name
            by_name[name] = info

        if manifest_info is None:
            raise SubmissionError("missing-manifest", "archive has no manifest.json at its root")
        if manifest_info.file_size > limits.max_manifest_bytes:
            raise SubmissionError(
                "bad-manifest",
                f"manifest.json is {manifest_info.file_size} bytes, the limit is "
                f"{limits.max_manifest_bytes}",
            )
        manifest = parse_manifest(_read_entry(zf, manifest_info))
        if allowed_protocols is not None and manifest.protocol not in allowed_protocols:
            raise SubmissionError(
                "bad-protocol",
                f"protocol {manifest.protocol!r} is not scored here; use one of "
                f"{', '.join(allowed_protocols)}",
            )
        if dataset_id and manifest.dataset is not None and manifest.dataset.id != dataset_id:
            raise SubmissionError(
                "wrong-dataset",
                f"submission is for dataset {manifest.dataset.id!r}, this leaderboard scores "
                f"{dataset_id!r}",
            )
        if not renders:
            raise SubmissionError("missing-frames", "archive contains no renders")
        for key in alphas:
            if key not in renders:
                raise SubmissionError(
                    "unexpected-file", f"silhouette for {key[0]}/{key[1]} has no colour render"
                )

        split_spec = spec.get(manifest.split) if isinstance(spec, dict) else spec
        if isinstance(spec, dict) and split_spec is None:
            raise SubmissionError("bad-manifest", f"split {manifest.split!r} is not scored here")
        if split_spec is not None:
            _compare_with_spec(renders, split_spec)

        if check_headers:
            sizes: dict[str, tuple[int, int]] = {}
            for (cap, idx), name in sorted(renders.items()):
                hw = _png_header(_read_entry(zf, by_name[name]), name, limits)
                want = split_spec.frames[cap][idx] if split_spec is not None else sizes.get(cap)
                _check_hw(name, hw, want)
                sizes.setdefault(cap, hw)
                if (cap, idx) in alphas:
                    aname = alphas[(cap, idx)]
                    _check_hw(
                        aname,
                        _png_header(_read_entry(zf, by_name[aname]), aname, limits, alpha=True),
                        hw,
                    )

    return ArchiveIndex(
        manifest=manifest,
        renders=renders,
        alphas=alphas,
        total_uncompressed=total,
        size_bytes=path.stat().st_size,
        sha256=_sha256(path),
    )


def _compare_with_spec(renders: dict[tuple[str, int], str], spec: SplitSpec) -> None:
    want = {(cap, i) for cap, idx in spec.frames.items() for i in idx}
    have = set(renders)
    missing = sorted(want - have)
    extra = sorted(have - want)
    if missing:
        examples = ", ".join(render_name(c, i) for c, i in missing[:3])
        raise SubmissionError(
            "missing-frames",
            f"{len(missing)} of the {len(want)} test frames of split {spec.split!r} are missing, "
            f"e.g. {examples}",
        )
    if extra:
        examples = ", ".join(renders[k] for k in extra[:3])
        raise SubmissionError(
            "unexpected-frames",
            f"{len(extra)} renders are not test frames of split {spec.split!r}, e.g. {examples}",
        )


def _check_hw(name: str, hw: tuple[int, int], want: tuple[int, int] | None) -> None:
    if want is not None and tuple(hw) != tuple(want):
        raise SubmissionError(
            "wrong-size",
            f"{name} is {hw[1]}x{hw[0]} (width x height), the test frame is {want[1]}x{want[0]}",
        )


def _open_png(data: bytes, name: str, limits: Limits):  # noqa: ANN202 - PIL image
    from PIL import Image

    if not data.startswith(_PNG_MAGIC):
        raise SubmissionError("not-png", f"{name} is not a PNG file")
    try:
        img = Image.open(io.BytesIO(data), formats=["PNG"])
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the submission's fault
        raise SubmissionError(
            "not-png", f"{name} is not a readable PNG ({type(exc).__name__})"
        ) from None
    w, h = img.size
    if w * h > limits.max_image_pixels or w <= 0 or h <= 0:
        raise SubmissionError(
            "image-too-large", f"{name} is {w}x{h}, more than {limits.max_image_pixels} pixels"
        )
    return img


def _check_mode(img, name: str, alpha: bool) -> None:  # noqa: ANN001
    want_modes = ("L",) if alpha else ("RGB",)
    if img.mode not in want_modes:
        kind = "8-bit greyscale (mode L)" if alpha else "8-bit RGB (mode RGB)"
        raise SubmissionError("bad-png-mode", f"{name} must be {kind}, it is mode {img.mode}")


def _check_png_chunks(data: bytes, name: str, alpha: bool) -> None:
    """8 bits per sample, RGB (or greyscale for a silhouette), one frame: read from the PNG's
    own header and chunk list, since the decoder maps 16-bit RGB to mode RGB and shows only the
    first frame of an animated PNG."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise SubmissionError("not-png", f"{name} is not a PNG file (no IHDR header)")
    depth, ctype = data[24], data[25]
    want = 0 if alpha else 2
    if depth != 8 or ctype != want:
        kind = "8-bit greyscale (mode L)" if alpha else "8-bit RGB (mode RGB)"
        got = f"{depth}-bit {_PNG_COLOR_TYPES.get(ctype, f'colour type {ctype}')}"
        raise SubmissionError("bad-png-mode", f"{name} must be {kind}, it is {got}")
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind in (b"acTL", b"fcTL", b"fdAT"):
            raise SubmissionError("bad-png-mode", f"{name} is an animated PNG; one frame only")
        if kind in (b"IDAT", b"IEND"):
            break
        pos += 12 + length


def _png_header(data: bytes, name: str, limits: Limits, alpha: bool = False) -> tuple[int, int]:
    img = _open_png(data, name, limits)
    _check_png_chunks(data, name, alpha)
    _check_mode(img, name, alpha)
    return (img.size[1], img.size[0])


def decode_png(
    data: bytes,
    name: str,
    want_hw: tuple[int, int] | None,
    *,
    alpha: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> np.ndarray:
    """Decode one render: HxWx3 float32 in [0, 1] (or HxW for a silhouette), with limits."""
    img = _open_png(data, name, limits)
    _check_hw(name, (img.size[1], img.size[0]), want_hw)
    _check_png_chunks(data, name, alpha)
    _check_mode(img, name, alpha)
    try:
        img.load()
        arr = np.asarray(img, dtype=np.uint8)
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt data
        raise SubmissionError(
            "bad-png", f"{name} cannot be decoded ({type(exc).__name__})"
        ) from None
    return arr.astype(np.float32) / np.float32(255.0)


def iter_renders(
    path: str | os.PathLike,
    index: ArchiveIndex,
    spec: SplitSpec | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[tuple[str, int, np.ndarray, np.ndarray | None]]:
    """Yield ``(capture, index, color HxWx3, alpha HxW | None)`` for every render, decoded.

    As in :func:`inspect_archive`, a malformed archive raises ``bad-zip``, nothing else."""
    try:
        yield from _iter_renders(Path(path), index, spec, limits)
    except SubmissionError:
        raise
    except _MALFORMED as exc:
        raise SubmissionError(
            "bad-zip", f"the archive is malformed ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def _iter_renders(
    path: Path, index: ArchiveIndex, spec: SplitSpec | None, limits: Limits
) -> Iterator[tuple[str, int, np.ndarray, np.ndarray | None]]:
    with _open_zip(path, limits) as zf:
        for (cap, idx), name in sorted(index.renders.items()):
            want = spec.frames[cap][idx] if spec is not None else None
            color = decode_png(_read_entry(zf, zf.getinfo(name)), name, want, limits=limits)
            alpha = None
            aname = index.alphas.get((cap, idx))
            if aname is not None:
                alpha = decode_png(
                    _read_entry(zf, zf.getinfo(aname)),
                    aname,
                    color.shape[:2],
                    alpha=True,
                    limits=limits,
                )
            yield cap, idx, color, alpha


def check_submission(
    path: str | os.PathLike,
    *,
    spec: SplitSpec | dict[str, SplitSpec] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    allowed_protocols: tuple[str, ...] | None = None,
    dataset_id: str | None = None,
) -> ArchiveIndex:
    """Full validation (structure, then every image decoded): what ``submit check`` runs."""
    index = inspect_archive(
        path, spec=spec, limits=limits, allowed_protocols=allowed_protocols, dataset_id=dataset_id
    )
    split_spec = spec.get(index.manifest.split) if isinstance(spec, dict) else spec
    for _ in iter_renders(path, index, split_spec, limits=limits):
        pass
    return index
