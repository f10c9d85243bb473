"""Controlled degradations of a prediction: the rows of the validity table.

Each takes a prediction as a method returns it (``color [H, W, 3]`` premultiplied on black,
``alpha [H, W]``, floats in [0, 1]) and returns a worse one, in a known direction and by a
known amount. Applied to the perfect avatar (:mod:`hwp_bench.synth.reference`), they tell
whether a protocol ranks what it should (docs/validity.md):

* ``blur<s>``: Gaussian blur of colour and alpha together (sigma ``s`` px; what an
  under-fitted avatar looks like). The image is premultiplied, so the hand blurs into black at
  its edge, as a blurry method's render does.
* ``gain+10`` / ``gain-10``: colour times 1.1 / 0.9 (a global colour error), clipped to 1.
* ``erode<r>``: the silhouette shrunk by ``r`` px (grey-level erosion of the alpha by a disk of
  radius ``r``; the colour follows the alpha). The gaming attempt: draw a smaller hand so that
  uncertain edge pixels are left out.
* ``dilate<r>``: the silhouette grown by ``r`` px, the edge colour extended outwards.
* ``flat``: the perfect silhouette in one flat colour, the alpha-weighted mean hand colour (no
  texture, no shading: the floor).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["DEGRADATIONS", "REFERENCE_ROWS", "degrade", "straight_color"]

Prediction = tuple[np.ndarray, np.ndarray]


def _disk(radius: int) -> np.ndarray:
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return (x * x + y * y) <= radius * radius


def straight_color(color: np.ndarray, alpha: np.ndarray, *, floor: float = 1e-6) -> np.ndarray:
    """The un-premultiplied colour ``color / alpha`` (zero where there is no hand)."""
    a = alpha[..., None]
    return np.where(a > floor, color / np.maximum(a, floor), 0.0)


def _blur(sigma: float) -> Callable[[np.ndarray, np.ndarray], Prediction]:
    def f(color, alpha):
        from scipy.ndimage import gaussian_filter

        c = np.stack([gaussian_filter(color[..., k], sigma, mode="constant") for k in range(3)], -1)
        return c, gaussian_filter(alpha, sigma, mode="constant")

    return f


def _gain(g: float) -> Callable[[np.ndarray, np.ndarray], Prediction]:
    def f(color, alpha):
        return np.clip(color * g, 0.0, 1.0), alpha

    return f


def _erode(radius: int) -> Callable[[np.ndarray, np.ndarray], Prediction]:
    def f(color, alpha):
        from scipy.ndimage import grey_erosion

        a = grey_erosion(alpha, footprint=_disk(radius), mode="constant", cval=0.0)
        return straight_color(color, alpha) * a[..., None], a

    return f


def _dilate(radius: int) -> Callable[[np.ndarray, np.ndarray], Prediction]:
    def f(color, alpha):
        from scipy.ndimage import distance_transform_edt, grey_dilation

        a = grey_dilation(alpha, footprint=_disk(radius), mode="constant", cval=0.0)
        inside = alpha >= 0.5
        if not inside.any():
            return color, alpha
        _, (iy, ix) = distance_transform_edt(~inside, return_indices=True)
        return straight_color(color, alpha)[iy, ix] * a[..., None], a

    return f


def _flat(color, alpha):
    total = float(alpha.sum())
    mean = color.reshape(-1, 3).sum(0) / max(total, 1e-12)
    return np.clip(mean, 0.0, 1.0)[None, None, :] * alpha[..., None], alpha


def _identity(color, alpha):
    return color, alpha


#: name -> function, in the order of the validity table's rows.
DEGRADATIONS: dict[str, Callable[[np.ndarray, np.ndarray], Prediction]] = {
    "perfect": _identity,
    "blur1": _blur(1.0),
    "blur2": _blur(2.0),
    "blur4": _blur(4.0),
    "gain+10": _gain(1.1),
    "gain-10": _gain(0.9),
    "erode1": _erode(1),
    "erode2": _erode(2),
    "dilate2": _dilate(2),
    "flat": _flat,
}

#: Human-readable row labels.
REFERENCE_ROWS = {
    "perfect": "perfect avatar",
    "blur1": "blur sigma 1 px",
    "blur2": "blur sigma 2 px",
    "blur4": "blur sigma 4 px",
    "gain+10": "colour gain +10%",
    "gain-10": "colour gain -10%",
    "erode1": "silhouette eroded 1 px",
    "erode2": "silhouette eroded 2 px",
    "dilate2": "silhouette dilated 2 px",
    "flat": "flat mean colour",
}


def degrade(name: str, color: np.ndarray, alpha: np.ndarray) -> Prediction:
    """``DEGRADATIONS[name]`` applied to a premultiplied prediction (float64 out)."""
    if name not in DEGRADATIONS:
        raise KeyError(f"unknown degradation {name!r}: choose one of {', '.join(DEGRADATIONS)}")
    c, a = DEGRADATIONS[name](np.asarray(color, np.float64), np.asarray(alpha, np.float64))
    return np.clip(c, 0.0, 1.0), np.clip(a, 0.0, 1.0)
