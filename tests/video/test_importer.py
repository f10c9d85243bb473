"""The whole import on small videos, with a scripted estimator instead of MediaPipe."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hwp_bench.video.errors import VideoError
from hwp_bench.video.importer import ImportOptions, default_intrinsics, import_videos
from hwp_bench.video.landmarks import Detection

from .conftest import SIZE, ScriptedEstimator, known_hands, make_video

pytest.importorskip("av", reason="PyAV (the dev and video extras) decodes the test videos")

FRAMES = 12
SEEN = [0, 1, 2, 3, 5, 6, 7, 8]  # frame 4: a one-frame gap; 9-11: the hand has left


@pytest.fixture(scope="module")
def scene(hand_model):
    K = default_intrinsics(SIZE, SIZE)
    J, uv, rel = known_hands(hand_model, FRAMES, K)
    script = {k: [Detection(uv[k], "right", 0.9, rel[k], "Left")] for k in SEEN}
    return K, J, uv, script


def _frames(root, capture="capture00"):
    from hwp_bench.data.loading import load_frames

    out = []
    for split in ("train", "validation", "test"):
        out += load_frames(root, capture, split)
    return sorted(out, key=lambda f: f.index)


@pytest.fixture(scope="module")
def imported(tmp_path_factory, scene):
    tmp = tmp_path_factory.mktemp("imp")
    video = make_video(tmp / "hand.mp4", FRAMES)
    result = import_videos(
        [video],
        tmp / "ds",
        options=ImportOptions(size=48, crop="frame", max_gap=2, tags=("blur",), mask_refine="none"),
        estimator_factory=lambda: ScriptedEstimator(scene[3]),
        progress=False,
    )
    return tmp / "ds", result


def test_every_frame_is_kept_and_the_missing_ones_reported(imported):
    root, result = imported
    frames = _frames(root)
    assert [f.index for f in frames] == list(range(FRAMES))
    assert all(f.num_frames == FRAMES and f.tags == ["blur"] for f in frames)
    status = [f.annotations["video"]["right"] for f in frames]
    assert status == ["detected"] * 4 + ["interpolated"] + ["detected"] * 4 + ["missing"] * 3
    assert all("right" in f.hands for f in frames[:9]) and not frames[9].hands
    report = json.loads((root / "hwp_video.json").read_text())
    cap = report["captures"]["capture00"]
    assert cap["frames_without_hands"] == [9, 10, 11]
    assert cap["test_frames_without_hands"] == [10, 11]  # test clip: frames 10 and 11
    assert "2 test-clip frames have no hand" in result.captures[0].summary()
    assert "unscored_frames" in result.captures[0].summary()
    assert cap["sides"]["right"]["detected"] == 8 and cap["sides"]["right"]["missing"] == 3
    assert cap["sides"]["right"]["interpolated_frames"] == [4]
    assert result.captures[0].hand_type == "single"
    manifest = json.loads((root / "hwp_dataset.json").read_text())
    assert manifest["revision"].startswith("hwp_bench.video v4 ")
    assert cap["masks"] == {"fitted": FRAMES}  # --mask-refine none: every mask the silhouette
    assert {f.annotations["video"]["mask"] for f in frames} == {"fitted"}
    assert report["estimator"] == "scripted" and report["options"]["max_gap"] == 2
    assert sorted(p.name for p in root.parent.iterdir() if p.name.startswith(".")) == []


def test_fitted_hands_land_on_the_landmarks_in_each_crop(imported, scene, hand_model):
    root, _ = imported
    K, J, uv, _ = scene
    for f in _frames(root)[:9]:
        hp = f.hands["right"]
        with torch.no_grad():
            Jf = (
                hand_model(
                    torch.as_tensor(hp.pose)[None],
                    torch.as_tensor(hp.shape)[None],
                    torch.as_tensor(hp.trans)[None],
                    side="right",
                )
                .joints[0]
                .double()
                .numpy()
            )
        # In the video's camera the fitted joints sit on the known hand's joints...
        e_video = np.linalg.norm(
            (Jf @ K.T)[:, :2] / Jf[:, 2:3] - (J[f.index] @ K.T)[:, :2] / J[f.index][:, 2:3], axis=1
        )
        assert np.median(e_video) < 1.5, (f.index, np.median(e_video))
        # ...and the crop's own K maps them to where the crop shows the hand: the crop is
        # a square around the hand, 1.5x its size, so the joints' box is centred in it.
        Kc = np.asarray(f.K, np.float64)
        p = (Jf @ Kc.T)[:, :2] / Jf[:, 2:3]
        centre = (p.min(0) + p.max(0)) / 2
        assert np.allclose(centre, [24, 24], atol=1.5), centre
        assert 0.55 < np.ptp(p, axis=0).max() / 48 < 0.72
        m = f.mask > 0.5
        ys, xs = np.nonzero(m)
        assert m.sum() > 100 and abs(xs.mean() - centre[0]) < 6 and abs(ys.mean() - centre[1]) < 6
    assert _frames(root)[10].mask.max() == 0.0


def test_no_hand_in_any_frame_is_a_clear_error_and_writes_nothing(tmp_path):
    video = make_video(tmp_path / "empty-scene.mp4", 6)
    with pytest.raises(VideoError, match="no hand found in any of its 6 frames"):
        import_videos(
            [video],
            tmp_path / "out",
            estimator_factory=lambda: ScriptedEstimator({}),
            progress=False,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty-scene.mp4"]


def test_a_crash_part_way_leaves_no_half_written_capture(tmp_path, scene):
    video = make_video(tmp_path / "v.mp4", FRAMES)
    (tmp_path / "ds").mkdir()  # an empty folder is fine to import into
    with pytest.raises(RuntimeError, match="crashed at frame 5"):
        import_videos(
            [video],
            tmp_path / "ds",
            estimator_factory=lambda: ScriptedEstimator(scene[3], fail_at=5),
            progress=False,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "v.mp4"]
    assert list((tmp_path / "ds").iterdir()) == []


def test_bad_inputs_are_refused_before_any_work(tmp_path, scene):
    video = make_video(tmp_path / "v.mp4", FRAMES)
    est = ScriptedEstimator(scene[3])
    with pytest.raises(VideoError, match="more than --max-frames 5"):
        import_videos(
            [video], tmp_path / "a", options=ImportOptions(max_frames=5),
            estimator_factory=lambda: est, progress=False,
        )  # fmt: skip
    junk = tmp_path / "junk.mov"
    junk.write_bytes(b"\x00" * 4096)
    with pytest.raises(VideoError, match="junk.mov: not a readable video"):
        import_videos([video, junk], tmp_path / "b", estimator_factory=lambda: est)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "keep.txt").write_text("mine")
    with pytest.raises(VideoError, match="already exists"):
        import_videos([video], tmp_path / "c", estimator_factory=lambda: est)
    with pytest.raises(VideoError, match="unknown tags"):
        import_videos([video], tmp_path / "d", options=ImportOptions(tags=("rain",)))
    assert est.calls == 0  # nothing was decoded or detected
    assert (tmp_path / "c" / "keep.txt").read_text() == "mine"


def test_cli_reports_bad_videos_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from hwp_bench.cli import app

    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    res = CliRunner().invoke(app, ["data", "import-video", str(junk), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "junk.mp4: not a readable video" in res.output
    assert "Traceback" not in res.output


def test_without_the_extra_the_cli_says_what_to_install(tmp_path):
    from hwp_bench.video.estimator import mediapipe_available

    if mediapipe_available() is None:
        pytest.skip("mediapipe is installed: the missing-extra message cannot be shown")
    from typer.testing import CliRunner

    from hwp_bench.cli import app

    video = make_video(tmp_path / "v.mp4", 3)
    res = CliRunner().invoke(app, ["data", "import-video", str(video), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "pip install 'hwp-bench[video]'" in res.output
    assert not (tmp_path / "o").exists()


def test_qualitative_figure_of_an_import(imported, tmp_path):
    from PIL import Image

    from hwp_bench.video.figure import qualitative_figure

    root, _ = imported
    out = qualitative_figure(root, [("capture00", 2), ("capture00", 10)], None, tmp_path / "f.png")
    with Image.open(out) as im:
        w, h = im.size
    assert w >= 500 and h >= 500  # two rows of two panels
