"""Video files: probing, streaming, bad files and videos that are too long (PyAV)."""

from __future__ import annotations

import numpy as np
import pytest

from hwp_bench.video.decode import VideoInfo, check_length, iter_frames, probe_video
from hwp_bench.video.errors import VideoError

from .conftest import index_of, make_video

pytest.importorskip("av", reason="PyAV (the dev and video extras) decodes videos")


def test_probe_and_stream_a_video(tmp_path):
    path = make_video(tmp_path / "v.mp4", 12)
    info = probe_video(path)
    assert (info.width, info.height, info.num_frames) == (64, 64, 12)
    assert info.fps == pytest.approx(25.0) and info.codec == "h264"
    frames = list(iter_frames(path))
    assert [index_of(f) for f in frames] == list(range(12))  # every frame, in order
    assert frames[0].shape == (64, 64, 3) and frames[0].dtype == np.uint8
    kept = list(iter_frames(path, every=5, size=(32, 32)))
    assert [index_of(f) for f in kept] == [0, 5, 10] and kept[0].shape == (32, 32, 3)
    assert info.working_size(32) == (32, 32) and info.working_size(None) == (64, 64)


def test_bad_files_get_one_clear_line(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(VideoError, match="not a readable video"):
        probe_video(junk)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="empty file"):
        probe_video(empty)
    with pytest.raises(VideoError, match="no such file"):
        probe_video(tmp_path / "missing.mp4")
    good = make_video(tmp_path / "good.mp4", 10).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good[: len(good) // 2])  # an interrupted copy: MP4's index is at the end
    with pytest.raises(VideoError) as err:
        probe_video(cut)
        list(iter_frames(cut))
    assert "cut.mp4" in str(err.value) and "\n" not in str(err.value)


def test_a_video_too_long_is_refused_before_decoding():
    info = VideoInfo("long.mp4", 1920, 1080, 30.0, 54_000, 1800.0, "h264", True)
    with pytest.raises(VideoError, match=r"54000 frames \(30.0 min.*--every 6"):
        check_length(info, max_frames=10_000)
    assert check_length(info, max_frames=10_000, every=6) == 9000
    assert info.working_size(1280) == (1280, 720)
