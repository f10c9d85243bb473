"""Test-pose tracks: choosing the parameters, clear errors, and the once-per-dataset cache."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from hwp_bench.data import Frame, HandParams, load_frames
from hwp_bench.tracks import (
    TRACKS,
    TrackError,
    check_track,
    frames_for_track,
    hands_digest,
    track_hands,
)
from hwp_bench.tracks.align import AlignConfig
from hwp_bench.tracks.cache import aligned_frames, cache_key, cache_path


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HWP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def frames(tiny_synth):
    return sorted(load_frames(tiny_synth, "capture00", "test"), key=lambda f: f.index)


def _real_like(frame: Frame) -> Frame:
    """The frame as real data has it: no exact parameters."""
    ann = {k: v for k, v in frame.annotations.items() if k != "exact_hands"}
    return dataclasses.replace(frame, annotations=ann)


def test_estimated_is_the_dataset_and_exact_is_the_noise_free_parameters(frames):
    est = frames_for_track(frames, "estimated")
    exact = frames_for_track(frames, "exact")
    for f, e, x in zip(frames, est, exact, strict=True):
        assert e.hands == f.hands
        assert x.hands == f.annotations["exact_hands"]
        np.testing.assert_array_equal(x.image, f.image)  # pixels untouched
        assert not np.array_equal(x.hands["right"].pose, f.hands["right"].pose)
    assert hands_digest(est) != hands_digest(exact)
    assert hands_digest(est) == hands_digest(frames)


def test_unknown_track_and_exact_on_real_data_are_one_line_errors_naming_the_choices(frames):
    with pytest.raises(TrackError) as e:
        check_track("oracle")
    msg = str(e.value)
    assert "\n" not in msg and all(t in msg for t in TRACKS)
    with pytest.raises(TrackError) as e:
        frames_for_track([_real_like(f) for f in frames], "exact")
    msg = str(e.value)
    assert "\n" not in msg and "exact" in msg and "estimated" in msg and "aligned" in msg
    with pytest.raises(TrackError, match="hand masks"):
        frames_for_track([dataclasses.replace(frames[0], mask=None)], "aligned")


def test_aligned_poses_are_computed_once_cached_and_identical(frames, home):
    first = track_hands(frames, "aligned")
    key = cache_key(frames, AlignConfig())
    path = cache_path("capture00", key)
    assert path.is_file() and path.parent.parent == home / "cache"
    body = json.loads(path.read_text())
    assert body["schema"] == "hwp-bench-aligned-poses" and set(body["frames"]) == {"18", "19"}
    stamp = path.stat().st_mtime_ns
    again = track_hands(frames, "aligned")  # read back, not recomputed
    assert path.stat().st_mtime_ns == stamp
    for k, hands in first.items():
        for side, hp in hands.items():
            for field in ("pose", "shape", "trans"):
                np.testing.assert_array_equal(getattr(hp, field), getattr(again[k][side], field))
    # the aligned poses differ from the estimate (the mask moved them)
    assert not np.array_equal(first[("capture00", 18)]["right"].pose, frames[0].hands["right"].pose)


def test_a_changed_input_is_a_new_key_and_a_broken_cache_file_is_recomputed(frames, home):

    cfg = AlignConfig()
    k0 = cache_key(frames, cfg)
    moved = [dataclasses.replace(frames[0], mask=np.roll(frames[0].mask, 1, axis=1))] + frames[1:]
    assert cache_key(moved, cfg) != k0
    assert cache_key(frames, dataclasses.replace(cfg, prior_fingers=0.2)) != k0
    other = dict(frames[0].hands, right=HandParams(np.zeros(48), np.zeros(10), [0, 0, 5.0]))
    assert cache_key([dataclasses.replace(frames[0], hands=other)] + frames[1:], cfg) != k0

    good = aligned_frames(frames, config=cfg)
    path = cache_path("capture00", k0)
    path.write_text("{not json")
    again = aligned_frames(frames, config=cfg)
    assert json.loads(path.read_text())["key"] == k0
    np.testing.assert_array_equal(again[18].hands["right"].pose, good[18].hands["right"].pose)


def test_aligned_frames_refuses_mixed_captures(frames):
    other = dataclasses.replace(frames[0], capture="capture04")
    with pytest.raises(ValueError, match="one capture"):
        aligned_frames([frames[0], other])


def test_an_interrupted_alignment_resumes_from_the_frames_it_finished(frames, home):
    from hwp_bench.tracks.cache import partial_path

    cfg = AlignConfig()
    path = cache_path("capture00", cache_key(frames, cfg))

    class Interrupted(Exception):
        pass

    def stop_after_first(index):
        raise Interrupted(index)

    with pytest.raises(Interrupted):
        aligned_frames(frames, config=cfg, on_frame=stop_after_first)
    assert not path.exists()  # nothing that looks finished
    kept = json.loads(partial_path(path).read_text())
    assert set(kept["frames"]) == {"18"}

    aligned_again = []
    resumed = aligned_frames(frames, config=cfg, on_frame=aligned_again.append)
    assert aligned_again == [19]  # frame 18 came from the progress file
    assert path.is_file() and not partial_path(path).exists()
    fresh = aligned_frames(frames, config=cfg, use_cache=False)
    for i in (18, 19):
        np.testing.assert_array_equal(resumed[i].hands["right"].pose, fresh[i].hands["right"].pose)
        assert resumed[i].residual_px == fresh[i].residual_px
    # a progress file of other inputs (another key) is never used
    partial_path(path).write_text(json.dumps({**kept, "key": "0" * 64}))
    path.unlink()
    count = []
    aligned_frames(frames, config=cfg, on_frame=count.append)
    assert count == [18, 19]
