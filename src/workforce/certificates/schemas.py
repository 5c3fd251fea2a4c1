"""Wire schema of the certificate, status-list, verification and catalog routes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from workforce.certificates.verify import CertificateSummary, Checks, Verdict
from workforce.structs import Input, Output

CertStatusName = Literal["valid", "revoked", "suspended", "expired"]
TypeCode = Annotated[
    str, msgspec.Meta(min_length=1, max_length=40, description="Certificate type code.")
]
LevelCode = Annotated[str, msgspec.Meta(min_length=1, max_length=20, description="Level code.")]


class CertificateCreate(Input):
    """Issue a certificate to a practitioner (prerequisites are checked against the registry)."""

    practitioner_id: uuid.UUID
    type: TypeCode
    level: LevelCode | None = None
    assessment_passed: bool = False
    """Whether the holder passed the assessment the type requires (the issuer vouches for it)."""
    assessment_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    """The issuer's reference of that assessment record."""


class StatusChange(Input):
    """A regulator's revocation, suspension or reinstatement."""

    action: Literal["revoke", "suspend", "reinstate"]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class VerifyRequest(Input):
    """A certificate token to verify."""

    token: Annotated[str, msgspec.Meta(max_length=200_000, description="The certificate vc+jwt.")]


class Holder(Output):
    """The holder as the issuer and those who may see the practitioner see it."""

    name: str
    id_number_masked: str


class PublicHolder(Output):
    """The holder as the public sees it: masked name and masked ID number."""

    name_masked: str
    id_number_masked: str


class IssuerRef(Output):
    """The issuing organisation."""

    id: str
    """The credential's issuer ID (``urn:workforce:org:<uuid>``)."""
    org_id: uuid.UUID
    name: str
    role: str


class QrLinks(Output):
    """QR codes that open the public verification page."""

    svg_url: str
    png_url: str


class IssuedCertificate(Output):
    """A certificate with its signed token (for the issuer and those who may see the holder)."""

    serial: str
    token: str
    """W3C VC 2.0 credential secured as a JWT (``typ`` ``vc+jwt``, EdDSA)."""
    status: CertStatusName
    type: str
    type_name: str
    level: str | None
    level_name: str | None
    valid_from: date
    valid_until: date | None
    """Last day of validity (inclusive); ``null``: no fixed term."""
    issued_at: datetime
    holder: Holder
    practitioner_id: uuid.UUID
    hours: float
    """Class hours counted toward the certificate (one decimal)."""
    issuer: IssuerRef
    verify_url: str
    qr: QrLinks


class PublicCertificate(Output):
    """A certificate and its current status, as anyone holding its serial may see it."""

    serial: str
    status: CertStatusName
    status_label: str
    """The status in Chinese (有效, 已撤销, 已暂停, 已过期)."""
    type: str
    type_name: str
    level: str | None
    level_name: str | None
    valid_from: date
    valid_until: date | None
    issued_at: datetime
    holder: PublicHolder
    hours: float
    issuer_name: str
    verify_url: str
    qr: QrLinks


class VerificationResult(Output):
    """The verdict on a token: signature, validity period, revocation and suspension."""

    verdict: Verdict
    valid: bool
    """True only for the ``valid`` verdict."""
    checks: Checks
    certificate: CertificateSummary | None
    """What the token says, present whenever its signature held (holder masked)."""
    kid: str | None
    checked_at: datetime


# --- catalog ----------------------------------------------------------------------------------


class PrerequisiteOut(Output, omit_defaults=True):
    """One prerequisite of a certificate type or level."""

    kind: str
    code: str
    """Reason code reported when it is unmet."""
    rule_family: str | None = None
    """``hours`` prerequisites met by a training rule family (regional figures: see /rules)."""
    categories: list[str] = []  # noqa: RUF012 - msgspec copies mutable defaults
    min_hours: float | None = None
    within_months: int | None = None
    type: str | None = None
    level: str | None = None
    accepted_levels: list[str] = []  # noqa: RUF012 - msgspec copies mutable defaults


class LevelOut(Output):
    """One level of a certificate type."""

    code: str
    name: str
    validity_months: int | None
    prerequisites: list[PrerequisiteOut]


class CertificateTypeOut(Output):
    """A certificate type in force."""

    code: str
    name: str
    issuers: list[str]
    """Roles that may issue it (a training base only within its accreditation scope)."""
    validity_months: int | None
    """``null``: no fixed term (a level may override it)."""
    levels: list[LevelOut]
    """Lowest first; empty for a type without levels."""
    prerequisites: list[PrerequisiteOut]
    """Apply to every level."""
    source_title: str | None
    source_note: str | None


class CertificateTypeList(Output):
    """The certificate types in force."""

    version: str
    effective_from: date
    items: list[CertificateTypeOut]
    next_cursor: str | None = None


class RequiredCertificateOut(Output):
    """A certificate a position accepts."""

    type: str
    min_level: str | None
    accepted_levels: list[str]
    """``min_level`` and every level above it; empty: any level."""


class PositionOut(Output):
    """A position in a childcare institution."""

    code: str
    name: str
    required_certificates: list[RequiredCertificateOut]
    """One valid certificate among these is required; empty: only the universal requirements."""
    universal_requirements: list[str]
    note: str | None
    source_title: str | None


class PositionList(Output):
    """The positions in force."""

    version: str
    effective_from: date
    universal_requirements: list[str]
    items: list[PositionOut]
    next_cursor: str | None = None
