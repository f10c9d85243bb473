"""Dataset folders are not trusted blindly (issue 17, item 5): links out of the root are not
followed, rows must match the folder they are filed under, and ``data info`` checks the whole
folder and exits non-zero on each kind of damage."""

from __future__ import annotations

import os
import shutil

import pytest
from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.data import load_frames
from hwp_bench.data.layout import LayoutError, copy_captures, read_captures, validate_dataset

runner = CliRunner()


@pytest.fixture
def ds(tiny_dataset, tmp_path):
    root = tmp_path / "ds"
    copy_captures(tiny_dataset, root, ["capture00", "capture04", "capture05"])
    return root


def _shard(root, capture, split="test"):
    (name,) = [f for f in read_captures(root)[capture]["files"][split]]
    return root / name


def _info(root, *extra):
    return runner.invoke(app, ["data", "info", str(root), *extra])


def test_a_healthy_folder_checks_out(ds):
    res = _info(ds)
    assert res.exit_code == 0, res.output
    check = validate_dataset(ds)
    assert check.ok and check.captures == ["capture00", "capture04", "capture05"]
    assert check.rows == 10 + 14 + 15 and check.images >= check.rows
    assert f"healthy ({check.rows} rows, {check.images} images decoded)" in res.stdout


def test_a_link_out_of_the_dataset_is_not_followed(ds, tmp_path):
    # data/capture04 -> a copy of capture05 outside the dataset: its rows say capture05
    outside = tmp_path / "elsewhere"
    shutil.copytree(ds / "data" / "capture05", outside)
    shutil.rmtree(ds / "data" / "capture04")
    os.symlink(outside, ds / "data" / "capture04")
    with pytest.raises(LayoutError, match="leads outside the dataset folder"):
        read_captures(ds)
    with pytest.raises(LayoutError, match="leads outside"):
        load_frames(str(ds), "capture04", "test")
    res = _info(ds)
    assert res.exit_code == 2 and "leads outside" in res.output
    out = tmp_path / "runs"
    res = runner.invoke(
        app,
        ["run", "--method", "mean-color", "--split", "capture04", "--dataset", str(ds),
         "--out", str(out), "--executor", "inline", "--no-progress", "--metrics", "psnr"],
    )  # fmt: skip
    assert res.exit_code != 0 and "leads outside" in res.output
    assert not list(out.glob("*/results/*.json"))  # no result labelled capture04


def test_rows_of_another_capture_are_refused_even_inside_the_root(ds):
    shutil.rmtree(ds / "data" / "capture04")
    shutil.copytree(ds / "data" / "capture05", ds / "data" / "capture04")
    # file names agree (one shard per split), so only the rows can tell
    with pytest.raises(LayoutError, match="rows say capture 'capture05'"):
        load_frames(str(ds), "capture04", "test")
    res = _info(ds, "--quick")
    assert res.exit_code == 1
    assert "capture is 'capture05', expected 'capture04'" in res.stderr


def test_a_split_file_cannot_point_at_another_capture(ds):
    import json

    p = ds / "splits" / "capture04.json"
    info = json.loads(p.read_text())
    info["files"]["test"] = [str(_shard(ds, "capture05").relative_to(ds))]
    p.write_text(json.dumps(info))
    with pytest.raises(LayoutError, match="is not a shard of capture04"):
        read_captures(ds)
    p.write_text("{not json")
    with pytest.raises(LayoutError, match="not a readable split file"):
        read_captures(ds)


def _corrupt(path):
    b = bytearray(path.read_bytes())
    n = len(b)
    b[n // 2 : n // 2 + 64] = b"\xff" * 64
    path.write_bytes(bytes(b))


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _not_an_image(path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["image"] = {"bytes": b"GIF89a not a png at all", "path": None}
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)


def _bad_card(path):
    text = path.read_text()
    path.write_text("---\nconfigs: [unclosed\n  - {config_name: all\n---\n" + text)


def _bad_manifest(path):
    path.write_text('{"format": "hwp-bench-dataset", ')


DAMAGE = {
    "corrupt-parquet": (lambda ds: _corrupt(_shard(ds, "capture04")), "not a readable Parquet"),
    "truncated-parquet": (lambda ds: _truncate(_shard(ds, "capture04")), "not a readable Parquet"),
    "non-image-bytes": (lambda ds: _not_an_image(_shard(ds, "capture05")), "not PNG bytes"),
    "malformed-card": (lambda ds: _bad_card(ds / "README.md"), "malformed YAML header"),
    "malformed-manifest": (lambda ds: _bad_manifest(ds / "hwp_dataset.json"), "unreadable"),
}


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_data_info_finds_each_kind_of_damage(ds, name):
    damage, fragment = DAMAGE[name]
    damage(ds)
    res = _info(ds)
    assert res.exit_code == 1, res.output
    assert "BROKEN" in res.stderr and fragment in res.stderr, res.stderr
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.output


def test_quick_mode_skips_pixels_but_not_structure(ds):
    _not_an_image(_shard(ds, "capture05"))
    assert _info(ds, "--quick").exit_code == 0  # pixels are not read in quick mode
    _truncate(_shard(ds, "capture04"))
    assert _info(ds, "--quick").exit_code == 1
