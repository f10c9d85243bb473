"""``hwp-bench data export | info | push`` (convert-upstream is tested in test_upstream.py)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.data.layout import read_captures

runner = CliRunner()


def test_info_without_folder_prints_table_ii():
    res = runner.invoke(app, ["data", "info"])
    assert res.exit_code == 0, res.output
    assert "capture04" in res.output and "1662" in res.output and "1329" in res.output
    assert "blur: capture04, capture05, capture08, capture09, capture10" in res.output


def test_info_on_a_folder(tiny_dataset):
    res = runner.invoke(app, ["data", "info", str(tiny_dataset)])
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if ln.startswith("capture10"))
    assert line.split()[:2] == ["capture10", "inter"] and "16  " in line  # 20 frames: 16/2/2
    total = next(ln for ln in res.output.splitlines() if ln.startswith("total"))
    assert total.split()[1:5] == ["165", "128", "16", "21"]


def test_export_copies_a_config_and_loads_offline(tiny_dataset, tmp_path, offline_hf):
    import datasets

    dest = tmp_path / "out" / "hwp"
    res = runner.invoke(
        app, ["data", "export", str(dest), "--source", str(tiny_dataset), "-c", "inter"]
    )
    assert res.exit_code == 0, res.output
    assert list(read_captures(dest)) == [f"capture{i:02d}" for i in range(4, 11)]
    dd = datasets.load_dataset(str(dest), "inter", cache_dir=str(offline_hf / "c"))
    assert dd["train"].num_rows == sum((8 * n) // 10 for n in range(14, 21))
    with pytest.raises(ValueError):  # the card only declares what the folder has
        datasets.load_dataset(str(dest), "single", cache_dir=str(offline_hf / "c"))
    # errors a user can act on: exit code 2 and one message
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    res = runner.invoke(app, ["data", "export", str(tmp_path / "junk"), "-s", str(tiny_dataset)])
    assert res.exit_code == 2 and "not empty" in res.output
    res = runner.invoke(
        app, ["data", "export", str(tmp_path / "x"), "-s", str(tiny_dataset), "-c", "foo"]
    )
    assert res.exit_code == 2 and "unknown config 'foo'" in res.output
    res = runner.invoke(app, ["data", "export", str(tmp_path / "y")])  # hwp, offline, nothing local
    assert res.exit_code == 2 and "synth" in res.output


def test_push_command_against_fake_hub(tiny_dataset, fake_hub, tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    args = ["data", "push", str(tiny_dataset), "me/hwp", "--endpoint", fake_hub.url, "--token", "t"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "pushed" in res.output and len(fake_hub.repos["me/hwp"]["files"]) == 46
    res = runner.invoke(app, ["data", "push", str(tmp_path), "me/hwp", "--endpoint", fake_hub.url])
    assert res.exit_code == 2 and "holds no hwp-bench dataset" in res.output


def _captures(output: str) -> list[str]:
    return [ln.split()[0] for ln in output.splitlines() if re.match(r"capture\d\d ", ln)]


def test_info_queries_by_config_and_perturbation(tiny_dataset):
    res = runner.invoke(app, ["data", "info", "-c", "inter", "-p", "illumination"])
    assert res.exit_code == 0, res.output
    assert _captures(res.output) == ["capture07"]
    res = runner.invoke(app, ["data", "info", str(tiny_dataset), "-c", "inter", "-p", "blur"])
    assert _captures(res.output) == [
        "capture04",
        "capture05",
        "capture08",
        "capture09",
        "capture10",
    ]
    res = runner.invoke(app, ["data", "info", "-p", "rain"])
    assert res.exit_code == 2 and "unknown perturbation" in res.output
