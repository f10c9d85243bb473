"""The authors' HWP release on the Hub, fetched capture by capture and converted on demand.

The WildGHand authors publish HWP as the dataset repo ``XuanHuang0/WildGHand`` in their raw
layout: one folder per capture (``capture0_subsample3_single/``, ``capture4_subsample4/``...,
subsample factors differ) holding ``output.pkl``, the frames and SAM masks, placed wherever
the repo's maintainers put them (their README says ``dataset/WildGHand/``). :func:`fetch_release`

1. lists the repo at one commit (``revision`` pins it; otherwise the commit the data home was
   fetched at, else ``main``) and finds the capture folders wherever they sit, without listing
   anything inside folders that are not captures;
2. downloads, per requested capture, ``output.pkl`` and only the images and masks it names
   (one progress bar per capture; each file checked against the Hub's size and SHA-256 or git
   blob id; a connection cut mid-file is resumed by ``huggingface_hub``, files already
   complete are kept, so an interrupted fetch resumes where it stopped);
3. converts it with :func:`hwp_bench.data.upstream.convert_upstream` into a staging folder
   and moves the capture into the data home atomically (``copy_captures``), merging the
   conversion report, and records the upstream commit: ``hwp_release.json`` per capture, and
   the manifest's ``revision`` (``XuanHuang0/WildGHand@<commit>``), which result files name.

The next :func:`hwp_bench.data.resolve` finds the converted capture in the data home, offline
included. Raw downloads are deleted after a successful conversion unless ``keep_raw``. Every
failure is a :class:`ReleaseError` with one line that says what was tried.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwp_bench.data.tags import CAPTURE_IDS, CAPTURES, capture_id
from hwp_bench.io import atomic_write_json
from hwp_bench.paths import data_home, datasets_dir

log = logging.getLogger(__name__)

RELEASE_REPO = "XuanHuang0/WildGHand"
ENV_REPO = "HWP_RELEASE_REPO"
ENV_REVISION = "HWP_RELEASE_REVISION"
RECORD = "hwp_release.json"
REPORT = "conversion_report.json"
MAX_DEPTH = 6  # folder levels searched for capture folders
MAX_LISTINGS = 2000  # folder listings before the search gives up
DOWNLOAD_WORKERS = 8
_CAPTURE_DIR = re.compile(r"^capture(\d+)(?:_|$)")


class ReleaseError(RuntimeError):
    """The release could not be listed, downloaded or converted (the message says why)."""


@dataclass
class CaptureFolder:
    """One capture's folder in the release repo and the files under it (once listed)."""

    capture: str
    path: str
    files: dict[str, Any] = field(default_factory=dict)  # repo path -> RepoFile


@dataclass
class Listing:
    repo_id: str
    commit: str
    endpoint: str
    captures: dict[str, CaptureFolder]
    duplicates: list[str]
    top_level: list[str]
    listings: int

    @property
    def where(self) -> str:
        return f"{self.repo_id}@{self.commit[:12]} on {self.endpoint}"


@dataclass
class FetchResult:
    folder: Path
    repo_id: str
    commit: str
    fetched: list[str]  # captures downloaded and converted by this call
    present: list[str]  # captures that were already converted at this commit
    reports: list[Any]  # hwp_bench.data.upstream.CaptureReport of the fetched captures

    @property
    def revision(self) -> str:
        return f"{self.repo_id}@{self.commit}"


def release_repo() -> str:
    """The authors' dataset repo (``HWP_RELEASE_REPO`` overrides, e.g. for a mirror)."""
    return os.environ.get(ENV_REPO) or RELEASE_REPO


def hub_failure(exc: BaseException, endpoint: str) -> str:
    """One short, actionable reason for a Hub client error."""
    names = {c.__name__ for c in type(exc).__mro__}
    if "OfflineModeIsEnabled" in names:
        return "offline mode is on (HF_HUB_OFFLINE)"
    if "RepositoryNotFoundError" in names:
        return "repository not found (or private: log in with `hf auth login`)"
    if "RevisionNotFoundError" in names:
        return "revision not found"
    if "GatedRepoError" in names:
        return "gated repository: accept its terms on the Hub and log in"
    if "EntryNotFoundError" in names and "LocalEntryNotFoundError" not in names:
        return "file not found in the repo"
    network = {"ConnectError", "ConnectTimeout", "NetworkError", "TimeoutException"}
    if names & network or "LocalEntryNotFoundError" in names or isinstance(exc, ConnectionError):
        return f"no network: cannot reach {endpoint}"
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text[:300]


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _api(endpoint: str | None):
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint)


# ----------------------------------------------------------------------------- listing


def list_release(
    repo_id: str | None = None, *, revision: str | None = None, endpoint: str | None = None
) -> Listing:
    """The capture folders of the release at ``revision`` (found wherever they sit)."""
    from huggingface_hub import RepoFolder

    repo_id = repo_id or release_repo()
    api = _api(endpoint)
    at = f"{repo_id}@{revision or 'main'} on {api.endpoint}"
    if _offline():
        raise ReleaseError(f"cannot list {at}: offline mode is on (HF_HUB_OFFLINE)")
    try:
        commit = api.dataset_info(repo_id, revision=revision).sha
    except Exception as exc:  # noqa: BLE001 - every client error becomes one line
        raise ReleaseError(f"cannot list {at}: {hub_failure(exc, api.endpoint)}") from exc
    found: dict[str, list[str]] = {}
    top: list[str] = []
    queue, listings = [""], 0
    try:
        while queue and listings < MAX_LISTINGS:
            folder = queue.pop(0)
            depth = folder.count("/") + 1 if folder else 0
            entries = api.list_repo_tree(
                repo_id, path_in_repo=folder or None, revision=commit, repo_type="dataset"
            )
            listings += 1
            for e in sorted(entries, key=lambda e: e.path):
                if not folder:
                    top.append(e.path + ("/" if isinstance(e, RepoFolder) else ""))
                if not isinstance(e, RepoFolder):
                    continue
                m = _CAPTURE_DIR.match(e.path.rsplit("/", 1)[-1])
                if m and capture_id(int(m.group(1))) in CAPTURES:
                    found.setdefault(capture_id(int(m.group(1))), []).append(e.path)
                elif depth < MAX_DEPTH:
                    queue.append(e.path)
    except Exception as exc:  # noqa: BLE001
        raise ReleaseError(
            f"cannot list {repo_id}@{commit[:12]}: {hub_failure(exc, api.endpoint)}"
        ) from exc
    captures, duplicates = {}, []
    for cap, paths in found.items():
        paths = sorted(paths, key=lambda p: (p.count("/"), p))  # the shallowest wins
        captures[cap] = CaptureFolder(cap, paths[0])
        duplicates += [f"{p} (another {cap}; using {paths[0]})" for p in paths[1:]]
    captures = {c: captures[c] for c in CAPTURE_IDS if c in captures}
    return Listing(repo_id, commit, api.endpoint, captures, duplicates, top, listings)


def _list_capture(api: Any, listing: Listing, cap: CaptureFolder) -> None:
    from huggingface_hub import RepoFile

    try:
        entries = api.list_repo_tree(
            listing.repo_id,
            path_in_repo=cap.path,
            recursive=True,
            revision=listing.commit,
            repo_type="dataset",
        )
        cap.files = {e.path: e for e in entries if isinstance(e, RepoFile)}
    except Exception as exc:  # noqa: BLE001
        raise ReleaseError(
            f"cannot list {cap.path}/ in {listing.where}: {hub_failure(exc, listing.endpoint)}"
        ) from exc
    if f"{cap.path}/output.pkl" not in cap.files:
        raise ReleaseError(
            f"{cap.capture}: {cap.path}/ in {listing.where} has no output.pkl "
            f"({len(cap.files)} other files)"
        )


# ----------------------------------------------------------------------------- downloading


def _quiet_tqdm():
    from tqdm.auto import tqdm

    class Quiet(tqdm):  # per-file bars off: one bar per capture instead
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return Quiet


def _verify(path: Path, entry: Any) -> str | None:
    """None when ``path`` matches the Hub's size and hash for ``entry``, else the problem."""
    size = path.stat().st_size
    if entry.size is not None and size != entry.size:
        return f"{size} bytes, the Hub lists {entry.size}"
    lfs = getattr(entry, "lfs", None)
    want = lfs.get("sha256") if isinstance(lfs, dict) else getattr(lfs, "sha256", None)
    if want:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return None if h.hexdigest() == want else "SHA-256 differs from the Hub's"
    if entry.blob_id:
        h = hashlib.sha1(b"blob %d\0" % size)
        h.update(path.read_bytes())
        return None if h.hexdigest() == entry.blob_id else "git blob id differs from the Hub's"
    return None


def download_files(
    listing: Listing,
    entries: list[Any],
    raw_root: Path,
    *,
    desc: str,
    progress: bool = True,
    endpoint: str | None = None,
) -> None:
    """Download ``entries`` (RepoFiles of the release) into ``raw_root``, checked, resumable."""
    from huggingface_hub import hf_hub_download
    from tqdm.auto import tqdm

    quiet = _quiet_tqdm()
    total = sum(e.size or 0 for e in entries)

    def one(entry: Any) -> int:
        path = hf_hub_download(
            listing.repo_id,
            entry.path,
            repo_type="dataset",
            revision=listing.commit,
            local_dir=raw_root,
            endpoint=endpoint,
            tqdm_class=quiet,
        )
        problem = _verify(Path(path), entry)
        if problem:
            _forget(raw_root, entry.path)
            raise ReleaseError(f"{entry.path}: download corrupt ({problem}); removed")
        return entry.size or 0

    done = 0
    with tqdm(total=total, desc=desc, unit="B", unit_scale=True, disable=not progress) as bar:
        pool = ThreadPoolExecutor(max_workers=DOWNLOAD_WORKERS)
        futures = {pool.submit(one, e): e for e in entries}
        try:
            for fut in as_completed(futures):
                try:
                    bar.update(fut.result())
                except Exception as exc:
                    why = str(exc) if isinstance(exc, ReleaseError) else None
                    why = why or hub_failure(exc, listing.endpoint)
                    raise ReleaseError(
                        f"download of {futures[fut].path} from {listing.where} failed after "
                        f"{done} of {len(entries)} files ({why}). The files already downloaded "
                        f"are kept in {raw_root}: run the same command again to resume"
                    ) from exc
                done += 1
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _forget(raw_root: Path, repo_path: str) -> None:
    """Remove a downloaded file and huggingface_hub's record of it (it is fetched again)."""
    (raw_root / repo_path).unlink(missing_ok=True)
    meta = raw_root / ".cache" / "huggingface" / "download" / f"{repo_path}.metadata"
    meta.unlink(missing_ok=True)


def _needed_files(cap: CaptureFolder, pkl: Path) -> list[Any]:
    """The files ``output.pkl`` names (images and masks, by basename) among the capture's."""
    from hwp_bench.data.upstream import MAX_PKL_BYTES
    from hwp_bench.io import safe_load_pickle

    try:
        entries = safe_load_pickle(pkl, max_bytes=MAX_PKL_BYTES)
    except Exception as exc:  # noqa: BLE001 - the converter reports the capture as failed
        log.warning("%s: output.pkl unreadable (%s): no frames downloaded", cap.capture, exc)
        return []
    names: set[str] = set()
    for e in entries if isinstance(entries, list) else []:
        if isinstance(e, dict):
            for key in ("img_path", "mask_sam1_path"):
                v = e.get(key)
                v = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
                if isinstance(v, str) and v.replace("\\", "/").rsplit("/", 1)[-1]:
                    names.add(v.replace("\\", "/").rsplit("/", 1)[-1])
    return [f for p, f in sorted(cap.files.items()) if p.rsplit("/", 1)[-1] in names]


# ----------------------------------------------------------------------------- converting


def read_record(folder: Path) -> dict[str, Any]:
    """``hwp_release.json`` of a data folder ({} when absent or unreadable)."""
    try:
        rec = json.loads((Path(folder) / RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) else {}


def _merge_report(dest: Path, staging: Path, cap: str) -> None:
    new = json.loads((staging / REPORT).read_text())
    try:
        old = json.loads((dest / REPORT).read_text())
        kept = [c for c in old.get("captures", []) if c.get("capture") != cap]
    except (OSError, ValueError, AttributeError):
        kept = []
    merged = dict(new, destination=str(dest))
    order = {c: i for i, c in enumerate(CAPTURE_IDS)}
    merged["captures"] = sorted(
        kept + new["captures"], key=lambda c: order.get(c.get("capture"), 99)
    )
    atomic_write_json(dest / REPORT, merged)


def fetch_release(
    captures: list[str] | None = None,
    *,
    dest: str | os.PathLike | None = None,
    repo_id: str | None = None,
    revision: str | None = None,
    endpoint: str | None = None,
    size: int = 256,
    hand_model: Any = "auto",
    progress: bool = True,
    keep_raw: bool = False,
) -> FetchResult:
    """Download and convert ``captures`` (default: all 11) of the authors' release into ``dest``.

    ``dest`` defaults to the data home's ``hwp`` folder, where :func:`~hwp_bench.data.resolve`
    looks. Captures already converted there at the same commit are not fetched again.
    ``revision`` (or ``HWP_RELEASE_REVISION``) pins the upstream commit; without it the commit
    recorded in ``dest`` is reused, so a folder never mixes two upstream versions.
    ``hand_model`` and ``size`` go to :func:`~hwp_bench.data.upstream.convert_upstream`.
    """
    from hwp_bench.data.layout import copy_captures, read_captures
    from hwp_bench.data.upstream import convert_upstream

    repo_id = repo_id or release_repo()
    dest = Path(dest) if dest is not None else datasets_dir() / "hwp"
    wanted = list(captures or CAPTURE_IDS)
    unknown = [c for c in wanted if c not in CAPTURE_IDS]
    if unknown:
        raise ValueError(f"unknown capture(s) {unknown}: choose among {', '.join(CAPTURE_IDS)}")
    record = read_record(dest)
    have = read_captures(dest, strict=False) if dest.is_dir() else {}
    ours = (
        {c for c in record.get("captures", {}) if c in have}
        if record.get("repo") == repo_id
        else set()
    )
    pinned = revision or os.environ.get(ENV_REVISION)
    if pinned is None and ours and all(c in ours for c in wanted):
        commit = record["commit"]  # nothing to fetch: no network needed
        return FetchResult(dest, repo_id, commit, [], wanted, [])
    listing = list_release(
        repo_id, revision=pinned or (record.get("commit") if ours else None), endpoint=endpoint
    )
    if ours and record.get("commit") != listing.commit:
        raise ReleaseError(
            f"{dest} holds {', '.join(sorted(ours))} converted from {repo_id}@"
            f"{record['commit'][:12]}, not {listing.commit[:12]}: fetch at that revision, or "
            f"remove {dest} to start over at the new one"
        )
    if not listing.captures:
        raise ReleaseError(
            f"{listing.where} holds no capture folders (captureN_*/ with output.pkl) in "
            f"{listing.listings} folders searched; top level: "
            f"{', '.join(listing.top_level[:12]) or 'empty'}"
        )
    missing = [c for c in wanted if c not in listing.captures]
    if missing:
        have_up = ", ".join(f"{c} ({f.path})" for c, f in listing.captures.items())
        raise ReleaseError(f"{', '.join(missing)} not in {listing.where}; it has {have_up}")
    for d in listing.duplicates:
        log.warning("%s: %s", listing.where, d)

    api = _api(endpoint)
    raw_root = data_home() / "downloads" / repo_id.replace("/", "--")
    rev = f"{repo_id}@{listing.commit}"
    result = FetchResult(dest, repo_id, listing.commit, [], [], [])
    for cap in wanted:
        if cap in ours:
            result.present.append(cap)
            continue
        folder = listing.captures[cap]
        _list_capture(api, listing, folder)
        pkl_entry = folder.files[f"{folder.path}/output.pkl"]
        download_files(
            listing,
            [pkl_entry],
            raw_root,
            desc=f"{cap} output.pkl",
            progress=progress,
            endpoint=endpoint,
        )
        files = _needed_files(folder, raw_root / pkl_entry.path)
        download_files(
            listing, files, raw_root, desc=f"{cap} frames", progress=progress, endpoint=endpoint
        )
        for stale in dest.parent.glob(f".staging-{dest.name}-{cap}-*"):  # an interrupted run
            shutil.rmtree(stale, ignore_errors=True)
        staging = dest.parent / f".staging-{dest.name}-{cap}-{uuid.uuid4().hex[:8]}"
        try:
            report = convert_upstream(
                raw_root / folder.path,
                staging,
                size=size,
                captures=[cap],
                progress=progress,
                hand_model=hand_model,
            )
            cr = report.captures[0] if report.captures else None
            if cr is None or cr.error or not cr.converted:
                why = (cr.error if cr else None) or "no frame converted"
                raise ReleaseError(
                    f"{cap} ({folder.path}) from {listing.where} was downloaded but not "
                    f"converted: {why}. The raw files are kept in {raw_root / folder.path}"
                )
            for line in report.summary_lines(max_frames=10):
                (log.warning if (cr.skipped or cr.notes) else log.info)("%s", line)
            dest.mkdir(parents=True, exist_ok=True)
            present = set(read_captures(dest, strict=False)) | {cap}
            foreign = present - ours - {cap}
            copy_captures(staging, dest, [cap], revision=None if foreign else rev)
            _merge_report(dest, staging, cap)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        ours.add(cap)
        caps_rec = dict(record.get("captures", {}) if record.get("repo") == repo_id else {})
        caps_rec[cap] = {
            "folder": folder.path,
            "files": len(files) + 1,
            "bytes": sum(f.size or 0 for f in files) + (pkl_entry.size or 0),
            "converted": cr.converted,
            "skipped": cr.skipped,
        }
        record = {
            "repo": repo_id,
            "commit": listing.commit,
            "endpoint": listing.endpoint,
            "captures": caps_rec,
        }
        atomic_write_json(dest / RECORD, record)
        result.fetched.append(cap)
        result.reports.append(cr)
        if not keep_raw:
            shutil.rmtree(raw_root / folder.path, ignore_errors=True)
            shutil.rmtree(
                raw_root / ".cache" / "huggingface" / "download" / folder.path, ignore_errors=True
            )
    return result
