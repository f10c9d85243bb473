"""Bring your own video: any hand video becomes a capture in the HWP layout.

``hwp-bench data import-video VIDEO... --out DIR`` (the ``video`` extra) decodes each video,
finds both hands with MediaPipe's bundled landmarker, fits the hand model's pose, shape and
translation per frame, renders masks of the fitted hands and writes a dataset folder that
``hwp-bench run --dataset DIR`` trains and scores on (docs/video.md). Modules, one job each:

* :mod:`.decode` probe, stream and encode videos (PyAV);
* :mod:`.estimator` the landmark estimator (MediaPipe, imported only when used);
* :mod:`.detect` every frame's landmarks: forward tracking, then backward over the gaps;
* :mod:`.landmarks` landmark order and the mirrored handedness convention;
* :mod:`.tracks` detections to one track per hand side, gaps made explicit;
* :mod:`.prior` and :mod:`.fit` the anatomical pose prior and the fitter;
* :mod:`.calibrate` where the estimator's landmarks sit on the model (offsets, from HWP-Synth);
* :mod:`.masks` masks of the fitted hands, crops, optional SAM refinement;
* :mod:`.importer` the whole import, atomic, with its report;
* :mod:`.evaluate` fitted vs exact parameters on HWP-Synth (the measurements in docs/video.md);
* :mod:`.figure` the qualitative figure (frame, fitted overlay, avatar render).

Nothing here imports mediapipe, OpenCV or PyAV at import time.
"""

from hwp_bench.video.errors import MissingExtraError, VideoError

__all__ = ["MissingExtraError", "VideoError"]
