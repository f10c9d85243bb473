"""Dataset folders: write and read the Parquet + dataset-card layout.

Design: docs/design.md, section 'Dataset layout and splits'; usage: docs/data.md.

A dataset folder (the same on disk, on the Hub and after ``hwp-bench data export``)::

    README.md                         dataset card; its YAML ``configs`` drive datasets.load_dataset
    hwp_dataset.json                  name, schema version, captures (what ``data info`` reads)
    splits/capture04.json             frame indices per split, counts, files: no datasets needed
    data/capture04/train-00000-of-00001.parquet
    data/capture04/validation-00000-of-00001.parquet
    data/capture04/test-00000-of-00001.parquet

Rows live once, under their capture's config (``data/captureNN/<split>-*.parquet``). The
``single``, ``inter`` and ``all`` configs list the capture folders they cover in the card's
``data_files`` instead of holding copies: half the disk and upload, and the configs cannot
disagree. A split with no frames (captures under 10 frames) has no file and is left out of
the card's ``data_files``, because ``datasets`` refuses empty splits.

Writing is capture by capture and atomic, so a generator can stop anywhere and resume: a
capture counts as written only once ``splits/<capture>.json`` exists, which is written last,
after the capture's shard folder has been swapped in with a rename. Example (what HWP-Synth
does)::

    from hwp_bench.data.layout import DatasetWriter

    writer = DatasetWriter(root, name="hwp-synth", description="Procedural stand-in for HWP.")
    for capture in ["capture00", "capture04"]:
        if writer.has_capture(capture):          # resume: skip finished captures
            continue
        frames = generate(capture)               # iterable of Frame (or row dicts), index order
        writer.write_capture(capture, frames, num_frames=n, hand_type="single", tags=["hoi"])
    writer.finalize()                            # README.md card + hwp_dataset.json

``write_capture`` streams: rows are encoded and appended to Parquet as they arrive, so a
capture never has to fit in memory. Split membership is computed from ``index`` and
``num_frames`` by :mod:`hwp_bench.data.splits` (a row's own ``split``, if given, must agree).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwp_bench.data.frame import Frame
from hwp_bench.data.schema import (
    HAND_COLUMNS,
    IMAGE_COLUMNS,
    SCHEMA_VERSION,
    encode_png,
    frame_to_row,
)
from hwp_bench.data.splits import SPLITS, split_bounds, split_of
from hwp_bench.data.tags import CAPTURE_IDS, CONFIGS, HAND_TYPES, captures_for, perturbation_tags
from hwp_bench.io import atomic_write_json

MANIFEST = "hwp_dataset.json"
CARD = "README.md"
FORMAT = "hwp-bench-dataset"


class LayoutError(ValueError):
    """A folder is not (or not completely) a dataset in our layout."""


def shard_glob(capture: str, split: str) -> str:
    """The ``data_files`` pattern of one capture's split, relative to the dataset root."""
    return f"data/{capture}/{split}-*.parquet"


@dataclass
class CaptureSummary:
    """What :meth:`DatasetWriter.write_capture` wrote (also the ``splits/<capture>.json``)."""

    capture: str
    num_frames: int
    hand_type: str
    tags: list[str]
    indices: dict[str, list[int]]
    files: dict[str, list[str]]
    missing: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "capture": self.capture,
            "num_frames": self.num_frames,
            "hand_type": self.hand_type,
            "tags": self.tags,
            "counts": {s: len(self.indices[s]) for s in SPLITS},
            **{s: self.indices[s] for s in SPLITS},
            "files": self.files,
            "missing": self.missing,
        }


class DatasetWriter:
    """Writes a dataset folder capture by capture (see the module docstring for an example).

    ``name``/``pretty_name``/``description``/``license``/``citation``/``notes`` go into the
    dataset card and manifest. ``rows_per_group`` keeps Parquet row groups small (images are
    large: the Hub viewer and random access read one row group at a time); a new shard starts
    after ``max_shard_bytes`` of encoded rows.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        name: str = "hwp",
        pretty_name: str | None = None,
        description: str = "",
        license: str = "other",
        citation: str = "",
        notes: str = "",
        revision: str | None = None,
        rows_per_group: int = 64,
        max_shard_bytes: int = 400 * 1024**2,
    ) -> None:
        self.root = Path(root)
        self.name = name
        self.pretty_name = pretty_name or name
        self.description = description
        self.license = license
        self.citation = citation
        self.notes = notes
        # Where the data came from, e.g. "XuanHuang0/WildGHand@<commit>": result files name it.
        self.revision = revision
        self.rows_per_group = int(rows_per_group)
        self.max_shard_bytes = int(max_shard_bytes)

    @classmethod
    def open(cls, root: str | os.PathLike, **kwargs: Any) -> DatasetWriter:
        """A writer for an existing folder that keeps its card metadata (name, licence...)."""
        root = Path(root)
        meta: dict[str, Any] = {}
        if (root / MANIFEST).is_file():
            m = json.loads((root / MANIFEST).read_text())
            keys = ("name", "pretty_name", "description", "license", "citation", "notes")
            meta = {k: m[k] for k in (*keys, "revision") if m.get(k) is not None}
        return cls(root, **{**meta, **kwargs})

    # ------------------------------------------------------------------ resume
    def completed_captures(self) -> list[str]:
        """Captures whose write finished (their ``splits/<capture>.json`` and files exist)."""
        return sorted(read_captures(self.root, strict=False))

    def has_capture(self, capture: str) -> bool:
        return capture in read_captures(self.root, strict=False)

    # ------------------------------------------------------------------ write
    def write_capture(
        self,
        capture: str,
        rows: Iterable[Frame | Mapping[str, Any]],
        *,
        num_frames: int,
        hand_type: str,
        tags: Iterable[str] = (),
        allow_missing: bool = False,
        progress: bool = False,
    ) -> CaptureSummary:
        """Write (or replace) one capture atomically and refresh the card.

        ``rows`` are Frames or row dicts (schema column names; images may be arrays, PNG
        bytes or ``{"bytes": ...}``) in increasing ``index`` order. Each row's ``capture``,
        ``num_frames``, ``hand_type`` must match the arguments. Unless ``allow_missing`` (the
        upstream converter, which reports the gaps), every index in ``[0, num_frames)`` must
        be present exactly once.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        from hwp_bench.data.schema import arrow_schema

        if capture not in CAPTURE_IDS:
            raise ValueError(f"unknown capture {capture!r}: choose one of {', '.join(CAPTURE_IDS)}")
        if hand_type not in HAND_TYPES:
            raise ValueError(f"hand_type must be one of {HAND_TYPES}, got {hand_type!r}")
        tags = [str(t) for t in tags]
        known = perturbation_tags()  # the paper's and any registered perturbation's
        bad = [t for t in tags if t not in known]
        if bad:
            raise ValueError(f"unknown perturbation tags {bad}: use {known}")
        num_frames = int(num_frames)
        if num_frames < 1:
            raise ValueError("num_frames must be >= 1")

        data_dir = self.root / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        for stale in data_dir.glob(f".tmp-{capture}-*"):  # left by an interrupted write
            shutil.rmtree(stale, ignore_errors=True)
        tmp = data_dir / f".tmp-{capture}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        schema = arrow_schema()
        indices: dict[str, list[int]] = {s: [] for s in SPLITS}
        shards: dict[str, list[Path]] = {s: [] for s in SPLITS}
        writers: dict[str, Any] = {}
        shard_bytes: dict[str, int] = dict.fromkeys(SPLITS, 0)
        buffers: dict[str, list[dict]] = {s: [] for s in SPLITS}

        def open_shard(split: str) -> None:
            if split in writers:
                writers.pop(split).close()
            path = tmp / f"{split}-{len(shards[split]):05d}.parquet"
            shards[split].append(path)
            # zstd: images are stored PNGs (see schema.encode_png), Parquet compresses them.
            writers[split] = pq.ParquetWriter(path, schema, compression="zstd")
            shard_bytes[split] = 0

        def flush(split: str) -> None:
            if not buffers[split]:
                return
            table = pa.Table.from_pylist(buffers[split], schema=schema)
            if split not in writers or shard_bytes[split] >= self.max_shard_bytes:
                open_shard(split)
            writers[split].write_table(table, row_group_size=self.rows_per_group)
            shard_bytes[split] += table.nbytes
            buffers[split] = []

        try:
            last = -1
            it = rows
            if progress:
                from tqdm import tqdm

                it = tqdm(rows, total=num_frames, desc=f"writing {capture}", unit="frame")
            for raw in it:
                row = normalize_row(raw)
                idx = row["index"]
                if row["capture"] != capture:
                    raise ValueError(f"row capture {row['capture']!r} != {capture!r}")
                if row["num_frames"] != num_frames:
                    raise ValueError(
                        f"{capture} frame {idx}: num_frames {row['num_frames']} != {num_frames}"
                    )
                if row["hand_type"] != hand_type:
                    raise ValueError(f"{capture} frame {idx}: hand_type {row['hand_type']!r}")
                if idx <= last:
                    raise ValueError(
                        f"{capture}: frame indices must increase strictly (got {idx} after {last})"
                    )
                split = split_of(idx, num_frames)
                # A Frame's split defaults to "train", so only row dicts are checked.
                given = None if isinstance(raw, Frame) else row.get("split")
                if given not in (None, split):
                    raise ValueError(
                        f"{capture} frame {idx}: split {given!r} contradicts the split "
                        f"rule ({split}); see hwp_bench.data.splits"
                    )
                row["split"] = split
                row["tags"] = list(row.get("tags") or tags)
                last = idx
                indices[split].append(idx)
                buffers[split].append(row)
                if len(buffers[split]) >= self.rows_per_group:
                    flush(split)
            for split in SPLITS:
                flush(split)
                if split in writers:
                    writers.pop(split).close()
        except BaseException:
            for w in writers.values():
                with contextlib.suppress(Exception):
                    w.close()
            shutil.rmtree(tmp, ignore_errors=True)
            raise

        present = {i for s in SPLITS for i in indices[s]}
        missing = [i for i in range(num_frames) if i not in present]
        if missing and not allow_missing:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ValueError(
                f"{capture}: {len(missing)} of {num_frames} frames missing "
                f"(first {missing[:10]}); pass allow_missing=True to write a partial capture"
            )

        # Name shards like the Hub does (train-00000-of-00002.parquet) and fsync them.
        files: dict[str, list[str]] = {}
        for split in SPLITS:
            total = len(shards[split])
            files[split] = []
            for k, p in enumerate(shards[split]):
                final = tmp / f"{split}-{k:05d}-of-{total:05d}.parquet"
                with open(p, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(p, final)
                files[split].append(f"data/{capture}/{final.name}")

        # Commit: mark incomplete, swap the folder in, then write the marker last.
        split_json = self.root / "splits" / f"{capture}.json"
        with contextlib.suppress(FileNotFoundError):
            split_json.unlink()
        dest = data_dir / capture
        if dest.exists():
            old = data_dir / f".old-{capture}-{uuid.uuid4().hex[:8]}"
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
        summary = CaptureSummary(capture, num_frames, hand_type, tags, indices, files, missing)
        atomic_write_json(split_json, summary.to_json())
        self.finalize()
        return summary

    def finalize(self) -> Path:
        """(Re)write the dataset card and the manifest from the captures written so far.

        Serialised with a lock file, so processes writing different captures of one folder
        in parallel cannot leave a card that misses a capture: each writes its
        ``splits/<capture>.json`` before finalizing, and the last finalize sees them all.
        """
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".hwp_dataset.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._finalize_locked()

    def _finalize_locked(self) -> Path:
        from hwp_bench.data.card import render_card

        caps = read_captures(self.root, strict=False)
        manifest = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "pretty_name": self.pretty_name,
            "description": self.description,
            "license": self.license,
            "citation": self.citation,
            "notes": self.notes,
            "captures": {
                c: {k: v[k] for k in ("num_frames", "hand_type", "tags", "counts", "missing")}
                for c, v in caps.items()
            },
            "configs": configs_present(caps),
        }
        if self.revision is not None:
            manifest["revision"] = self.revision
        atomic_write_json(self.root / MANIFEST, manifest)
        from hwp_bench.io import atomic_write_text

        atomic_write_text(self.root / CARD, render_card(manifest))
        return self.root


def normalize_row(raw: Frame | Mapping[str, Any]) -> dict[str, Any]:
    """Turn a Frame or a loose row dict into a storable row (images as PNG byte structs)."""
    if isinstance(raw, Frame):
        return frame_to_row(raw)
    row = dict(raw)
    for col in IMAGE_COLUMNS:
        v = row.get(col)
        if v is None:
            row[col] = None
        elif isinstance(v, dict):
            if not v.get("bytes"):
                raise ValueError(f"column {col}: image structs must carry PNG bytes")
            row[col] = {"bytes": v["bytes"], "path": None}
        else:
            row[col] = {"bytes": encode_png(v, grey=(col != "image")), "path": None}
    if row.get("image") is None:
        raise ValueError("row has no image")
    for col in HAND_COLUMNS:
        h = row.get(col)
        if h is not None and not isinstance(h, dict):  # HandParams
            h = {"pose": h.pose, "shape": h.shape, "trans": h.trans}
        if h is not None:
            h = {
                "pose": np.asarray(h["pose"], np.float32).reshape(48).tolist(),
                "shape": np.asarray(h["shape"], np.float32).reshape(10).tolist(),
                "trans": np.asarray(h["trans"], np.float32).reshape(3).tolist(),
            }
        row[col] = h
    row["index"] = int(row["index"])
    row["num_frames"] = int(row["num_frames"])
    row["t"] = float(row["index"]) / float(row["num_frames"])
    row["K"] = np.asarray(row["K"], np.float32).reshape(3, 3).tolist()
    if row.get("width") is None or row.get("height") is None:
        from io import BytesIO

        from PIL import Image

        with Image.open(BytesIO(row["image"]["bytes"])) as im:
            row["width"], row["height"] = im.size
    if row.get("hand_box") is not None:
        row["hand_box"] = np.asarray(row["hand_box"], np.float32).reshape(4).tolist()
    row.setdefault("hand_box", None)
    row.setdefault("frame_tags", [])
    row.setdefault("annotations", None)
    row.setdefault("tags", None)
    return row


# ---------------------------------------------------------------------- reading


def _inside(root_real: Path, path: Path) -> bool:
    """``path`` (links resolved) lies inside the dataset root: links out of it are not followed."""
    try:
        return path.resolve().is_relative_to(root_real)
    except (OSError, RuntimeError):  # a link loop
        return False


def _capture_files(root: Path, root_real: Path, cap: str, info: Any, where: Path) -> list[str]:
    """The shard paths a ``splits/<capture>.json`` lists, checked: inside ``data/<capture>/``,
    and still inside the dataset root once links are resolved."""
    if not isinstance(info, dict) or not isinstance(info.get("files", {}), dict):
        raise LayoutError(f"{where}: not a capture split file (expected a JSON object)")
    files = []
    for s in SPLITS:
        listed = info.get("files", {}).get(s, [])
        if not isinstance(listed, list) or not all(isinstance(f, str) for f in listed):
            raise LayoutError(f"{where}: files.{s} must be a list of paths")
        for f in listed:
            if not re.fullmatch(rf"data/{cap}/[A-Za-z0-9._-]+\.parquet", f):
                raise LayoutError(
                    f"{where}: {f!r} is not a shard of {cap} (data/{cap}/<name>.parquet)"
                )
            if not _inside(root_real, root / f):
                raise LayoutError(
                    f"{root / f} leads outside the dataset folder (to {(root / f).resolve()}): "
                    "links out of a dataset are not followed. Copy the files in, or link the "
                    "whole dataset folder instead."
                )
            files.append(f)
    return files


def read_captures(root: str | os.PathLike, *, strict: bool = True) -> dict[str, dict[str, Any]]:
    """``splits/<capture>.json`` of every completely written capture, in capture order.

    ``strict`` raises :class:`LayoutError` when the folder holds no dataset at all. A split file
    that is not valid JSON, lists files outside its capture's folder, or whose files lead out of
    the dataset root through a link raises :class:`LayoutError` in either mode: such a folder is
    never read as if it were healthy.
    """
    root = Path(root)
    out: dict[str, dict[str, Any]] = {}
    sdir = root / "splits"
    root_real = root.resolve()
    for cap in CAPTURE_IDS:
        p = sdir / f"{cap}.json"
        if not p.is_file():
            continue
        if not _inside(root_real, p):
            raise LayoutError(f"{p} leads outside the dataset folder: links are not followed")
        try:
            info = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise LayoutError(f"{p} is not a readable split file ({type(exc).__name__})") from None
        files = _capture_files(root, root_real, cap, info, p)
        version = info.get("schema_version", 0)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise LayoutError(
                f"{p} uses dataset schema version {version!r}, newer than this "
                f"hwp-bench reads ({SCHEMA_VERSION}): upgrade hwp-bench"
            )
        if files and all((root / f).is_file() for f in files):
            out[cap] = info
    if strict and not out:
        raise LayoutError(
            f"{root} holds no hwp-bench dataset (no splits/captureNN.json with its "
            "data/captureNN/*.parquet files). Write one with `hwp-bench data export DIR` "
            "or hwp_bench.data.layout.DatasetWriter."
        )
    return out


def configs_present(captures: Iterable[str]) -> dict[str, list[str]]:
    """Config name -> captures it covers, for the configs with at least one written capture."""
    have = set(captures)
    out: dict[str, list[str]] = {}
    for cfg in CONFIGS:
        caps = [c for c in captures_for(cfg) if c in have]
        if caps:
            out[cfg] = caps
    return out


def is_dataset_folder(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder with at least one completely written capture."""
    p = Path(path)
    return p.is_dir() and bool(read_captures(p, strict=False))


def shard_files(root: str | os.PathLike, capture: str, split: str) -> list[Path]:
    """Parquet files of one capture's split, in order (empty list if the capture is absent)."""
    root = Path(root)
    info = read_captures(root, strict=False).get(capture)
    if info is None:
        return []
    return [root / f for f in info["files"][split]]


def _check_rows(table, path: Path, capture: str, split: str) -> None:
    """Every row of a shard says it belongs to the capture and split whose folder holds it."""
    import pyarrow.compute as pc

    for col, want in (("capture", capture), ("split", split)):
        if col not in table.column_names:
            continue
        column = table.column(col)
        if column.null_count or not pc.all(pc.equal(column, want)).as_py():
            other = sorted({v for v in column.to_pylist() if v != want}, key=str)[:3]
            raise LayoutError(
                f"{path}: rows say {col} {', '.join(map(repr, other))}, but the file is "
                f"{capture}'s {split} shard: the dataset folder is inconsistent"
            )


def read_table(root: str | os.PathLike, captures: Iterable[str], split: str, columns=None):
    """One Arrow table with the rows of ``captures``' ``split`` (capture, then index order).

    Each shard's rows are checked to belong to the capture and split it is filed under, and
    the frame indices to be the ones ``splits/<capture>.json`` lists (:class:`LayoutError`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hwp_bench.data.schema import arrow_schema

    root = Path(root)
    have = read_captures(root, strict=False)
    tables = []
    for cap in captures:
        if cap not in have:
            continue
        indices: list[int] = []
        for f in have[cap]["files"][split]:
            path = root / f
            try:
                t = pq.read_table(path, columns=columns, memory_map=True)
                check = (
                    t
                    if columns is None
                    else pq.read_table(path, columns=["capture", "split", "index"])
                )
            except (OSError, ValueError, pa.ArrowException) as exc:
                raise LayoutError(f"{path}: not a readable Parquet shard ({exc})") from None
            _check_rows(check, path, cap, split)
            if "index" in check.column_names:
                indices += check.column("index").to_pylist()
            tables.append(t)
        listed = have[cap].get(split)
        if isinstance(listed, list) and have[cap]["files"][split] and indices != listed:
            raise LayoutError(
                f"{root / 'data' / cap}: the {split} rows hold frames {indices[:5]}..., "
                f"splits/{cap}.json lists {listed[:5]}...: the dataset folder is inconsistent"
            )
    if not tables:
        schema = arrow_schema()
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns], metadata=schema.metadata)
        return schema.empty_table()
    return pa.concat_tables(tables)


def copy_captures(
    src: str | os.PathLike, dst: str | os.PathLike, captures: Iterable[str], **card: Any
) -> list[str]:
    """Copy whole captures from the folder ``src`` into ``dst`` (atomically per capture, the
    same commit order as :meth:`DatasetWriter.write_capture`) and refresh ``dst``'s card.

    ``card`` overrides the card metadata (default: ``src``'s). Returns the captures copied.
    """
    src, dst = Path(src), Path(dst)
    have = read_captures(src)
    caps = [c for c in captures if c in have]
    for cap in caps:
        (dst / "data").mkdir(parents=True, exist_ok=True)
        tmp = dst / "data" / f".tmp-{cap}-{uuid.uuid4().hex[:8]}"
        shutil.copytree(src / "data" / cap, tmp)
        marker = dst / "splits" / f"{cap}.json"
        with contextlib.suppress(FileNotFoundError):
            marker.unlink()
        final = dst / "data" / cap
        if final.exists():
            old = dst / "data" / f".old-{cap}-{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
        atomic_write_json(marker, have[cap])
    meta = DatasetWriter.open(src)
    keys = ("name", "pretty_name", "description", "license", "citation", "notes", "revision")
    DatasetWriter(dst, **{**{k: getattr(meta, k) for k in keys}, **card}).finalize()
    return caps


def split_counts(num_frames: int) -> dict[str, int]:
    """Frames per split of a full capture (for tables and checks)."""
    return {s: hi - lo for s, (lo, hi) in split_bounds(num_frames).items()}


# ---------------------------------------------------------------------- validation


@dataclass
class DatasetCheck:
    """What :func:`validate_dataset` found: problems (empty: healthy) and what it read."""

    root: Path
    problems: list[str] = field(default_factory=list)
    captures: list[str] = field(default_factory=list)
    rows: int = 0
    images: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_card(root: Path, caps: Mapping[str, Any], problems: list[str]) -> None:
    import yaml

    path = root / CARD
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: dataset card unreadable ({type(exc).__name__})")
        return
    if not text.startswith("---\n") or "\n---" not in text[4:]:
        problems.append(f"{path}: no YAML header between '---' lines (datasets needs one)")
        return
    head = text[4 : text.index("\n---", 3)]
    try:
        meta = yaml.safe_load(head)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 2}" if where is not None else ""
        problems.append(f"{path}: malformed YAML header{at}")
        return
    configs = meta.get("configs") if isinstance(meta, dict) else None
    if not isinstance(configs, list) or not all(isinstance(c, dict) for c in configs):
        problems.append(f"{path}: YAML header has no list of configs")
        return
    for c in configs:
        name = c.get("config_name")
        for entry in c.get("data_files") or []:
            paths = entry.get("path") if isinstance(entry, dict) else None
            paths = [paths] if isinstance(paths, str) else paths
            if not isinstance(paths, list):
                problems.append(f"{path}: config {name!r} has a malformed data_files entry")
                continue
            for pattern in paths:
                m = re.fullmatch(
                    r"data/(capture\d\d)/(train|validation|test)-\*\.parquet", str(pattern)
                )
                if m is None or m.group(1) not in caps:
                    problems.append(
                        f"{path}: config {name!r} lists {pattern!r}, which is not a capture of "
                        "this folder"
                    )


def _check_png(data: Any, col: str, hw: tuple[Any, Any]) -> str | None:
    from PIL import Image

    if not isinstance(data, (bytes, bytearray)) or not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return f"{col} is not PNG bytes"
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
            im.load()
            mode, size = im.mode, im.size
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the file's fault
        return f"{col} is not a readable PNG ({type(exc).__name__})"
    want = "RGB" if col == "image" else "L"
    if mode != want:
        return f"{col} is mode {mode}, expected {want}"
    if (size[1], size[0]) != tuple(hw):
        return f"{col} is {size[0]}x{size[1]}, the row says {hw[1]}x{hw[0]}"
    return None


def _check_shard(
    path: Path, cap: str, split: str, info: Mapping[str, Any], check: DatasetCheck, images: bool
) -> list[int]:
    """Read one shard batch by batch; return its frame indices (problems go to ``check``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hwp_bench.data.schema import arrow_schema

    problems: list[str] = []
    indices: list[int] = []
    try:
        pf = pq.ParquetFile(path)
        missing = [n for n in arrow_schema().names if n not in pf.schema_arrow.names]
        if missing:
            check.problems.append(f"{path}: columns missing: {', '.join(missing)}")
            return indices
        for batch in pf.iter_batches(batch_size=64):
            rows = (
                batch.to_pylist()
                if images
                else batch.drop_columns(
                    [c for c in IMAGE_COLUMNS if c in batch.column_names]
                ).to_pylist()
            )
            for row in rows:
                idx = row.get("index")
                indices.append(idx)
                check.rows += 1
                for col, want in (
                    ("capture", cap),
                    ("split", split),
                    ("num_frames", info.get("num_frames")),
                    ("hand_type", info.get("hand_type")),
                ):
                    if row.get(col) != want:
                        problems.append(f"row {idx}: {col} is {row.get(col)!r}, expected {want!r}")
                if not images:
                    continue
                hw = (row.get("height"), row.get("width"))
                for col in IMAGE_COLUMNS:
                    cell = row.get(col)
                    if cell is None:
                        if col == "image":
                            problems.append(f"row {idx}: no image")
                        continue
                    why = _check_png(cell.get("bytes"), col, hw)
                    check.images += 1
                    if why:
                        problems.append(f"row {idx}: {why}")
                if len(problems) >= 5:
                    break
            if len(problems) >= 5:
                break
    except (OSError, ValueError, pa.ArrowException) as exc:
        why = " ".join(str(exc).split())[:120]  # one line, whatever the library said
        problems.append(f"not a readable Parquet file ({type(exc).__name__}: {why})")
    check.problems += [f"{path}: {p}" for p in problems[:5]]
    return indices


def validate_dataset(
    root: str | os.PathLike, *, images: bool = True, progress: bool = False
) -> DatasetCheck:
    """Check a dataset folder end to end; what ``hwp-bench data info`` runs.

    The manifest and the card's YAML parse; every split file is consistent (indices follow the
    80/10/10 rule, counts match, files inside the capture's folder and the dataset root); every
    shard is readable Parquet with the schema's columns, its rows name its capture and split,
    and (``images``) every image and mask decodes as a PNG of the row's size and mode.
    """
    root = Path(root)
    check = DatasetCheck(root)
    try:
        caps = read_captures(root)
    except LayoutError as exc:
        check.problems.append(str(exc))
        return check
    check.captures = list(caps)
    for p in sorted((root / "splits").glob("*.json")):
        if p.stem in CAPTURE_IDS and p.stem not in caps:
            check.problems.append(f"{p}: lists shard files that do not exist")
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError(f"format is not {FORMAT!r}")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        check.problems.append(f"{root / MANIFEST}: unreadable ({exc})")
        manifest = {}
    _check_card(root, caps, check.problems)
    shards = [(cap, s, f) for cap, info in caps.items() for s in SPLITS for f in info["files"][s]]
    if progress:
        from tqdm import tqdm

        shards = tqdm(shards, desc="checking shards", unit="file")
    seen: dict[tuple[str, str], list[int]] = {}
    for cap, split, f in shards:
        seen.setdefault((cap, split), []).extend(
            _check_shard(root / f, cap, split, caps[cap], check, images)
        )
    for cap, info in caps.items():
        where = root / "splits" / f"{cap}.json"
        n = info.get("num_frames")
        if not isinstance(n, int) or n < 1 or info.get("hand_type") not in HAND_TYPES:
            check.problems.append(f"{where}: num_frames or hand_type invalid")
            continue
        listed: list[int] = []
        for split in SPLITS:
            idx = info.get(split)
            if not isinstance(idx, list) or not all(isinstance(i, int) for i in idx):
                check.problems.append(f"{where}: {split} must list frame indices")
                continue
            listed += idx
            if info.get("counts", {}).get(split) != len(idx):
                check.problems.append(f"{where}: counts.{split} disagrees with its index list")
            if any(not 0 <= i < n or split_of(i, n) != split for i in idx):
                check.problems.append(f"{where}: {split} lists frames outside the split rule")
            if info["files"][split] and seen.get((cap, split)) != idx:
                check.problems.append(
                    f"{root / 'data' / cap}: the {split} rows do not hold the frames "
                    f"splits/{cap}.json lists"
                )
        missing = info.get("missing") or []
        if sorted(listed + list(missing)) != list(range(n)):
            check.problems.append(f"{where}: frames listed plus missing do not cover 0..{n - 1}")
        entry = (manifest.get("captures") or {}).get(cap) if manifest else None
        if manifest and (not isinstance(entry, dict) or entry.get("num_frames") != n):
            check.problems.append(f"{root / MANIFEST}: {cap} disagrees with splits/{cap}.json")
    return check
