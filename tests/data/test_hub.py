"""Publishing to the Hub and loading back from it, against a local fake Hub (no network)."""

from __future__ import annotations

import shutil

import pytest

import hwp_bench
from hwp_bench.data.hub import layout_files, push_dataset
from hwp_bench.data.layout import read_captures


@pytest.fixture
def online_hf(tmp_path, monkeypatch):
    """Network allowed (to 127.0.0.1 only: the fake Hub), caches and token under tmp_path."""
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HWP_HOME", str(tmp_path / "hwp_home"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf" / "datasets")
    return tmp_path


def test_push_uploads_exactly_the_layout(tiny_dataset, tmp_path, fake_hub, online_hf):
    from huggingface_hub import HfApi

    folder = tmp_path / "hwp"
    shutil.copytree(tiny_dataset, folder)
    api = HfApi(endpoint=fake_hub.url, token="hf_fake")
    # A stale shard from an earlier push with more shards, and a file we do not manage.
    api.create_repo("hwp-bench/hwp", repo_type="dataset")
    fake_hub.repos["hwp-bench/hwp"]["files"].update(
        {"data/capture04/train-00001-of-00002.parquet": b"old", ".gitattributes": b"*.parquet lfs"}
    )
    info = push_dataset(folder, "hwp-bench/hwp", api=api)
    assert info.oid and "hwp-bench/hwp" in info.commit_url
    files = fake_hub.repos["hwp-bench/hwp"]["files"]
    expected = layout_files(folder)
    assert len(expected) == 2 + 11 + 3 * 11
    assert sorted(files) == sorted([*expected, ".gitattributes"])
    for p in expected:
        assert files[p] == (folder / p).read_bytes(), p
    (commit,) = fake_hub.commits
    assert commit["deleted"] == ["data/capture04/train-00001-of-00002.parquet"]
    assert commit["header"]["summary"] == "hwp-bench: upload 11 captures"
    # the calls were the real huggingface_hub ones, in order
    routes = [r for _, r in fake_hub.requests]
    assert routes[0] == "/api/repos/create" and "/api/validate-yaml" in routes
    assert any(r.endswith("/preupload/main") for r in routes) and routes[-1].endswith(
        "/commit/main"
    )


def test_load_from_hub_downloads_only_needed_captures(
    tiny_dataset, fake_hub, online_hf, monkeypatch
):
    from huggingface_hub import HfApi

    push_dataset(tiny_dataset, "someone/hwp-copy", api=HfApi(endpoint=fake_hub.url, token="x"))
    monkeypatch.setenv("HWP_HUB_REPO", "someone/hwp-copy")
    monkeypatch.chdir(online_hf)
    ds = hwp_bench.load_dataset("hwp", "capture06", split="test", endpoint=fake_hub.url)
    assert ds.num_rows == 2 and ds[0]["capture"] == "capture06"
    folder = hwp_bench.data.resolve("hwp", captures=["capture06"], endpoint=fake_hub.url)
    assert list(read_captures(folder)) == ["capture06"]  # other captures were not downloaded
    fetched = [p for m, p in fake_hub.requests if m == "GET" and "/resolve/" in p]
    assert fetched and all("capture06" in p or "/data/" not in p for p in fetched)
