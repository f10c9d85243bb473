"""Crops keep image and intrinsics in step; MediaPipe on a rendered hand (the video extra)."""

from __future__ import annotations

import numpy as np
import pytest

from hwp_bench.video.masks import crop_image, crop_intrinsics, square_crop


def test_crop_image_and_intrinsics_agree():
    # A bright pixel at column 10, row 20 (centre 10.5, 20.5 in continuous coordinates),
    # cropped at (4, 12) with side 16 and resized to 32: it must land where K' projects it.
    img = np.zeros((40, 40, 3), np.uint8)
    img[20, 10] = 255
    crop = crop_image(img, 4.0, 12.0, 16.0, 32)[..., 0].astype(float)
    ys, xs = np.mgrid[0:32, 0:32]
    centroid = ((crop * (xs + 0.5)).sum() / crop.sum(), (crop * (ys + 0.5)).sum() / crop.sum())
    K = np.array([[100.0, 0, 20], [0, 100.0, 20], [0, 0, 1]])
    Kc = crop_intrinsics(K, 4.0, 12.0, 16.0, 32)
    X = np.linalg.solve(K, [10.5, 20.5, 1.0])  # the camera ray through the pixel's centre
    p = Kc @ X
    assert np.allclose(centroid, p[:2] / p[2], atol=0.05)
    assert np.allclose(centroid, (13.0, 17.0), atol=0.05)
    x0, y0, side = square_crop(np.array([[10.0, 10.0], [30.0, 20.0]]))
    assert (x0, y0, side) == (5.0, 0.0, 30.0)


def test_mediapipe_finds_hands_of_rendered_frames_with_the_right_sides():
    from hwp_bench.video.estimator import MediaPipeHands, mediapipe_available

    reason = mediapipe_available()
    if reason:
        pytest.skip(reason)
    import torch

    from hwp_bench.data.tags import capture_info
    from hwp_bench.synth.scene import CaptureScene
    from hwp_bench.synth.spec import get_preset
    from hwp_bench.video.landmarks import MP_TO_MODEL

    scene = CaptureScene(capture_info("capture04"), get_preset("quick"), 0)
    est = MediaPipeHands(mirrored=False)
    agree = disagree = 0
    try:  # frames in a row, as in a video
        for i in range(16):
            frame = scene.frame(i)
            dets = est.detect(np.asarray(frame.image, np.uint8))  # the generator's 8-bit frame
            truth = {}
            for side, hp in frame.annotations["exact_hands"].items():
                out = scene.model(
                    torch.as_tensor(hp.pose)[None].float(),
                    torch.as_tensor(hp.shape)[None].float(),
                    torch.as_tensor(hp.trans)[None].float(),
                    side=side,
                )
                J = out.joints[0].double().numpy()
                truth[side] = ((J @ frame.K.T.astype(float))[:, :2] / J[:, 2:3])[list(MP_TO_MODEL)]
            for d in dets:  # each hand found is on a true hand...
                err = {
                    s: np.median(np.linalg.norm(d.points - uv, axis=1)) for s, uv in truth.items()
                }
                side = min(err, key=err.get)
                assert err[side] < 12.0  # px on 128 px frames
                agree += d.side == side
                disagree += d.side != side
    finally:
        est.close()
    # ...and, read with the mirrored-label convention, mostly with that hand's side (single
    # labels do flip now and then: the importer votes over time).
    assert agree >= 16 and agree > 5 * disagree, (agree, disagree)
