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
import json
import os
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
from hwp_bench.data.tags import CAPTURE_IDS, CONFIGS, HAND_TYPES, PERTURBATIONS, captures_for
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
        bad = [t for t in tags if t not in PERTURBATIONS]
        if bad:
            raise ValueError(f"unknown perturbation tags {bad}: use {PERTURBATIONS}")
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


def read_captures(root: str | os.PathLike, *, strict: bool = True) -> dict[str, dict[str, Any]]:
    """``splits/<capture>.json`` of every completely written capture, in capture order.

    ``strict`` raises :class:`LayoutError` when the folder holds no dataset at all.
    """
    root = Path(root)
    out: dict[str, dict[str, Any]] = {}
    sdir = root / "splits"
    for cap in CAPTURE_IDS:
        p = sdir / f"{cap}.json"
        if not p.is_file():
            continue
        info = json.loads(p.read_text())
        if int(info.get("schema_version", 0)) > SCHEMA_VERSION:
            raise LayoutError(
                f"{p} uses dataset schema version {info['schema_version']}, newer than this "
                f"hwp-bench reads ({SCHEMA_VERSION}): upgrade hwp-bench"
            )
        files = [f for s in SPLITS for f in info.get("files", {}).get(s, [])]
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


def read_table(root: str | os.PathLike, captures: Iterable[str], split: str, columns=None):
    """One Arrow table with the rows of ``captures``' ``split`` (capture, then index order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hwp_bench.data.schema import arrow_schema

    root = Path(root)
    have = read_captures(root, strict=False)
    tables = []
    for cap in captures:
        for f in have[cap]["files"][split] if cap in have else []:
            tables.append(pq.read_table(root / f, columns=columns, memory_map=True))
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
