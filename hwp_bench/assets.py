"""Third-party model files the toolkit can fetch into the data home (``hwp-bench assets fetch``).

Each asset is one file of a Hub model repo, downloaded into ``weights_dir()`` and recorded in a
sidecar ``<file>.json`` with its repo, commit, size and SHA-256 (checked against the Hub's LFS
hash when the Hub gives one). Lookups (:func:`asset_path`, :func:`sam_checkpoint`) need no
network: they read the sidecar and check the size, so a truncated or replaced file is ignored.

``sam``: ``vit_h.pth``, the SAM ViT-H checkpoint the WildGHand authors used for PAO's region
proposals, from their model repo ``XuanHuang0/WildGHand-checkpoints``. WildGHand's
``pao_segmenter=auto`` uses it when ``segment_anything`` imports.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwp_bench.io import atomic_write_json
from hwp_bench.paths import weights_dir


@dataclass(frozen=True)
class Asset:
    name: str
    repo_id: str
    filename: str  # path in the repo
    subdir: str  # folder under weights_dir()
    description: str
    repo_type: str = "model"

    def path(self) -> Path:
        return weights_dir() / self.subdir / Path(self.filename).name

    def record_path(self) -> Path:
        return self.path().with_name(self.path().name + ".json")


ASSETS = {
    "sam": Asset(
        "sam",
        "XuanHuang0/WildGHand-checkpoints",
        "vit_h.pth",
        "sam",
        "SAM ViT-H checkpoint used by WildGHand's PAO (segment_anything)",
    ),
}


class AssetError(RuntimeError):
    """An asset could not be fetched or did not match the Hub's hash."""


def _asset(name: str) -> Asset:
    if name not in ASSETS:
        raise ValueError(f"unknown asset {name!r}: choose one of {', '.join(ASSETS)}")
    return ASSETS[name]


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def asset_record(name: str) -> dict[str, Any] | None:
    """The sidecar of a fetched asset, or None."""
    try:
        rec = json.loads(_asset(name).record_path().read_text())
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def asset_path(name: str, *, verify: bool = False) -> Path | None:
    """The fetched file of asset ``name`` when present and intact (size; SHA-256 if verify)."""
    a, rec = _asset(name), asset_record(name)
    p = a.path()
    if rec is None or not p.is_file() or p.stat().st_size != rec.get("size"):
        return None
    if verify and sha256_file(p) != rec.get("sha256"):
        return None
    return p


def sam_checkpoint() -> str:
    """Path of the fetched SAM checkpoint ("" when ``hwp-bench assets fetch sam`` has not run)."""
    p = asset_path("sam")
    return str(p) if p else ""


def fetch_asset(
    name: str,
    *,
    revision: str | None = None,
    endpoint: str | None = None,
    progress: bool = True,
) -> Path:
    """Download asset ``name`` into the data home (atomically) and record its hash."""
    from huggingface_hub import HfApi, RepoFile, hf_hub_download

    from hwp_bench.data.release import hub_failure

    a = _asset(name)
    api = HfApi(endpoint=endpoint)
    where = f"{a.repo_id}@{revision or 'main'} on {api.endpoint}"
    staging = weights_dir() / ".downloads" / a.repo_id.replace("/", "--")
    try:
        info = api.model_info(a.repo_id, revision=revision)
        commit = info.sha
        parent = str(Path(a.filename).parent)
        entries = api.list_repo_tree(
            a.repo_id, path_in_repo=None if parent == "." else parent, revision=commit
        )
        entry = next((e for e in entries if isinstance(e, RepoFile) and e.path == a.filename), None)
        if entry is None:
            raise AssetError(f"{a.filename} is not in {where}")
        kwargs: dict[str, Any] = {} if progress else {"tqdm_class": _silent()}
        got = hf_hub_download(
            a.repo_id,
            a.filename,
            revision=commit,
            local_dir=staging,
            endpoint=endpoint,
            **kwargs,
        )
    except AssetError:
        raise
    except Exception as exc:  # noqa: BLE001 - one line per failure
        raise AssetError(
            f"cannot fetch {a.filename} from {where}: {hub_failure(exc, api.endpoint)}"
        ) from exc
    digest = sha256_file(got)
    lfs = entry.lfs
    want = lfs.get("sha256") if isinstance(lfs, dict) else getattr(lfs, "sha256", None)
    size = Path(got).stat().st_size
    if (want and digest != want) or (entry.size is not None and size != entry.size):
        Path(got).unlink(missing_ok=True)
        raise AssetError(
            f"{a.filename} from {where} does not match the Hub's size/SHA-256; removed, run "
            "the command again"
        )
    dest = a.path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(got, dest)
    atomic_write_json(
        a.record_path(),
        {
            "asset": a.name,
            "repo": a.repo_id,
            "repo_type": a.repo_type,
            "file": a.filename,
            "commit": commit,
            "endpoint": api.endpoint,
            "size": size,
            "sha256": digest,
            "hub_sha256": want,
        },
    )
    shutil.rmtree(staging, ignore_errors=True)
    return dest


def _silent():
    from tqdm.auto import tqdm

    class Silent(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return Silent
