"""Publish a dataset folder to the Hugging Face Hub (``hwp-bench data push DIR REPO``).

One commit per push: the card is regenerated from the schema and tags first, every file of
the layout is added, and files under ``data/`` and ``splits/`` that the repo holds but the
folder no longer does are deleted in the same commit. Without that, a re-push with fewer
shards would leave stale ``train-*.parquet`` files that the card's globs would silently load
twice.

Files go through ``HfApi.create_repo`` and ``HfApi.create_commit`` (the library decides per
file between inline and LFS/Xet transfer). ``api`` can be any object with those methods plus
``list_repo_files``, which is how the tests point it at a local fake Hub.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hwp_bench.data.layout import CARD, MANIFEST, DatasetWriter, read_captures

MANAGED_PREFIXES = ("data/", "splits/")


def layout_files(folder: str | os.PathLike) -> list[str]:
    """Repo-relative paths of everything a push uploads, sorted (card first)."""
    folder = Path(folder)
    caps = read_captures(folder)
    files = [CARD, MANIFEST]
    if (folder / "conversion_report.json").is_file():
        files.append("conversion_report.json")
    for cap, info in caps.items():
        files.append(f"splits/{cap}.json")
        for split_files in info["files"].values():
            files += split_files
    return files


def push_dataset(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    endpoint: str | None = None,
    api: Any = None,
) -> Any:
    """Upload ``folder`` to the dataset repo ``repo_id``; returns the ``CommitInfo``."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    folder = Path(folder)
    DatasetWriter.open(folder).finalize()  # the card always matches the schema and files
    files = layout_files(folder)
    if api is None:
        api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    try:
        remote = set(api.list_repo_files(repo_id, repo_type="dataset", revision=revision))
    except Exception as exc:  # a new repo or branch has no tree yet
        if "404" not in str(exc) and "not found" not in str(exc).lower():
            raise
        remote = set()
    stale = sorted(p for p in remote if p.startswith(MANAGED_PREFIXES) and p not in set(files))
    ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=str(folder / p)) for p in files]
    ops += [CommitOperationDelete(path_in_repo=p) for p in stale]
    n = len(read_captures(folder))
    return api.create_commit(
        repo_id,
        operations=ops,
        commit_message=commit_message or f"hwp-bench: upload {n} captures",
        repo_type="dataset",
        revision=revision,
    )
