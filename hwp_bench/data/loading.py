"""Find a dataset and load it: local folder, the toolkit's data home, HWP-Synth, or the Hub.

``resolve(name_or_path)`` turns what a user typed into a local dataset folder, trying in
order:

1. ``"synth"`` / ``"synth-clean"``: the HWP-Synth folder from
   ``hwp_bench.synth.ensure_synth(preset="quick", seed=0, clean=...)`` (generated on first use);
2. an existing local folder (``"hwp"`` works when you are next to a folder named ``hwp``);
3. the data home: ``datasets_dir() / name`` (``$HWP_HOME/datasets/hwp``, where ``hwp-bench data
   export`` and Hub downloads put it; ``"owner/repo"`` -> ``datasets_dir() / "owner--repo"``);
4. the Hub: ``"hwp"`` means ``$HWP_HUB_REPO`` (default ``hwp-bench/hwp``), a name with a slash is
   a repo id. Only the files of the needed captures are downloaded, into the data home (step 3
   finds them next time, offline included);
5. for ``"hwp"`` only: the authors' release ``XuanHuang0/WildGHand`` (``$HWP_RELEASE_REPO``), in
   their raw layout: the needed captures are downloaded and converted into the data home by
   :func:`hwp_bench.data.release.fetch_release` (what ``hwp-bench data fetch`` runs).

When nothing works, :class:`DatasetNotFoundError` lists every place that was tried and what to
do, instead of a stack of HTTP errors.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from hwp_bench.data.frame import Frame
from hwp_bench.data.layout import (
    DatasetWriter,
    LayoutError,
    configs_present,
    is_dataset_folder,
    read_captures,
)
from hwp_bench.data.splits import check_split
from hwp_bench.data.tags import CAPTURE_IDS, captures_for, check_config
from hwp_bench.paths import datasets_dir

DEFAULT_HUB_REPO = "hwp-bench/hwp"
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
SYNTH_SOURCES = {"synth": False, "synth-clean": True}


class DatasetNotFoundError(FileNotFoundError):
    """No local copy of the dataset, and the Hub could not provide one."""


def hub_repo() -> str:
    """The Hub dataset repo that ``"hwp"`` resolves to (``HWP_HUB_REPO`` overrides)."""
    return os.environ.get("HWP_HUB_REPO") or DEFAULT_HUB_REPO


def _synth_folder(clean: bool) -> Path:
    try:
        from hwp_bench.synth import ensure_synth
    except ImportError as exc:  # the synth area has not landed yet
        raise RuntimeError(
            "HWP-Synth is not available in this build: hwp_bench.synth.ensure_synth is missing. "
            "Pass a dataset folder instead (see `hwp-bench data --help`)."
        ) from exc
    return Path(ensure_synth(preset="quick", seed=0, clean=clean))


def resolve(
    name_or_path: str | os.PathLike,
    *,
    captures: list[str] | None = None,
    repo_id: str | None = None,
    revision: str | None = None,
    endpoint: str | None = None,
) -> Path:
    """A local folder in our layout holding ``name_or_path`` (see the module docstring).

    ``captures`` limits a Hub download to those captures (default: all); ``endpoint`` is a
    Hub mirror (default: ``HF_ENDPOINT`` / huggingface.co).
    """
    name = os.fspath(name_or_path)
    if name in SYNTH_SOURCES:
        return _synth_folder(SYNTH_SOURCES[name])
    tried: list[str] = []
    path = Path(name).expanduser()
    if path.is_dir():
        if is_dataset_folder(path):
            return path
        read_captures(path)  # raises LayoutError with the explanation
    tried.append(f"local folder {path.resolve()} (does not exist)")
    bare = "/" not in name and os.sep not in name
    if repo_id is None:
        if name == "hwp":
            repo_id = hub_repo()
        elif not bare and _REPO_ID.fullmatch(name):
            repo_id = name
    wanted = captures or list(CAPTURE_IDS)
    # Exports and Hub downloads live in the data home: "hwp" -> datasets/hwp, "a/b" -> a--b.
    home = datasets_dir() / (name if bare else repo_id.replace("/", "--") if repo_id else name)
    if bare or repo_id:
        have = read_captures(home, strict=False)
        if have and (repo_id is None or all(c in have for c in wanted)):
            return home
        missing = [c for c in wanted if c not in have]
        tried.append(
            f"data home {home} ("
            + (f"lacks {', '.join(missing)}" if have else "no dataset there")
            + f"; HWP_HOME={os.environ.get('HWP_HOME', '')!r})"
        )
    if repo_id is None:
        raise DatasetNotFoundError(
            f"dataset {name!r} not found. Tried: " + "; ".join(tried) + ". Pass a folder "
            "written by `hwp-bench data export` / `convert-upstream`, 'synth', or 'hwp'."
        )
    # "hwp" with no repo named: our layout's repo first, then the authors' raw release.
    release = name == "hwp" and repo_id == hub_repo()
    try:
        folder = _from_hub(
            repo_id, home, revision=revision, captures=wanted, tried=tried, endpoint=endpoint
        )
    except (DatasetNotFoundError, LayoutError) as exc:
        if not release:
            raise
        tried.append(f"Hub repo {repo_id} in our layout ({getattr(exc, 'reason', exc)})")
    else:
        have = read_captures(folder, strict=False)
        if not release or all(c in have for c in wanted):
            return folder
        missing = ", ".join(c for c in wanted if c not in have)
        tried.append(f"Hub repo {repo_id} in our layout (lacks {missing})")
    return _from_release(home, wanted, tried, revision=revision, endpoint=endpoint)


def _from_release(
    home: Path, captures: list[str], tried: list[str], *, revision: str | None, endpoint: str | None
) -> Path:
    """The authors' release, converted into ``home`` (see :mod:`hwp_bench.data.release`)."""
    from hwp_bench.data.release import ReleaseError, fetch_release, release_repo

    try:
        fetch_release(captures, dest=home, revision=revision, endpoint=endpoint)
    except ReleaseError as exc:
        tried.append(f"the authors' release {release_repo()} ({exc})")
        raise DatasetNotFoundError(
            "HWP is not available locally and could not be fetched. Tried: "
            + "; ".join(tried)
            + ". Fixes: on a machine with internet run `hwp-bench data fetch` (or `hwp-bench "
            "data export DIR`) and copy the folder into $HWP_HOME/datasets/hwp, convert a "
            "downloaded release with `hwp-bench data convert-upstream SRC DST`, or use the "
            "built-in stand-in: source 'synth'."
        ) from exc
    return home


def _from_hub(
    repo_id: str,
    local_dir: Path,
    *,
    revision: str | None,
    captures: list[str],
    tried: list[str],
    endpoint: str | None = None,
) -> Path:
    """Download the card, split lists and the shards of ``captures`` into ``local_dir``.

    A plain folder (``local_dir``), not the symlinked Hugging Face cache: ``datasets`` does
    not find Parquet files behind the cache's blob symlinks, and the data home is where
    :func:`resolve` looks first next time (offline included).
    """
    patterns = ["README.md", "hwp_dataset.json", "splits/*.json"]
    patterns += [f"data/{c}/*" for c in captures]
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(
            repo_id,
            repo_type="dataset",
            revision=revision,
            allow_patterns=patterns,
            endpoint=endpoint,
            local_dir=local_dir,
        )
    except Exception as exc:  # offline, unknown repo, HTTP error: one clear message
        from huggingface_hub import constants

        from hwp_bench.data.release import hub_failure

        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false", "False")
        why = (
            "HF_HUB_OFFLINE is set" if offline else hub_failure(exc, endpoint or constants.ENDPOINT)
        )
        error = DatasetNotFoundError(
            f"HWP is not available locally and could not be fetched from the Hub repo "
            f"{repo_id!r} ({why}). Tried: " + "; ".join(tried) + ". Fixes: on a machine with "
            "internet run `hwp-bench data export DIR` and copy DIR here (or into "
            "$HWP_HOME/datasets/hwp), convert the authors' release with `hwp-bench data "
            "convert-upstream SRC DST`, or use the built-in stand-in: source 'synth'."
        )
        error.reason = why
        raise error from exc
    folder = Path(folder)
    if is_dataset_folder(folder):
        # The downloaded card declares every capture of the repo; rewrite it for the captures
        # present here, or ``datasets`` fails on the configs whose files are absent.
        DatasetWriter.open(folder).finalize()
    else:
        raise LayoutError(
            f"Hub repo {repo_id!r} has no captures in our layout (downloaded {folder})"
        )
    return folder


def load_dataset(
    name_or_path: str | os.PathLike = "hwp",
    config: str = "all",
    *,
    split: str | None = None,
    repo_id: str | None = None,
    revision: str | None = None,
    endpoint: str | None = None,
    **kwargs: Any,
):
    """``datasets.Dataset`` (or a ``DatasetDict`` when ``split`` is None) of a config.

    ``kwargs`` go to :func:`datasets.load_dataset` (``cache_dir``, ``keep_in_memory``...).
    """
    check_config(config)
    if split is not None:
        check_split(split)
    folder = resolve(
        name_or_path,
        captures=captures_for(config),
        repo_id=repo_id,
        revision=revision,
        endpoint=endpoint,
    )
    have = configs_present(read_captures(folder))
    if config not in have:
        raise ValueError(
            f"config {config!r} has no captures in {folder} (it has configs: {', '.join(have)})"
        )
    import datasets

    return datasets.load_dataset(str(folder), config, split=split, **kwargs)


def load_frames(source: str | os.PathLike, capture: str, split: str) -> list[Frame]:
    """The Frames of one capture's split, in index order (what methods and the runner use).

    ``source``: ``"synth"``, ``"synth-clean"``, ``"hwp"`` or a dataset folder.
    """
    from hwp_bench.data.torch_view import FrameDataset

    check_split(split)
    if capture not in CAPTURE_IDS:
        raise ValueError(f"unknown capture {capture!r}: choose one of {', '.join(CAPTURE_IDS)}")
    folder = resolve(source, captures=[capture])
    if capture not in read_captures(folder):
        raise ValueError(f"{folder} has no {capture} (it has {sorted(read_captures(folder))})")
    return list(FrameDataset.from_folder(folder, [capture], split))
