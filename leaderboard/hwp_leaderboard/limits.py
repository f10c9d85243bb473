"""Size limits applied to every untrusted submission (upload, zip structure, PNG decoding).

The defaults fit the full HWP test clips (7 interacting captures of about 150 frames at 256 px,
roughly 100 MB of PNG) with a wide margin, while bounding what a hostile upload can cost: disk
(``max_upload_bytes``), memory and CPU during decompression (``max_total_uncompressed``,
``max_entry_uncompressed``, ``max_ratio``, ``max_files``) and during image decoding
(``max_image_pixels``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = 512 * 1024**2
    max_total_uncompressed: int = 2 * 1024**3
    max_entry_uncompressed: int = 64 * 1024**2
    max_files: int = 20_000
    # Deflated PNGs barely compress (ratio ~1); a ratio of 100 only happens for crafted data.
    max_ratio: float = 100.0
    # Entries smaller than this are exempt from the ratio test (a tiny JSON can compress 20x).
    ratio_min_bytes: int = 64 * 1024
    max_image_pixels: int = 4096 * 4096
    max_manifest_bytes: int = 64 * 1024

    def with_(self, **changes) -> Limits:  # noqa: ANN003
        """A copy with some limits changed (tests and the server's settings use this)."""
        return replace(self, **changes)

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT_LIMITS = Limits()
