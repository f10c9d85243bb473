"""The public copy of a dataset: everything except the pixels of the test clips.

A leaderboard only means something if the test ground truth stays hidden. The server keeps the
full dataset; what is published is this copy, in which every ``test`` row keeps its camera,
hand parameters, tags, size and annotations of perturbation strength (what a method needs to
render the frame) while the image becomes an all-black PNG of the same size and the hand,
occluder and visible masks become null. Train and validation shards are copied byte for byte.
The copy loads with ``hwp_bench.data.load_frames`` like any dataset folder, and its
``hwp_dataset.json`` says ``"test_pixels": "withheld"``.

Without test masks nobody can align the test poses, so the copy also publishes the aligned
parameters, computed here from the full dataset, in ``test_poses/aligned.json``
(:func:`hwp_bench.tracks.write_published`): ``hwp-bench run --test-poses aligned`` on the copy
renders from exactly the parameters the server's test spec gives.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

from hwp_bench.io import atomic_path, atomic_write_json

WITHHELD_IMAGE_COLUMNS = ("mask", "occluder_mask", "visible_mask")
MARK = "test_pixels"


def _black_png(height: int, width: int, cache: dict) -> bytes:
    key = (int(height), int(width))
    if key not in cache:
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (key[1], key[0])).save(buf, format="PNG")
        cache[key] = buf.getvalue()
    return cache[key]


def strip_test_shard(src: Path, dst: Path) -> int:
    """Rewrite one test Parquet shard without pixels; return the number of rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(src)
    names = table.schema.names
    heights = table.column("height").to_pylist()
    widths = table.column("width").to_pylist()
    cache: dict = {}
    img_type = table.schema.field("image").type
    images = pa.array(
        [
            {"bytes": _black_png(h, w, cache), "path": None}
            for h, w in zip(heights, widths, strict=True)
        ],
        type=img_type,
    )
    table = table.set_column(names.index("image"), table.schema.field("image"), images)
    for col in WITHHELD_IMAGE_COLUMNS:
        if col in names:
            field = table.schema.field(col)
            table = table.set_column(
                names.index(col), field, pa.nulls(table.num_rows, type=field.type)
            )
    with atomic_path(dst) as tmp:
        pq.write_table(table, tmp, row_group_size=64)
    return table.num_rows


def export_public(
    src: str | os.PathLike, dst: str | os.PathLike, *, publish: tuple[str, ...] = ("aligned",)
) -> dict:
    """Copy dataset folder ``src`` to ``dst`` with the test clips' pixels withheld, publishing
    the test poses of the tracks ``publish`` (computed from ``src``)."""
    from hwp_bench.data.layout import MANIFEST, read_captures

    src, dst = Path(src), Path(dst)
    if dst.exists() and any(dst.iterdir()):
        raise FileExistsError(f"{dst} exists and is not empty")
    caps = read_captures(src)
    test_files = {f for info in caps.values() for f in info["files"].get("test", [])}
    stripped = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src).as_posix()
        if path.is_dir() or path.is_symlink():
            continue
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if rel in test_files:
            stripped += strip_test_shard(path, out)
        elif rel != MANIFEST:
            shutil.copyfile(path, out)
    manifest = json.loads((src / MANIFEST).read_text())
    manifest[MARK] = "withheld"
    atomic_write_json(dst / MANIFEST, manifest)
    if publish:
        from hwp_bench.data import load_frames
        from hwp_bench.tracks import track_hands, write_published

        test = [f for cap in sorted(caps) for f in load_frames(src, cap, "test")]
        for track in publish:
            write_published(dst, track, track_hands(test, track))
    return {"captures": sorted(caps), "test_rows_stripped": stripped, "test_poses": list(publish)}
