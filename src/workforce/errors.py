"""Domain errors and their stable, machine-readable codes.

Services raise :class:`DomainError` subclasses; ``app.py`` maps them (and framework errors) to
RFC 9457 problem details with ``type = urn:workforce:<code>`` and ``reasons: [{code, detail}]``.
Messages never contain an ID number.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec


class Reason(msgspec.Struct, frozen=True):
    """One machine-readable reason of a refusal."""

    code: str
    detail: str


class DomainError(Exception):
    """An error a client can act on; carries its HTTP status and a stable code."""

    status = 400
    default_code = "bad_request"
    default_title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        title: str | None = None,
        reasons: Sequence[Reason] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.title = title or self.default_title
        self.reasons = list(reasons) or [Reason(self.code, detail)]
        self.headers = headers


class BadRequest(DomainError):
    """Malformed or contradictory input (400)."""


class Unauthorized(DomainError):
    """Missing or invalid credentials (401)."""

    status = 401
    default_code = "unauthorized"
    default_title = "Authentication required"


class Forbidden(DomainError):
    """The caller may not do this (403)."""

    status = 403
    default_code = "forbidden"
    default_title = "Forbidden"


class NotFound(DomainError):
    """Nothing the caller may see under this identifier (404)."""

    status = 404
    default_code = "not_found"
    default_title = "Not found"


class Conflict(DomainError):
    """The request contradicts the current state (409)."""

    status = 409
    default_code = "conflict"
    default_title = "Conflict"


class RuleRefused(DomainError):
    """Valid input refused by a domain rule (422), with one reason per unmet rule."""

    status = 422
    default_code = "rule_refused"
    default_title = "Refused by rule"


class Invalid(DomainError):
    """A field failed validation (422)."""

    status = 422
    default_code = "invalid"
    default_title = "Invalid input"


class PayloadTooLarge(DomainError):
    """The body or file is larger than allowed (413)."""

    status = 413
    default_code = "payload_too_large"
    default_title = "Payload too large"


class UnsupportedMediaType(DomainError):
    """The body is not of a media type the route accepts (415)."""

    status = 415
    default_code = "unsupported_media_type"
    default_title = "Unsupported media type"


# Stable codes used across modules (one place to read them all).
INVALID_ID_NUMBER = "invalid_id_number"
INVALID_USCC = "invalid_uscc"
INVALID_REGION = "invalid_region"
OUT_OF_JURISDICTION = "out_of_jurisdiction"
ROLE_NOT_ALLOWED = "role_not_allowed"
IDEMPOTENCY_MISMATCH = "idempotency_key_reused"
