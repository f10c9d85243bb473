"""Files the server keeps next to its database: archives, sample renders, incoming uploads.

Layout under the storage root::

    leaderboard.sqlite3          the default database
    incoming/<random>.part       uploads being received (same filesystem, so a rename is atomic)
    archives/<id>.zip            accepted submissions (written before their database row)
    samples/<id>/<capture>.png   one re-encoded render per capture for the detail page

Only submissions' own renders are ever written here; ground truth never is, so nothing the
web server can serve from this tree can leak it.
"""

from __future__ import annotations

import io
import os
import re
import uuid
import zipfile
from pathlib import Path

from hwp_bench.io import atomic_write_bytes
from hwp_leaderboard.archive import ArchiveIndex, decode_png
from hwp_leaderboard.limits import DEFAULT_LIMITS, Limits

ID_RE = re.compile(r"^[0-9a-f]{32}$")
SAMPLE_RE = re.compile(r"^capture\d{2}\.png$")
SAMPLE_MAX_SIDE = 256


class FileStore:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        for sub in ("incoming", "archives", "samples"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    @property
    def default_database_url(self) -> str:
        return f"sqlite:///{(self.root / 'leaderboard.sqlite3').resolve()}"

    def incoming_path(self) -> Path:
        return self.root / "incoming" / f"{uuid.uuid4().hex}.part"

    def archive_path(self, submission_id: str) -> Path:
        if not ID_RE.match(submission_id):
            raise ValueError("bad submission id")
        return self.root / "archives" / f"{submission_id}.zip"

    def accept(self, incoming: Path, submission_id: str) -> Path:
        """Move an uploaded file into place (atomic rename within the storage root)."""
        dest = self.archive_path(submission_id)
        with open(incoming, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(incoming, dest)
        return dest

    def sample_dir(self, submission_id: str) -> Path:
        if not ID_RE.match(submission_id):
            raise ValueError("bad submission id")
        return self.root / "samples" / submission_id

    def sample_path(self, submission_id: str, name: str) -> Path | None:
        """The path of a sample render, or None when the name is not a valid sample name."""
        if not ID_RE.match(submission_id) or not SAMPLE_RE.match(name):
            return None
        path = self.sample_dir(submission_id) / name
        return path if path.is_file() else None

    def samples(self, submission_id: str) -> list[str]:
        d = self.sample_dir(submission_id)
        return sorted(p.name for p in d.glob("capture*.png")) if d.is_dir() else []

    def write_samples(
        self,
        submission_id: str,
        archive: Path,
        index: ArchiveIndex,
        limits: Limits = DEFAULT_LIMITS,
    ) -> list[str]:
        """Re-encode the middle render of each capture (metadata stripped, at most 256 px)."""
        from PIL import Image

        out = []
        by_cap: dict[str, list[int]] = {}
        for cap, idx in index.renders:
            by_cap.setdefault(cap, []).append(idx)
        with zipfile.ZipFile(archive) as zf:
            for cap, idxs in sorted(by_cap.items()):
                idx = sorted(idxs)[len(idxs) // 2]
                name = index.renders[(cap, idx)]
                info = zf.getinfo(name)
                with zf.open(info) as fh:
                    data = fh.read(info.file_size + 1)
                arr = decode_png(data, name, None, limits=limits)
                img = Image.fromarray((arr * 255.0 + 0.5).clip(0, 255).astype("uint8"), "RGB")
                scale = SAMPLE_MAX_SIDE / max(img.size)
                if scale < 1:
                    img = img.resize(
                        (max(1, round(img.size[0] * scale)), max(1, round(img.size[1] * scale))),
                        Image.Resampling.BILINEAR,
                    )
                buf = io.BytesIO()
                img.save(buf, format="PNG")
                atomic_write_bytes(self.sample_dir(submission_id) / f"{cap}.png", buf.getvalue())
                out.append(f"{cap}.png")
        return out
