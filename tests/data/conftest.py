"""Shared fixtures: a tiny dataset folder with every capture, written by the real writer."""

from __future__ import annotations

import pytest

from hwp_bench.data.tags import TABLE_II
from hwp_bench.data.toy import toy_frames


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """All 11 captures, 10 + capture-number frames each, 12x12 images."""
    from hwp_bench.data.layout import DatasetWriter

    root = tmp_path_factory.mktemp("tiny") / "hwp"
    w = DatasetWriter(root, name="tiny", description="test data")
    for info in TABLE_II:
        n = 10 + info.number
        w.write_capture(
            info.capture,
            toy_frames(info.capture, n, info.hand_type),
            num_frames=n,
            hand_type=info.hand_type,
            tags=info.perturbations,
        )
    return root


@pytest.fixture
def offline_hf(tmp_path, monkeypatch):
    """No network for datasets / huggingface_hub, caches under tmp_path.

    Both libraries read these variables once, at import; another test may have imported them
    already, so their module-level copies are patched too.
    """
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HWP_HOME", str(tmp_path / "hwp_home"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf" / "datasets")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    return tmp_path
