"""uhm: unavailable without the official assets (with the reason, and so in tables); exporter."""

from __future__ import annotations

import json

import numpy as np
from hwp_baselines.uhm import CUSTOM_FROM_HWP, UHM, export_custom


def test_unavailable_without_assets_and_listed_with_the_reason(monkeypatch, tmp_path):
    from hwp_bench.methods.registry import list_methods

    monkeypatch.delenv("HWP_UHM_DIR", raising=False)
    reason = UHM.check_requirements()
    assert reason and "HWP_UHM_DIR" in reason
    spec = {s.id: s for s in list_methods()}["uhm"]
    assert not spec.available and "HWP_UHM_DIR" in spec.reason
    monkeypatch.setenv("HWP_UHM_DIR", str(tmp_path))
    assert "ckpt.pth" in UHM.check_requirements()
    assert UHM.method_info().hand_types == ("single",)
    assert UHM.method_info().implementation_status == "wrapper"


def test_export_custom_layout(inter_frames, tmp_path):
    frames = inter_frames[0][:3]
    subj = export_custom(frames, tmp_path, "s1")
    lines = (subj / "frame_list_train.txt").read_text().split()
    assert lines[:2] == ["0", str(frames[0].index)]
    seq = subj / "0"
    for f in frames:
        assert (seq / "frames" / f"{f.index}.png").is_file()
        assert (seq / "masks" / f"{f.index}.png").is_file()
        kp = np.array(json.loads((seq / "keypoints" / f"{f.index}.json").read_text()))
        assert kp.shape == (21, 2)
        # The wrist keypoint is the projected wrist (the hand's translation).
        t = f.hands["right"].trans
        K = f.K
        np.testing.assert_allclose(kp[0], [K[0, 0] * t[0] / t[2] + K[0, 2],
                                           K[1, 1] * t[1] / t[2] + K[1, 2]], atol=1e-3)  # fmt: skip
        p = json.loads((seq / "mano_params" / "params" / f"{f.index}.json").read_text())
        assert len(p["root_pose"]) == 3 and len(p["hand_pose"]) == 45
    cam = json.loads((seq / "cam_param.json").read_text())
    assert cam["focal"][0] == frames[0].K[0, 0]
    assert sorted(CUSTOM_FROM_HWP) == list(range(21))
