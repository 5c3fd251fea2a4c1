"""Wire schema of the hiring routes: admission checks, employments, staff, alerts, webhooks."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from workforce.practitioners.schemas import (
    IdNumberField,
    PositionCode,
)
from workforce.structs import Input, Output

Decision = Literal["admitted", "denied"]


class ReasonOut(Output):
    """One reason of a denial: a stable code and a detail for people."""

    code: str
    detail: str


class AdmissionCheckCreate(Input):
    """Check a candidate before hiring."""

    id_number: IdNumberField
    position: PositionCode


class AdmissionCheckResult(Output):
    """The decision of an admission check and its signed receipt.

    ``subject_salt`` opens the receipt's ``subject_commitment`` against the ID number checked:
    ``SHA-256("workforce/admission-subject/v1" || salt || ID number)``; the receipt alone does
    not reveal whom it is about.
    """

    check_id: uuid.UUID
    decision: Decision
    reasons: list[ReasonOut]
    position: str
    checked_at: datetime
    receipt: str
    """Compact JWS (EdDSA, ``typ`` ``admission-receipt+jwt``, ``kid`` in the JWKS)."""
    subject_salt: str
    """Base64url salt of the subject commitment (keep it with the receipt)."""
    notice: str | None = None
    """For a denial: the candidate may request a re-examination (复查)."""


class EmploymentCreate(Input):
    """Hire a candidate (only if an admission check passes at that moment)."""

    id_number: IdNumberField
    position: PositionCode
    started_on: date | None = None


class EmploymentEnd(Input):
    """Record a departure."""

    ended_on: date | None = None
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class Employment(Output):
    """An employment as its institution (or a regulator) sees it."""

    employment_id: uuid.UUID
    org_id: uuid.UUID
    practitioner_id: uuid.UUID
    name: str
    id_number_masked: str
    position: str
    started_on: date
    ended_on: date | None
    end_reason: str | None
    current: bool
    passes: bool
    """Whether the employee passed the last evaluation (hire, re-check or status change)."""
    failing_codes: list[str]
    admission_check_id: uuid.UUID
    created_at: datetime


class EmploymentCreated(Employment):
    """A hire, with the receipt of the admission check that allowed it."""

    receipt: str
    subject_salt: str


class StaffMember(Output):
    """One current employee in the staff list."""

    employment_id: uuid.UUID
    practitioner_id: uuid.UUID
    name: str
    id_number_masked: str
    position: str
    position_name: str
    started_on: date
    certificate_required: bool
    certificate_status: str
    """``valid``, ``not_required`` or a reason code (``no_valid_certificate``,
    ``certificate_revoked``, ``certificate_suspended``, ``certificate_expired``)."""
    compliance_status: Literal["met", "not_met", "no_rules"]
    """Yearly training for the current year so far."""
    unmet_rules: list[str]
    passes: bool
    """Whether the employee passed the last evaluation (hire, status change or re-check)."""
    failing_codes: list[str]


class StaffList(Output):
    """An institution's current staff and its certificate-holding rate (持证率)."""

    org_id: uuid.UUID
    year: int
    staff_count: int
    certificate_required_count: int
    """Current staff whose position requires a certificate (the rate's denominator)."""
    certificate_holding_count: int
    certificate_holding_rate: float | None
    """``holding / required`` rounded to 4 places; null when no position requires one."""
    items: list[StaffMember]
    next_cursor: str | None


class Alert(Output):
    """A change in a current employee's standing."""

    alert_id: uuid.UUID
    org_id: uuid.UUID
    employment_id: uuid.UUID
    practitioner_id: uuid.UUID
    name: str
    id_number_masked: str
    kind: str
    """``banned``, ``certificate_revoked``, ``certificate_suspended``, ``certificate_expired``,
    ``training_lapsed`` or ``recheck_failed``."""
    message: str
    """Simplified Chinese."""
    details: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class WebhookSet(Input):
    """Register (or replace) the institution's webhook."""

    url: Annotated[str, msgspec.Meta(min_length=8, max_length=500)]
    secret: (
        Annotated[str, msgspec.Meta(min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$")]
        | None
    ) = None


class Webhook(Output):
    """The institution's webhook (the secret is shown only when it is set)."""

    org_id: uuid.UUID
    url: str
    updated_at: datetime
    signature_header: str = "X-Workforce-Signature"
    """``sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``."""
    secret: str | None = None
    """Shown once, in the answer to the PUT that set it."""


class InstitutionAtRisk(Output):
    """An institution with current staff who do not pass."""

    org_id: uuid.UUID
    name: str
    region_code: str
    staff_count: int
    failing_count: int
    reasons: dict[str, int]
    """How many failing employees carry each reason code."""


class InstitutionsAtRisk(Output):
    """Institutions in the regulator's jurisdiction with staff who do not pass."""

    items: list[InstitutionAtRisk]
    next_cursor: str | None
    as_of: datetime
    """Status is as of each employment's last evaluation (hire, status change, re-check)."""
