"""QR codes (ISO/IEC 18004, via segno) that open a certificate's public verification page."""

from __future__ import annotations

import functools
import io

import segno

_ERROR_LEVEL = "m"
"""Medium error correction (15 %): survives a worn or partly covered print."""


@functools.lru_cache(maxsize=1024)
def svg(url: str) -> bytes:
    """The QR code of ``url`` as a standalone SVG document (no external assets)."""
    buffer = io.BytesIO()
    segno.make(url, error=_ERROR_LEVEL, micro=False).save(
        buffer, kind="svg", scale=4, border=4, title="证书核验二维码"
    )
    return buffer.getvalue()


@functools.lru_cache(maxsize=1024)
def png(url: str) -> bytes:
    """The QR code of ``url`` as a PNG image (6 pixels a module, quiet zone of 4 modules)."""
    buffer = io.BytesIO()
    segno.make(url, error=_ERROR_LEVEL, micro=False).save(buffer, kind="png", scale=6, border=4)
    return buffer.getvalue()
