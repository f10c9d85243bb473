"""HWP-Synth captures: determinism, masks, clean test clip, perturbations, clean twin.

Tiny sizes (preset "tiny": 40 px) and 20 frames per capture keep this under a minute. Capture 8
(inter, webcam: HOI + complex poses + blur) and capture 2 (single, phone: illumination) cover
all four perturbation types.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from hwp_bench.data.layout import read_captures
from hwp_bench.data.loading import load_frames
from hwp_bench.data.tags import CAPTURES
from hwp_bench.synth import generate
from hwp_bench.synth.scene import CaptureScene
from hwp_bench.synth.spec import get_preset

N = 20
CAPS = ["capture02", "capture08"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    pert = generate(
        root / "pert", preset="tiny", seed=3, captures=CAPS, num_frames=N, progress=False
    )
    clean = generate(
        root / "clean",
        preset="tiny",
        seed=3,
        captures=CAPS,
        num_frames=N,
        clean=True,
        progress=False,
    )
    return pert, clean


def _all(folder, cap):
    out = []
    for split in ("train", "validation", "test"):
        out += load_frames(folder, cap, split)
    return sorted(out, key=lambda f: f.index)


def _hash_folder(folder, cap):
    h = hashlib.sha256()
    for p in sorted((folder / "data" / cap).glob("*.parquet")):
        h.update(p.read_bytes())
    return h.hexdigest()


def test_folder_layout_and_frames(folders):
    pert, _ = folders
    caps = read_captures(pert)
    assert sorted(caps) == CAPS
    frames = _all(pert, "capture08")
    assert [f.index for f in frames] == list(range(N))
    f = frames[0]
    assert f.image.shape == (40, 40, 3)
    assert set(f.hands) == {"right", "left"}
    assert set(f.annotations["exact_hands"]) == {"right", "left"}
    assert f.tags == ["hoi", "complex_pose", "blur"]
    # Methods get noisy parameters; the exact ones differ from them but not wildly.
    d = np.abs(f.hands["right"].pose - f.annotations["exact_hands"]["right"].pose)
    assert 0.005 < d.mean() < 0.3


def test_deterministic_bytes(folders, tmp_path):
    pert, _ = folders
    # Same seed, same bytes, also when captures are rendered by parallel worker processes.
    again = generate(
        tmp_path / "again", preset="tiny", seed=3, captures=CAPS, num_frames=N, progress=False,
        workers=2,
    )  # fmt: skip
    for cap in CAPS:
        assert _hash_folder(again, cap) == _hash_folder(pert, cap)
    other = generate(tmp_path / "other", preset="tiny", seed=4, captures=["capture02"], num_frames=N,
                     progress=False)  # fmt: skip
    assert _hash_folder(other, "capture02") != _hash_folder(pert, "capture02")


def test_test_clip_is_clean_and_novel(folders):
    pert, _ = folders
    for cap in CAPS:
        frames = _all(pert, cap)
        test = [f for f in frames if f.split == "test"]
        train = [f for f in frames if f.split == "train"]
        assert len(test) == 2
        for f in test:
            a = f.annotations
            assert a["clean"] is True
            assert a["occlusion_fraction"] == 0 and a["blur_length"] == 0
            assert a["illumination_gain"] == pytest.approx(1.0)
            assert not a.get("frame_tags")
            assert float(np.asarray(a["occluder_mask"]).max()) == 0.0
            assert all(v == 0 for v in a["strengths"].values())
            # Novel poses: some finger joint is far from its value in every training frame.
            for side, hp in a["exact_hands"].items():
                dist = [
                    np.abs(hp.pose[3:] - g.annotations["exact_hands"][side].pose[3:]).max()
                    for g in train
                ]
                assert min(dist) > 0.2


def test_tagged_perturbations_are_present(folders):
    pert, _ = folders
    frames = _all(pert, "capture08")
    s = {
        p: np.array([f.annotations["strengths"][p] for f in frames])
        for p in ("hoi", "complex_pose", "blur", "illumination")
    }
    assert s["illumination"].max() == 0  # not a tag of capture 8
    for p in ("hoi", "complex_pose", "blur"):
        assert s[p].max() > 0.3, p

    # Occluders: the recorded fraction is the share of the hand mask the occluder mask covers.
    occ_frames = [f for f in frames if f.annotations["occlusion_fraction"] > 0.05]
    assert occ_frames, "HOI frames must hide part of the hand"
    for f in occ_frames:
        m = f.mask.astype(np.float64)
        o = np.asarray(f.annotations["occluder_mask"], np.float64)
        covered = np.minimum(m, o).sum() / m.sum()
        assert covered == pytest.approx(f.annotations["occlusion_fraction"], abs=0.06)
        vis = np.asarray(f.annotations["visible_mask"], np.float64)
        assert vis.sum() < m.sum()

    blurred = [f for f in frames if f.annotations["blur_length"] > 0.5]
    assert blurred, "blur frames must have a real streak length"
    assert max(f.annotations["blur_length"] for f in frames) > 1.0


def test_motion_blur_lowers_gradient_energy_of_the_hand():
    import dataclasses

    preset = dataclasses.replace(get_preset("tiny"), size=64)
    sc = CaptureScene(CAPTURES["capture04"], preset, 1, num_frames=N)
    s = np.array([sc.strengths(float(i))["blur"] for i in range(N)])
    i = int(np.argmax(s))
    assert s[i] > 0.3
    blurred = sc.render_frame(i)
    sharp = sc.render_frame(i, exposure=False)
    assert blurred["blur_length"] > 1.0

    def energy(img, region):
        g = img.mean(-1)
        gx = np.diff(g, axis=1)[:-1]
        gy = np.diff(g, axis=0)[:, :-1]
        return ((gx**2 + gy**2)[region[:-1, :-1]]).mean()

    region = np.maximum(blurred["mask"], sharp["mask"]) > 0.05
    assert energy(blurred["linear"], region) < 0.9 * energy(sharp["linear"], region)


def test_complex_poses_depart_from_the_motif(folders):
    pert, clean = folders
    frames = _all(pert, "capture08")
    twins = _all(clean, "capture08")
    s = {"complex_pose": np.array([f.annotations["strengths"]["complex_pose"] for f in frames])}
    # Complex poses: the articulation departs from the clean twin's where the strength is high.
    hi = np.nonzero(s["complex_pose"] > 0.4)[0]
    for i in hi:
        a = frames[i].annotations["exact_hands"]["right"].pose
        b = twins[i].annotations["exact_hands"]["right"].pose
        assert np.abs(a - b).max() > 0.3


def test_illumination_changes_brightness_like_the_recorded_gain(folders):
    pert, clean = folders
    frames = _all(pert, "capture02")
    twins = _all(clean, "capture02")
    gains = np.array([f.annotations["illumination_gain"] for f in frames])
    assert np.abs(np.log(gains)).max() > 0.2
    for f, t, g in zip(frames, twins, gains, strict=True):
        if abs(np.log(g)) > 0.2:
            ratio = f.image.astype(np.float64).mean() / t.image.astype(np.float64).mean()
            assert np.sign(np.log(ratio)) == np.sign(np.log(g))


def test_clean_twin_matches_on_unperturbed_frames(folders):
    pert, clean = folders
    for cap in CAPS:
        frames = _all(pert, cap)
        twins = _all(clean, cap)
        same = [i for i, f in enumerate(frames) if f.annotations["clean"]]
        assert len(same) >= 2
        for i in same:
            np.testing.assert_array_equal(frames[i].image, twins[i].image)
            np.testing.assert_array_equal(frames[i].mask, twins[i].mask)
        # ... and really differs where a perturbation is strong.
        diff = [i for i, f in enumerate(frames) if max(f.annotations["strengths"].values()) > 0.5]
        assert diff
        assert any(np.abs(frames[i].image - twins[i].image).max() > 0.08 for i in diff)
        for f in twins:
            assert f.annotations["clean"] is True


def test_masks_agree_with_pixels():
    """Repainting the hands changes exactly the pixels the visible-hand mask covers."""
    sc = CaptureScene(CAPTURES["capture06"], get_preset("tiny"), 0, num_frames=N)
    i = 3
    base = sc.render_frame(i)
    for side in sc.sides:
        sc.textures[side] = np.zeros_like(sc.textures[side])
    black = sc.render_frame(i)
    changed = np.abs(base["linear"] - black["linear"]).max(-1) > 1e-12
    vis = base["visible"]
    assert vis.sum() > 20
    assert not changed[vis == 0].any()  # no hand coverage: pixel independent of the hand's paint
    assert changed[vis > 0].all()
    # The amodal mask contains the visible one; hands-only coverage is >= what shows.
    assert (base["mask"] + 1e-12 >= vis).all()


def test_ensure_synth_generates_once_and_names_the_folder(tmp_path, monkeypatch):
    from hwp_bench.synth import ensure_synth

    monkeypatch.setenv("HWP_HOME", str(tmp_path))
    path = ensure_synth(preset="tiny", seed=5, captures=["capture00"], progress=False)
    from hwp_bench.synth import GENERATOR_VERSION

    assert path == tmp_path / "datasets" / f"hwp-synth-tiny-s5-v{GENERATOR_VERSION}"
    import json

    assert json.loads((path / "hwp_dataset.json").read_text())["name"] == "hwp-synth-tiny-s5"
    assert read_captures(path) and "capture00" in read_captures(path)
    stamp = (path / "splits" / "capture00.json").stat().st_mtime_ns
    assert ensure_synth(preset="tiny", seed=5, captures=["capture00"], progress=False) == path
    assert (path / "splits" / "capture00.json").stat().st_mtime_ns == stamp  # not regenerated
    twin = ensure_synth(preset="tiny", seed=5, clean=True, captures=["capture00"], progress=False)
    assert twin.name == f"hwp-synth-tiny-s5-clean-v{GENERATOR_VERSION}"


def test_two_hands_do_not_interpenetrate():
    from hwp_bench.synth.scene import _segment_distance

    sc = CaptureScene(CAPTURES["capture06"], get_preset("tiny"), 0, num_frames=N)
    par = [0, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14]
    for states in sc.hand_states(np.arange(N, dtype=float)):
        segs = []
        for side in ("right", "left"):
            J = states[side].joints
            segs.append((J[[par[j] for j in range(1, 16)]], J[1:16]))
        d = _segment_distance(segs[0][0], segs[0][1], segs[1][0], segs[1][1])
        assert d >= 0.02  # two finger radii apart, bone to bone


def test_stale_or_foreign_folders(tmp_path):
    import json

    from hwp_bench.synth.generate import MARKER, ensure_synth

    root = generate(
        tmp_path / "s", preset="tiny", captures=["capture00"], num_frames=3, progress=False
    )
    marker = json.loads((root / MARKER).read_text())
    marker["generator_version"] = -1  # written by another version: regenerated, not reused
    (root / MARKER).write_text(json.dumps(marker))
    ensure_synth(preset="tiny", captures=["capture00"], root=root, progress=False)
    assert json.loads((root / MARKER).read_text())["generator_version"] != -1
    assert read_captures(root)["capture00"]["num_frames"] == get_preset("tiny").frames
    (root / MARKER).unlink()  # a folder from before version markers: regenerated too
    ensure_synth(preset="tiny", captures=["capture00"], root=root, progress=False)
    assert (root / MARKER).is_file()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        ensure_synth(preset="tiny", captures=["capture00"], root=foreign, progress=False)
    assert (foreign / "notes.txt").read_text() == "keep me"
