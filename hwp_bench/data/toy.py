"""Toy frames: tiny deterministic Frames with every optional field, for tests and examples.

Not a stand-in for HWP (that is HWP-Synth): random pixels and random hand parameters, just
enough to exercise writers, loaders and runners in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from hwp_bench.data.frame import Frame, HandParams


def toy_frames(
    capture: str, n: int, hand_type: str, *, size: int = 12, seed: int = 0
) -> Iterator[Frame]:
    """Deterministic frames with every optional field filled on odd indices."""
    rng = np.random.default_rng(seed + int(capture[-2:]))
    for i in range(n):
        hands = {"right": HandParams(rng.normal(size=48), rng.normal(size=10), [0.0, 0.0, 0.5])}
        if hand_type == "inter":
            hands["left"] = HandParams(rng.normal(size=48), rng.normal(size=10), [0.1, 0.0, 0.5])
        img = rng.integers(0, 256, size=(size, size, 3)).astype(np.uint8)
        ann = {}
        mask = None
        if i % 2:
            mask = (rng.random((size, size)) > 0.5).astype(np.float32)
            ann = {
                "occlusion_fraction": 0.25,
                "illumination_gain": 1.5,
                "blur_length": 3.0,
                "clean": False,
                "frame_tags": ["hoi", "blur"],
                "hand_box": [1.0, 2.0, 9.0, 10.0],
                "occluder_mask": (rng.random((size, size)) > 0.5).astype(np.float32),
                "visible_mask": mask,
                "exact_hands": {"right": HandParams(np.zeros(48), np.ones(10), [0, 0, 0.6])},
                "seed_note": {"k": [1, 2]},  # generator-specific extra -> JSON
            }
        yield Frame(
            image=img.astype(np.float32) / 255.0,
            capture=capture,
            index=i,
            num_frames=n,
            K=np.array([[20.0, 0, 6], [0, 20.0, 6], [0, 0, 1]]),
            hands=hands,
            mask=mask,
            hand_type=hand_type,
            annotations=ann,
        )
