"""A torch ``Dataset`` view over dataset rows that yields method-ready :class:`Frame` objects.

Rows stay in Arrow (memory-mapped Parquet or a ``datasets.Dataset``'s table); only the small
per-frame fields are turned into Python once, and images are decoded lazily in
``__getitem__``, so building the view is cheap and a DataLoader with workers decodes in
parallel. Frames are plain dataclasses: use ``collate_fn=list`` (see :func:`frame_collate`)
with a DataLoader.
"""

from __future__ import annotations

import bisect
import itertools
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch.utils.data

from hwp_bench.data.frame import Frame
from hwp_bench.data.schema import IMAGE_COLUMNS, row_to_frame


def frame_collate(batch: list[Frame]) -> list[Frame]:
    """DataLoader ``collate_fn`` that keeps Frames as a list (they are not tensors)."""
    return list(batch)


class FrameDataset(torch.utils.data.Dataset):
    """Random access to Frames from an Arrow table or a ``datasets.Dataset``.

    >>> view = FrameDataset.from_folder("hwp", "inter", "train")   # doctest: +SKIP
    >>> frame = view[0]; frame.image.shape, frame.K, sorted(frame.hands)   # doctest: +SKIP
    """

    def __init__(self, data: Any) -> None:
        table = _as_arrow(data)
        self._images = {c: table.column(c) for c in IMAGE_COLUMNS if c in table.column_names}
        rest = [c for c in table.column_names if c not in IMAGE_COLUMNS]
        self._rows = table.select(rest).to_pylist()
        # Image bytes stay in Arrow (memory-mapped) and are fetched per item.
        self._image_arrays = {c: _Chunks(col) for c, col in self._images.items()}

    @classmethod
    def from_folder(
        cls, root: str | os.PathLike, config_or_captures: str | Iterable[str], split: str
    ) -> FrameDataset:
        """Rows of a dataset folder for a config (or a list of captures) and split."""
        from hwp_bench.data.layout import read_captures, read_table
        from hwp_bench.data.splits import check_split
        from hwp_bench.data.tags import captures_for

        check_split(split)
        present = read_captures(Path(root))
        if isinstance(config_or_captures, str):
            wanted = captures_for(config_or_captures)
        else:
            wanted = list(config_or_captures)
        caps = [c for c in wanted if c in present]
        if not caps:
            raise ValueError(f"{root} has none of the captures {wanted} (it has {sorted(present)})")
        return cls(read_table(root, caps, split))

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i: int) -> Frame:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        row = dict(self._rows[i])
        for c, arr in self._image_arrays.items():
            cell = arr[i]
            row[c] = {"bytes": cell["bytes"].as_py()} if cell.is_valid else None
        return row_to_frame(row)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


class _Chunks:
    """Row lookup in a chunked Arrow column without copying it (combine_chunks would copy
    every image into RAM; the chunks are memory-mapped Parquet)."""

    def __init__(self, chunked) -> None:  # noqa: ANN001
        import pyarrow as pa

        self.chunks = list(chunked.chunks) if isinstance(chunked, pa.ChunkedArray) else [chunked]
        self.starts = list(itertools.accumulate((len(c) for c in self.chunks), initial=0))

    def __getitem__(self, i: int):  # noqa: ANN204
        k = bisect.bisect_right(self.starts, i) - 1
        return self.chunks[k][i - self.starts[k]]


def _as_arrow(data: Any):
    """A ``pyarrow.Table`` from a table or a ``datasets.Dataset`` (undecoded image bytes)."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data
    with_format = getattr(data, "with_format", None)
    if with_format is not None:  # datasets.Dataset: its Arrow rows, respecting select/filter
        return with_format("arrow")[:]
    raise TypeError(f"FrameDataset needs a pyarrow.Table or datasets.Dataset, got {type(data)}")
