"""Masking of anything shaped like a citizen ID number in free text (logs, error messages)."""

from __future__ import annotations

import logging
import re

_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")


def redact(text: str) -> str:
    """Mask every ID-number-shaped run as the API does (first six, eight asterisks, last four)."""
    return _ID_LIKE.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks ID-number-shaped text in every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, masked, and drop the arguments."""
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_redaction() -> None:
    """Attach the redacting filter to the root handlers and the server's loggers."""
    redactor = RedactingFilter()
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error", "litestar", "workforce"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(redactor)
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(redactor)
