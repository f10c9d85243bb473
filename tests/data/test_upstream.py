"""The upstream converter on a fake upstream release built here with every upstream field."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
from PIL import Image

from hwp_bench.data import load_frames
from hwp_bench.data.layout import read_captures
from hwp_bench.data.upstream import convert_upstream, crop_intrinsics, crop_square, square_box

W, H = 320, 240
F = 5000.0 / 256.0 * max(W, H)  # upstream focal
DOT = (200, 100)  # pixel whose centre the 3D point projects to
Z = 10.0
POINT = np.array([(DOT[0] + 0.5 - W / 2) * Z / F, (DOT[1] + 0.5 - H / 2) * Z / F, Z])


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_PICKLE",))


def _entry(img_name, mask_name, box, rng, *, left=True):
    e = {
        "img_path": f"/home/author/WildGHand/capture4/imgs/{img_name}",
        "scaled_focal_length": F,
        "mask_sam1_path": f"/home/author/sam/{mask_name}",
        "bbox_inter": np.array(box, np.float32),
        "mask_bbox": np.array(box, np.float32),
        "root_rel": rng.normal(size=(1, 21, 3)).astype(np.float32),
    }
    for side in ("right", "left") if left else ("right",):
        e[f"mano_pose_{side}"] = rng.normal(size=(1, 48)).astype(np.float32)
        e[f"mano_shape_{side}"] = rng.normal(size=(1, 10)).astype(np.float32)
        e[f"verts3d_world_{side}"] = rng.normal(size=(1, 778, 3)).astype(np.float32)
        e[f"cam_aligned_{side}"] = np.array([[0.01, 0.02, 0.5]], np.float32)
        e[f"joints2d_world_{side}"] = rng.uniform(170, 250, size=(1, 21, 2)).astype(np.float32)
    return e


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    rng = np.random.default_rng(0)
    src = tmp_path_factory.mktemp("up") / "WildGHand"
    cap = src / "capture4_subsample3"
    (cap / "imgs").mkdir(parents=True)
    (cap / "masks").mkdir()
    img = np.zeros((H, W, 3), np.uint8)
    img[DOT[1] - 2 : DOT[1] + 3, DOT[0] - 2 : DOT[0] + 3] = 255  # 5x5 dot centred on DOT
    mask = np.zeros((H, W), np.uint8)
    mask[80:120, 190:230] = 255  # the middle quarter of the hand box
    entries = []
    # Frame numbers in names sort numerically (2 < 10), not as strings.
    for k, num in enumerate([10, 2, 7, 30, 21, 15, 40, 50, 60, 70]):
        name, mname = f"img_{num}.png", f"img_{num}_mask.png"
        Image.fromarray(img).save(cap / "imgs" / name)
        Image.fromarray(mask).save(cap / "masks" / mname)
        box = [170, 60, 250, 140] if k != 4 else [280, -20, 360, 100]  # one box leaves the image
        entries.append(_entry(name, mname, box, rng))
    # Problems the report must list. Frame order is by the first integer in the basename:
    # passwd (no integer) 0, img_2 1, img_7 2, img_10 3, img_15 4, img_21 5, img_30 6,
    # img_40 7, img_50 8, img_70 9.
    os.remove(cap / "masks" / "img_7_mask.png")  # index 2: mask missing -> converted, no mask
    os.remove(cap / "imgs" / "img_30.png")  # index 6: image missing -> skipped
    entries[5]["mano_pose_left"][0, 3] = np.nan  # img_15, index 4: left hand invalid
    entries[6]["img_path"] = "../../../etc/img_40.png"  # index 7: traversal, resolved by basename
    del entries[7]["bbox_inter"]  # img_50, index 8: box from joints
    entries[8]["img_path"] = "../../../etc/passwd"  # index 0: not a capture file -> skipped
    with open(cap / "output.pkl", "wb") as fh:
        pickle.dump(entries, fh)
    # A single-hand capture whose pickle tries to run code.
    evil = src / "capture0_subsample3_single"
    evil.mkdir()
    with open(evil / "output.pkl", "wb") as fh:
        pickle.dump([{"img_path": "x.png", "payload": _Evil()}], fh)
    (src / "notes").mkdir()
    dst = src.parent / "hwp"
    cwd = os.getcwd()
    os.chdir(src.parent)  # a successful exploit would touch ./PWNED_BY_PICKLE
    try:
        report = convert_upstream(src, dst, progress=False, hand_model=None)
    finally:
        os.chdir(cwd)
    return src, dst, report


def test_geometry_helpers():
    assert square_box(np.array([10, 20, 30, 60])) == (0, 20, 40)
    a = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(crop_square(a, -1, 1, 3), [[0, 4, 5], [0, 8, 9], [0, 0, 0]])
    K = np.array([[100.0, 0, 50], [0, 100, 40], [0, 0, 1]])
    np.testing.assert_allclose(
        crop_intrinsics(K, 10, 20, 40, 80), [[200, 0, 80], [0, 200, 40], [0, 0, 1]]
    )


def test_malicious_pickle_is_refused_and_reported(upstream):
    src, dst, report = upstream
    assert not (src.parent / "PWNED_BY_PICKLE").exists()
    evil = next(c for c in report.captures if c.capture == "capture00")
    assert evil.error and "refusing to unpickle global" in evil.error and evil.converted == 0
    assert "capture00" not in read_captures(dst)
    assert report.unrecognised == ["notes"]
    lines = "\n".join(report.summary_lines())
    assert "capture00 (capture0_subsample3_single): NOT CONVERTED" in lines


def test_per_frame_report_and_nothing_silently_dropped(upstream):
    _, dst, report = upstream
    cr = next(c for c in report.captures if c.capture == "capture04")
    assert (cr.entries, cr.converted, cr.skipped) == (10, 8, 2)
    assert any("cam_aligned as given" in n for n in cr.notes)
    issues = {f.index: f for f in cr.frames}
    assert sorted(issues) == [0, 2, 4, 6, 8]
    assert not issues[0].converted and issues[0].image == "passwd"
    assert issues[2].converted and "mask img_7_mask.png not found" in issues[2].problems[0]
    assert issues[4].converted and "left hand not converted" in issues[4].problems[0]
    assert "mano_pose_left has non-finite values" in issues[4].problems[0]
    assert not issues[6].converted and "img_30.png not found" in issues[6].problems[0]
    assert issues[8].converted and "box from 2D joints" in issues[8].problems[0]
    on_disk = json.loads((dst / "conversion_report.json").read_text())
    assert on_disk["captures"][1]["skipped"] == 2
    info = read_captures(dst)["capture04"]
    assert info["missing"] == [0, 6] and info["num_frames"] == 10
    # every entry is either converted or reported as skipped
    stored = sorted(i for s in ("train", "validation", "test") for i in info[s])
    assert sorted(stored + info["missing"]) == list(range(10))


def test_crops_are_256_and_K_follows_the_crop(upstream):
    _, dst, _ = upstream
    frames = load_frames(dst, "capture04", "train") + load_frames(dst, "capture04", "test")
    assert [f.index for f in frames] == [1, 2, 3, 4, 5, 7, 9]
    for f in frames:
        assert f.image.shape == (256, 256, 3) and f.hand_type == "inter"
        assert f.tags == ["hoi", "blur"]
        if f.index == 5:
            continue  # the box that leaves the image does not contain the dot
        # project the 3D point with the new K: it must land on the dot's intensity centroid
        uvw = f.K.astype(np.float64) @ POINT
        u, v = uvw[:2] / uvw[2]
        g = f.image.mean(axis=2).astype(np.float64)
        ys, xs = np.mgrid[0:256, 0:256]
        cu, cv = (g * (xs + 0.5)).sum() / g.sum(), (g * (ys + 0.5)).sum() / g.sum()
        assert abs(cu - u) < 0.3 and abs(cv - v) < 0.3, (f.index, cu, cv, u, v)
        assert f.K[0, 0] == pytest.approx(F * 256 / 80)
    by_idx = {f.index: f for f in frames}
    assert by_idx[2].mask is None
    m = by_idx[1].mask
    assert m is not None and m.shape == (256, 256) and set(np.unique(m)) == {0.0, 1.0}
    # mask rows/cols 80..120 / 190..230 in a crop at (170, 60) scaled 3.2 -> 64..192
    assert (
        m[65:191, 65:191].all()
        and not m[:63].any()
        and m.sum() == pytest.approx(128 * 128, rel=0.02)
    )
    assert sorted(by_idx[1].hands) == ["left", "right"] and list(by_idx[4].hands) == ["right"]
    np.testing.assert_allclose(by_idx[1].hands["right"].trans, [0.01, 0.02, 0.5], atol=1e-7)
    np.testing.assert_allclose(by_idx[1].annotations["hand_box"], [0, 0, 256, 256], atol=1e-4)
    # the box [280, -20, 360, 100] leaves the image: padded with black, not shifted
    im5 = by_idx[5].image
    assert np.all(im5[:, 128:] == 0) and np.all(im5[:32] == 0)


def test_converted_folder_loads_with_datasets_offline(upstream, offline_hf):
    import datasets

    _, dst, _ = upstream
    dd = datasets.load_dataset(str(dst), "inter", cache_dir=str(offline_hf / "c"))
    assert {k: v.num_rows for k, v in dd.items()} == {"train": 6, "validation": 1, "test": 1}


def test_convert_upstream_command(upstream, tmp_path):
    from typer.testing import CliRunner

    from hwp_bench.cli import app

    src, _, _ = upstream
    res = CliRunner().invoke(
        app,
        [
            "data",
            "convert-upstream",
            str(src),
            str(tmp_path / "out"),
            "--captures",
            "capture04",
            "--size",
            "64",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "capture04 (capture4_subsample3): 8/10 frames converted, 2 skipped" in res.output
    assert "capture04 frame 6 (img_30.png): SKIPPED: image img_30.png not found" in res.output
    assert load_frames(tmp_path / "out", "capture04", "test")[0].image.shape == (64, 64, 3)
    res = CliRunner().invoke(
        app, ["data", "convert-upstream", str(tmp_path / "nope"), str(tmp_path / "o2")]
    )
    assert res.exit_code == 2 and "does not exist" in res.output


def test_translations_recentred_on_the_wrist_from_verts(tmp_path):
    """cam_aligned uses another origin; verts3d_world pins the wrist position exactly.

    As in the authors' loader, camera-space vertices are ``verts3d_world + cam_aligned``.
    The open hand stands in for MANO (same interface; the fake upstream is built with it).
    """
    import torch

    from hwp_bench.hand import load_hand_model

    model = load_hand_model("open")
    rng = np.random.default_rng(1)
    cap = tmp_path / "up" / "capture2_subsample3_single"
    cap.mkdir(parents=True)
    entries, truth = [], []
    for i in range(10):
        Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(cap / f"{i}.png")
        pose = rng.normal(0, 0.3, 48).astype(np.float32)
        shape = rng.normal(0, 1, 10).astype(np.float32)
        wrist = np.array([0.02 * i, -0.01, 0.6])
        with torch.no_grad():
            v = (
                model(
                    torch.tensor(pose[None]),
                    torch.tensor(shape[None]),
                    torch.tensor(wrist[None]),
                    side="right",
                )
                .vertices[0]
                .numpy()
            )
        if i == 9:
            v = v + rng.normal(0, 0.01, v.shape)  # verts that do not match the parameters
        cam = wrist - [0.09, 0.005, 0.006]  # another origin
        entries.append(
            {
                "img_path": f"{i}.png",
                "mano_pose_right": pose[None],
                "mano_shape_right": shape[None],
                "cam_aligned_right": cam[None],
                "verts3d_world_right": (v - cam)[None],
                "bbox_inter": np.array([8, 8, 56, 56]),
                "scaled_focal_length": 1250.0,
            }
        )
        truth.append(wrist)
    with open(cap / "output.pkl", "wb") as fh:
        pickle.dump(entries, fh)
    report = convert_upstream(
        tmp_path / "up", tmp_path / "out", size=32, progress=False, hand_model=model
    )
    frames = [
        f
        for s in ("train", "validation", "test")
        for f in load_frames(tmp_path / "out", "capture02", s)
    ]
    assert len(frames) == 10
    for f in frames[:9]:
        np.testing.assert_allclose(f.hands["right"].trans, truth[f.index], atol=2e-5)
    issues = report.captures[0].frames
    assert all(any("mask_sam1_path missing" in p for p in f.problems) for f in issues)
    fit = [f.index for f in issues if any("fits the pose/shape only to" in p for p in f.problems)]
    assert fit == [9]
    assert report.captures[0].notes == []
