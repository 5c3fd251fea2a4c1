"""Offline verification of a workforce certificate: signature, validity period and status.

Combines :func:`~workforce.certificates.credential.verify_vc_jwt` (W3C VC Data Model 2.0 secured
by VC-JOSE-COSE as ``vc+jwt``) with :func:`~workforce.certificates.status_list.check_status`
(W3C Bitstring Status List v1.0). Both the public verify route and ``workforce cert verify TOKEN
--jwks FILE --status FILE`` call :func:`verify_certificate_offline`; it never raises on hostile
input.

The verdict is decided in this order: ``invalid`` (bad or foreign token, not a certificate, or not
valid yet), ``revoked``, ``suspended``, ``expired``, ``status_unknown`` (a status list was not
supplied or could not be verified), else ``valid``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal

import msgspec

from workforce.certificates.credential import (
    CERTIFICATE_TYPE,
    EXPIRED,
    NOT_YET_VALID,
    has_type,
    issuer_id,
    verify_vc_jwt,
)
from workforce.certificates.status_list import REVOCATION, SUSPENSION, StatusResult, check_status

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

Verdict = Literal["valid", "invalid", "revoked", "suspended", "expired", "status_unknown"]

NOT_A_CERTIFICATE: Final = "not_a_certificate"
NOT_CHECKED: Final = "not_checked"
STATUS_NOT_SUPPLIED: Final = "status_not_supplied"
NO_STATUS_ENTRY: Final = "no_status_entry"
REVOKED: Final = "revoked"
SUSPENDED: Final = "suspended"


class Check(msgspec.Struct, frozen=True):
    """One check of a verification.

    Attributes:
        ok: ``True`` passed, ``False`` failed, ``None`` could not be decided.
        reason: A stable code saying why it failed or was not decided (``None`` when passed).
    """

    ok: bool | None
    reason: str | None = None


class Checks(msgspec.Struct, frozen=True, kw_only=True):
    """The four checks behind a verdict.

    Attributes:
        signature: Authenticity and structure (a ``vc+jwt`` by a key of the JWK Set).
        expiry: The validity period (``expired``, ``not_yet_valid``).
        revocation: The revocation bit.
        suspension: The suspension bit.
    """

    signature: Check
    expiry: Check
    revocation: Check
    suspension: Check


class CertificateSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What a verifier is shown of a certificate whose signature holds (holder masked)."""

    credential_id: str | None
    serial: str | None
    type: str | None
    type_name: str | None
    level: str | None
    level_name: str | None
    hours: str | None
    holder_masked_id: str | None
    holder_name: str | None
    issuer_id: str | None
    issuer_name: str | None
    valid_from: str | None
    valid_until: str | None


class CertificateVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of :func:`verify_certificate_offline`.

    Attributes:
        verdict: ``valid``, ``invalid``, ``revoked``, ``suspended``, ``expired`` or
            ``status_unknown``.
        checks: The individual checks.
        certificate: The summary, present whenever the signature held.
        kid: The signing key's ID, when readable.
    """

    verdict: Verdict
    checks: Checks
    certificate: CertificateSummary | None = None
    kid: str | None = None


def _text(mapping: object, key: str) -> str | None:
    if not isinstance(mapping, dict):
        return None
    value = mapping.get(key)
    return value if isinstance(value, str) else None


def _certificate_part(credential: Mapping[str, Any]) -> dict[str, Any] | None:
    subject = credential.get("credentialSubject")
    part = subject.get("certificate") if isinstance(subject, dict) else None
    return part if isinstance(part, dict) else None


def summarise(credential: Mapping[str, Any]) -> CertificateSummary:
    """Extract the displayable summary of a certificate credential (missing fields are None)."""
    subject = credential.get("credentialSubject")
    certificate = _certificate_part(credential)
    hours = certificate.get("hoursEarned") if certificate is not None else None
    return CertificateSummary(
        credential_id=_text(credential, "id"),
        serial=_text(certificate, "serial"),
        type=_text(certificate, "type"),
        type_name=_text(certificate, "typeName"),
        level=_text(certificate, "level"),
        level_name=_text(certificate, "levelName"),
        hours=hours if isinstance(hours, str) else None,
        holder_masked_id=_text(subject, "maskedIdNumber"),
        holder_name=_text(subject, "name"),
        issuer_id=issuer_id(credential),
        issuer_name=_text(credential.get("issuer"), "name"),
        valid_from=_text(credential, "validFrom"),
        valid_until=_text(credential, "validUntil"),
    )


def _status_check(results: list[StatusResult], purpose: str, failed_reason: str) -> Check:
    mine = [result for result in results if result.purpose == purpose]
    if not mine:
        return Check(ok=True, reason=NO_STATUS_ENTRY)
    if any(result.set is True for result in mine):
        return Check(ok=False, reason=failed_reason)
    undecided = [result for result in mine if result.set is None]
    if undecided:
        return Check(ok=None, reason=undecided[0].reason)
    return Check(ok=True)


def _status_checks(
    credential: Mapping[str, Any],
    status_list_tokens: Mapping[str, object] | None,
    jwks: object,
    now: datetime | None,
) -> tuple[Check, Check]:
    if status_list_tokens is None:
        unknown = Check(ok=None, reason=STATUS_NOT_SUPPLIED)
        return unknown, unknown
    results = check_status(
        credential.get("credentialStatus"),
        status_list_tokens,
        jwks,
        now,
        expected_issuer=issuer_id(credential),
    )
    return (
        _status_check(results, REVOCATION, REVOKED),
        _status_check(results, SUSPENSION, SUSPENDED),
    )


def _decide(checks: Checks) -> Verdict:
    if checks.signature.ok is not True or checks.expiry.reason == NOT_YET_VALID:
        return "invalid"
    if checks.revocation.ok is False:
        return "revoked"
    if checks.suspension.ok is False:
        return "suspended"
    if checks.expiry.ok is False:
        return "expired"
    if checks.revocation.ok is None or checks.suspension.ok is None:
        return "status_unknown"
    return "valid"


def _rejected(reason: str | None, kid: str | None) -> CertificateVerdict:
    skipped = Check(ok=None, reason=NOT_CHECKED)
    checks = Checks(
        signature=Check(ok=False, reason=reason),
        expiry=skipped,
        revocation=skipped,
        suspension=skipped,
    )
    return CertificateVerdict(verdict="invalid", checks=checks, kid=kid)


def verify_certificate_offline(
    token: object,
    jwks: object,
    status_list_tokens: Mapping[str, object] | None,
    now: datetime | None = None,
) -> CertificateVerdict:
    """Verify a certificate token with a JWK Set and, optionally, its status lists.

    Args:
        token: The certificate ``vc+jwt`` (anything else is ``invalid``/``malformed``).
        jwks: A parsed JWK Set document ``{"keys": [...]}``.
        status_list_tokens: Status-list ``vc+jwt`` tokens by URL; ``None`` skips the status
            checks (verdict at best ``status_unknown``).
        now: Verification time (aware); defaults to the current time.

    Returns:
        The verdict, its checks and, when the signature held, the certificate summary.
    """
    verification = verify_vc_jwt(token, jwks, now)
    credential = verification.credential
    if not verification.signature_ok or credential is None:
        return _rejected(verification.reason, verification.kid)
    if not has_type(credential, CERTIFICATE_TYPE) or _certificate_part(credential) is None:
        return _rejected(NOT_A_CERTIFICATE, verification.kid)
    expiry = (
        Check(ok=False, reason=verification.reason)
        if verification.reason in (EXPIRED, NOT_YET_VALID)
        else Check(ok=True)
    )
    revocation, suspension = _status_checks(credential, status_list_tokens, jwks, now)
    checks = Checks(
        signature=Check(ok=True), expiry=expiry, revocation=revocation, suspension=suspension
    )
    return CertificateVerdict(
        verdict=_decide(checks),
        checks=checks,
        certificate=summarise(credential),
        kid=verification.kid,
    )
