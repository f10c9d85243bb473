"""HWP-Synth perturbations as declared units: the registry, and a new one added by a test.

The toy perturbation (a colour cast) is the example of docs/extending_perturbations.md, run
here exactly as written there: one class plus a registration. It must change the frames it is
scheduled on, exactly as its hook says, show up in the tags and strengths, and leave no trace
once unregistered (the original bytes come back).
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from hwp_bench.data import tags as data_tags
from hwp_bench.data.tags import capture_info
from hwp_bench.runner.sweep import SWEEP_PERTURBATIONS
from hwp_bench.synth import generate
from hwp_bench.synth import perturbations as perts
from hwp_bench.synth.perturbations import registry
from hwp_bench.synth.scene import CaptureScene
from hwp_bench.synth.spec import get_preset

N = 20
FRAME = 8  # the toy's schedule peaks here (strength exactly 1)
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "extending_perturbations.md"


def _guide_example() -> dict:
    """Run the guide's tested example (the colour cast) and return what it defines."""
    text = GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- tested-example -->\s*```python\n(.*?)```", text, re.S)
    assert len(blocks) == 1, f"{GUIDE.name} must hold one tested example"
    namespace: dict = {"__name__": "docs_example"}
    exec(compile(blocks[0], GUIDE.name, "exec"), namespace)  # noqa: S102
    return namespace


_EXAMPLE = _guide_example()
ColourCast = _EXAMPLE["ColourCast"]
CAST = _EXAMPLE["CAST"]  # linear RGB multipliers at full strength


def _frame_digest(frame) -> str:
    """SHA-256 of everything a frame stores (image, mask, parameters, annotations)."""
    return hashlib.sha256(pickle.dumps(frame, protocol=5)).hexdigest()


def _folder_digest(root) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


@pytest.fixture
def colour_cast():
    registry.register(ColourCast)
    try:
        yield ColourCast
    finally:
        registry.unregister(ColourCast.tag)


def test_builtins_are_the_paper_tags_in_table_ii_order():
    assert registry.builtin_tags() == ("hoi", "complex_pose", "illumination", "blur")
    assert data_tags.PERTURBATIONS == registry.builtin_tags()
    assert data_tags.PERTURBATION_NAMES["blur"] == "motion blur"
    assert perts.get("hoi").aliases == ("occlusion",)
    assert SWEEP_PERTURBATIONS["occlusion"] == "hoi"
    assert set(SWEEP_PERTURBATIONS) == {"hoi", "occlusion", "complex_pose", "illumination", "blur"}


def test_registration_errors(colour_cast):
    class Clash(perts.Perturbation):
        tag = "blur"

    class BadTag(perts.Perturbation):
        tag = "Colour Cast"

    with pytest.raises(ValueError, match="already registered"):
        registry.register(Clash)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(type("Again", (ColourCast,), {}))
    with pytest.raises(perts.PerturbationUnavailable, match="lower case"):
        registry.register(BadTag)
    with pytest.raises(KeyError, match="not registered"):
        registry.unregister("hoi")
    with pytest.raises(KeyError, match="unknown perturbation 'rain'"):
        perts.get("rain")


def test_plugin_through_the_environment_variable(tmp_path, monkeypatch):
    plugin = tmp_path / "my_cast.py"
    plugin.write_text(
        "from hwp_bench.synth.perturbations import Perturbation\n"
        "class Sepia(Perturbation):\n"
        "    tag = 'sepia'\n"
        "    title = 'sepia toning'\n"
    )
    monkeypatch.setenv(registry.ENV_VAR, f"{plugin}:Sepia")
    assert perts.tags()[-1] == "sepia" and perts.titles()["sepia"] == "sepia toning"
    assert data_tags.perturbation_tags()[:4] == data_tags.PERTURBATIONS
    assert "sepia" in data_tags.perturbation_tags() and "sepia" not in data_tags.PERTURBATIONS
    assert registry.local() == ()  # plugins reach worker processes: nothing forces one process
    monkeypatch.setenv(registry.ENV_VAR, f"wrong_tag={plugin}:Sepia")
    with pytest.raises(perts.PerturbationUnavailable, match="registered as 'wrong_tag'"):
        perts.registered()


def test_a_registered_perturbation_acts_on_frames_and_tags(colour_cast):
    base_info = capture_info("capture00")  # hoi + complex_pose, single hand, no blur
    preset = get_preset("tiny")
    info = dataclasses.replace(base_info, perturbations=(*base_info.perturbations, "colour_cast"))
    plain = CaptureScene(base_info, preset, 0, num_frames=N)
    cast = CaptureScene(info, preset, 0, num_frames=N)
    assert cast.tags[-1] == "colour_cast"
    # The built-ins draw exactly what they drew before: the new one has its own stream.
    for tag in data_tags.PERTURBATIONS:
        t = np.arange(N, dtype=float)
        np.testing.assert_array_equal(cast.schedules[tag](t), plain.schedules[tag](t))

    a = plain.render_frame(FRAME)
    b = cast.render_frame(FRAME)
    assert b["strengths"]["colour_cast"] == 1.0
    assert b["exposure"] == 0.0 and a["exposure"] == 0.0
    # Same geometry and masks; the image is the plain one times the cast, channel by channel.
    np.testing.assert_array_equal(b["mask"], a["mask"])
    assert a["linear"].mean() > 0.05
    np.testing.assert_allclose(b["linear"], a["linear"] * CAST, rtol=1e-12, atol=0)

    f = cast.frame(FRAME)
    assert f.tags == ["hoi", "complex_pose", "colour_cast"]
    assert "colour_cast" in f.annotations["frame_tags"]
    assert f.annotations["strengths"]["colour_cast"] == 1.0
    assert f.annotations["clean"] is False
    np.testing.assert_allclose(f.annotations["color_tint"], CAST, atol=1e-6)
    img_a = plain.frame(FRAME).image.astype(float).mean((0, 1))
    img_b = f.image.astype(float).mean((0, 1))
    assert abs(img_b[0] - img_a[0]) < 1.0  # red untouched (sensor grain is the same)
    assert img_b[2] < img_a[2] - 20  # blue clearly lower: the cast is visible in the 8-bit image
    # Strength follows the schedule: zero in the test clip, where the pixels are untouched.
    last = N - 1
    assert cast.strengths(float(last))["colour_cast"] == 0.0
    np.testing.assert_array_equal(cast.frame(last).image, plain.frame(last).image)
    # Registered tags are valid everywhere tags are read.
    assert "colour_cast" in data_tags.perturbation_tags()
    assert data_tags.query("all", perturbation="colour_cast") == []
    assert SWEEP_PERTURBATIONS["colour_cast"] == "colour_cast"


def test_removing_it_restores_the_original_bytes(tmp_path):
    info = capture_info("capture01")  # complex_pose + blur
    preset = get_preset("tiny")
    kw = dict(preset="tiny", seed=2, captures=["capture01", "capture02"], num_frames=6, name="s")
    before = _folder_digest(generate(tmp_path / "before", progress=False, **kw))
    frame_before = _frame_digest(CaptureScene(info, preset, 2, num_frames=N).frame(FRAME))

    registry.register(ColourCast)
    try:
        # In-process registrations do not reach worker processes: generation stays in-process
        # (a spawned worker would not know the tag, and this frame would lack its strength).
        root = generate(tmp_path / "with", progress=False, workers=2, **kw)
        during = _folder_digest(root)
        from hwp_bench.data.loading import load_frames

        fr = load_frames(root, "capture02", "train")[0]
        assert fr.annotations["strengths"]["colour_cast"] == 0.0  # registered, not tagged
        frame_during = _frame_digest(CaptureScene(info, preset, 2, num_frames=N).frame(FRAME))
    finally:
        registry.unregister(ColourCast.tag)
    assert during != before and frame_during != frame_before

    after = _folder_digest(generate(tmp_path / "after", progress=False, **kw))
    assert after == before
    assert _frame_digest(CaptureScene(info, preset, 2, num_frames=N).frame(FRAME)) == frame_before


def test_default_hooks_change_nothing_but_the_strength_record():
    class Nothing(perts.Perturbation):
        tag = "nothing"

    info = capture_info("capture05")  # two hands, hoi + blur
    preset = get_preset("tiny")
    tagged = dataclasses.replace(info, perturbations=(*info.perturbations, "nothing"))
    plain = CaptureScene(info, preset, 1, num_frames=N)
    registry.register(Nothing)
    try:
        idle = CaptureScene(tagged, preset, 1, num_frames=N)
    finally:
        registry.unregister("nothing")
    s = np.array([idle.strengths(float(i))["nothing"] for i in range(N)])
    blur = np.array([plain.strengths(float(i))["blur"] for i in range(N)])
    assert s.max() > 0.3  # scheduled by the default hook...
    i = int(np.argmax(blur))
    assert blur[i] > 0.3
    a, b = plain.render_frame(i), idle.render_frame(i)  # ... yet pixels stay the same
    np.testing.assert_array_equal(a["linear"], b["linear"])
    np.testing.assert_array_equal(plain.exposure_times(i), idle.exposure_times(i))


def test_a_registered_perturbation_can_be_swept(colour_cast, tmp_path):
    from hwp_bench.data.loading import load_frames
    from hwp_bench.runner.sweep import generate_level

    root = generate_level(
        tmp_path / "half", "capture00", "colour_cast", 0.5, preset="tiny", num_frames=N,
        progress=False,
    )  # fmt: skip
    frames = load_frames(root, "capture00", "train")
    f = frames[FRAME]
    assert f.tags == ["colour_cast"]
    assert f.annotations["strengths"] == {
        "hoi": 0.0, "complex_pose": 0.0, "illumination": 0.0, "blur": 0.0, "colour_cast": 0.5
    }  # fmt: skip
    np.testing.assert_allclose(f.annotations["color_tint"], [1.0, 0.9, 0.75], atol=1e-6)
    assert max(g.annotations["strengths"]["colour_cast"] for g in frames) == 0.5
