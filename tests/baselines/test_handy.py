"""handy: a textured posed mesh whose texture latent and decoder are fitted photometrically."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hwp_baselines.handy import Handy
from hwp_baselines.mesh_texture import rasterize_hands, sample_textures


def test_sample_textures_matches_a_direct_texel_lookup_and_has_gradients():
    tex = torch.rand(2, 3, 8, 8, requires_grad=True)
    # Texel centres: uv = (col + 0.5) / 8, (row + 0.5) / 8 -> exactly that texel.
    side = torch.tensor([0, 1, -1, 1])
    uv = torch.tensor([[0.5 / 8, 0.5 / 8], [7.5 / 8, 2.5 / 8], [0.3, 0.3], [3.5 / 8, 6.5 / 8]])
    out = sample_textures(tex, side, uv)
    expect = torch.stack([tex[0, :, 0, 0], tex[1, :, 2, 7], torch.zeros(3), tex[1, :, 6, 3]])
    torch.testing.assert_close(out, expect)
    out.sum().backward()
    assert tex.grad[0, :, 0, 0].eq(1).all() and tex.grad.sum() == 9


def test_uv_map_covers_the_hand_and_matches_the_reference_rasterizer(inter_frames):
    from hwp_baselines.mesh_texture import posed_vertices

    from hwp_bench.hand import load_hand_model
    from hwp_bench.synth.raster import rasterize_reference

    frame = inter_frames[0][0]
    model = load_hand_model("open")
    verts = posed_vertices(model, frame.hands)
    view = rasterize_hands(model, verts, frame.K, frame.height, frame.width)
    assert set(np.unique(view.side)) == {-1, 0, 1}
    # Coverage agrees with the slow ray-casting oracle on the concatenated meshes.
    V = np.concatenate([verts["right"], verts["left"]])
    F = np.concatenate([model.faces_for("right").numpy(),
                        model.faces_for("left").numpy() + len(verts["right"])])  # fmt: skip
    face_id, _, _ = rasterize_reference(V, F, np.asarray(frame.K, np.float64), frame.width,
                                        frame.height)  # fmt: skip
    assert np.mean((face_id >= 0) != view.covered) < 0.01
    # The synth mask is the true hand; the posed mesh uses noisy parameters: mostly overlapping.
    iou = (view.covered & (frame.mask > 0.5)).sum() / (view.covered | (frame.mask > 0.5)).sum()
    assert iou > 0.5
    n = view.normal[view.covered]
    np.testing.assert_allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-4)
    assert (view.uv[view.covered] >= 0).all() and (view.uv[view.covered] <= 1).all()


def test_short_fit_lowers_the_loss(inter_frames):
    train, _ = inter_frames
    m = Handy(config={"iterations": 25, "seed": 0})
    m.setup(train)
    idx = torch.arange(len(train))
    with torch.no_grad():
        before = float(m.photometric_loss(idx))
    for step in range(m.num_iterations):
        m.train_iteration(step)
    with torch.no_grad():
        after = float(m.photometric_loss(idx))
    assert after < 0.8 * before, (before, after)


@pytest.fixture(scope="module")
def fitted(inter_frames):
    m = Handy(config={"iterations": 5, "seed": 1})
    m.fit(inter_frames[0], progress=False)
    return m


def test_render_depends_only_on_pose_and_camera(fitted, inter_frames, other_pixels, repose):
    frame = inter_frames[1][0]
    a = fitted.render(frame.without_pixels())
    b = fitted.render(other_pixels(frame, 999).without_pixels())
    np.testing.assert_array_equal(a["color"], b["color"])
    np.testing.assert_array_equal(a["alpha"], b["alpha"])
    c = fitted.render(repose(frame))
    assert np.abs(c["alpha"] - a["alpha"]).sum() > 5
    assert a["color"].shape == (frame.height, frame.width, 3) and a["color"].dtype == np.float32


def test_save_load_renders_identically(fitted, inter_frames, tmp_path):
    fitted.save(tmp_path)
    again = Handy(config=fitted.config, checkpoint=tmp_path)
    frame = inter_frames[1][0].without_pixels()
    np.testing.assert_array_equal(fitted.render(frame)["color"], again.render(frame)["color"])


def test_handy_gan_is_refused_without_files_or_trust(tmp_path, monkeypatch):
    from hwp_baselines.handy_gan import handy_dir_problem, load_handy_generator

    assert "missing" in handy_dir_problem(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "hands_texture_model.pkl").write_bytes(b"not a pickle")
    (tmp_path / "stylegan3").mkdir()
    (tmp_path / "stylegan3" / "legacy.py").write_text("raise SystemExit('must not run')\n")
    assert handy_dir_problem(tmp_path) is None
    with pytest.raises(PermissionError, match="trust_handy_pickle"):
        load_handy_generator(tmp_path, trust=False)
    monkeypatch.setenv("HWP_HANDY_DIR", str(tmp_path))
    with pytest.raises(PermissionError):
        Handy(config={})


def test_train_poses_aligned_gives_handy_the_mask_aligner_start(tiny_synth, tmp_path, monkeypatch):
    """Handy takes WildGHand's train_poses option: its texture is fitted to the aligner's poses,
    which lie closer to the exact ones in the image than the estimates."""
    from hwp_bench.data import HandParams, load_frames
    from hwp_bench.tracks.errors import joint_errors

    monkeypatch.setenv("HWP_HOME", str(tmp_path))
    train = sorted(load_frames(str(tiny_synth), "capture00", "train"), key=lambda f: f.index)[:3]

    def fitted_poses(choice):
        m = Handy(config={"iterations": 1, "seed": 0, "train_poses": choice})
        m.setup(train)
        return {
            ("capture00", int(i)): {
                s: HandParams(*(x.detach().cpu().numpy().reshape(-1) for x in hp))
                for s, hp in hands.items()
            }
            for i, hands in m.refined_hands().items()
        }

    before = joint_errors(train, fitted_poses("estimated"))
    after = joint_errors(train, fitted_poses("aligned"))
    assert after["px"] < 0.5 * before["px"], (before, after)
    with pytest.raises(ValueError, match="train_poses must be estimated or aligned"):
        Handy(config={"iterations": 1, "train_poses": "exact"}).setup(train)
