"""Errors of the video import, and the one place optional packages are imported.

Every failure a user can cause (an unreadable file, no hand in the video, a video far too
long, a missing extra) is a :class:`VideoError` whose message is one line that names the file
and says what to do; the CLI prints it without a traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRA_HINT = "pip install 'hwp-bench[video]'"


class VideoError(ValueError):
    """A video cannot be imported; the message says why and what to do."""


class MissingExtraError(VideoError, ImportError):
    """An optional package of the ``video`` extra is not installed."""


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra to install.

    Only called inside functions, so that importing :mod:`hwp_bench.video` never imports
    mediapipe, OpenCV or PyAV.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{module} is needed to {purpose} but is not installed: {EXTRA_HINT}"
        ) from exc
