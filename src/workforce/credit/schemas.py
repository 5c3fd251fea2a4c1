"""Wire schema of the credit, inspection and export routes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from workforce.credit.grading import ExplanationItem
from workforce.structs import Input, Output

TypeCode = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z][a-z0-9_]{0,39}$",
        description="Event type code (GET /api/v1/credit/event-types lists those in force).",
    ),
]
SeverityIn = Literal["minor", "serious", "grave"] | Annotated[int, msgspec.Meta(ge=1, le=3)]
SeverityName = Literal["minor", "serious", "grave"]
Polarity = Literal["positive", "negative"]
SubjectType = Literal["practitioner", "institution"]
EventStatus = Literal["recorded", "contested", "upheld", "overturned", "withdrawn", "corrected"]
Grade = Literal["A", "B", "C", "D"]
Note = Annotated[str, msgspec.Meta(min_length=2, max_length=500)]
EvidenceRef = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=200,
        description=(
            "Reference of the decision or evidence (e.g. 文书号); "
            "stored only as a salted commitment."
        ),
    ),
]
RegionCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$")]
Period = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{4}(-(Q[1-4]|H[12]|0[1-9]|1[0-2]))?$",
        description=(
            "Inspection period: a year (2026), half (2026-H2), quarter (2026-Q3) "
            "or month (2026-07)."
        ),
    ),
]
InspectorCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]


# --- events ---------------------------------------------------------------------------------


class CreditEventCreate(Input, kw_only=True):
    """Record a credit event about exactly one practitioner or institution."""

    practitioner_id: uuid.UUID | None = None
    institution_id: uuid.UUID | None = None
    type: TypeCode
    polarity: Polarity | None = None
    """Optional; when given it must match the type's polarity."""
    severity: SeverityIn | None = None
    """1-3 or minor/serious/grave; default: the type's default severity."""
    occurred_on: date
    evidence_ref: EvidenceRef | None = None
    corrects_event_id: uuid.UUID | None = None
    """An earlier event of the same subject that this one corrects (it stops counting)."""


class AppealCreate(Input):
    """An institution's request for review (复查) of an event."""

    grounds: Note


class AppealDecisionCreate(Input):
    """A regulator's decision on a pending appeal."""

    outcome: Literal["upheld", "overturned"]
    reason: Note


class WithdrawalCreate(Input):
    """A regulator withdraws an event recorded in error (it stops counting)."""

    reason: Note


class EvidenceCheck(Input):
    """Check a reference against an event's evidence commitment."""

    evidence_ref: EvidenceRef


class EvidenceCheckResult(Output):
    """Whether the reference opens the commitment (False also when the salt was erased)."""

    event_id: uuid.UUID
    matches: bool


class EventStep(Output):
    """One recorded step of an event."""

    step: Literal["appeal", "decision", "withdrawal"]
    outcome: Literal["upheld", "overturned"] | None
    org_id: uuid.UUID
    note: str | None
    at: datetime


class CreditEvent(Output):
    """A credit event and where it stands."""

    event_id: uuid.UUID
    subject_type: SubjectType
    practitioner_id: uuid.UUID | None
    institution_id: uuid.UUID | None
    region_code: str
    type: str
    type_name: str
    polarity: Polarity
    severity: SeverityName
    severity_level: int
    occurred_on: date
    recorded_at: datetime
    recorded_by: uuid.UUID
    status: EventStatus
    counts: bool
    """Whether the event counts toward a grade (a contested event counts until decided)."""
    evidence_commitment: str | None
    """Hex HMAC-SHA256 commitment to the evidence reference (never the reference)."""
    corrects_event_id: uuid.UUID | None
    corrected_by_event_id: uuid.UUID | None
    steps: list[EventStep]


# --- grades ---------------------------------------------------------------------------------


class GradeOut(Output):
    """A grade, its consequences and its explanation."""

    grade: Grade
    label: str
    joint_punishment: bool
    """True for D (失信): joint punishment applies (e.g. refusal of hiring)."""
    joint_incentive: bool
    """True for A (守信): joint incentives apply."""
    score: int
    points: int
    positive_points: int
    positive_points_uncapped: int
    negative_points: int
    base_score: int
    decided_by: Literal["score", "ceiling", "ledger_ban"]
    window_from: date
    window_to: date
    rules_version: str
    event_types_version: str
    explanation: list[ExplanationItem]


class PractitionerCredit(GradeOut):
    """A practitioner's credit file as a regulator of its jurisdiction sees it."""

    practitioner_id: uuid.UUID
    name: str
    id_number_masked: str
    region_code: str
    ban_status: Literal["banned", "not_banned"]
    """Whether the ban ledger shows a ban in force (a ban means grade D)."""


class CertifiedShare(Output):
    """持证率: of the current employees whose position requires a certificate, the share
    holding a valid one that position accepts."""

    staff_count: int
    """Practitioners currently employed (all positions)."""
    certificate_required_count: int
    """Of them, those in positions that require a certificate (caregiver, director…)."""
    certified_count: int
    """Of those, the ones holding a valid (not revoked, suspended, expired) accepted certificate."""
    certified_rate: float | None
    """certified_count / certificate_required_count, 4 decimals (None when nobody needs one)."""
    as_of: date


class InspectionOutcome(Output):
    """One inspection of the institution."""

    inspected_on: date
    result: Literal["passed", "failed"]
    status: EventStatus
    draw_id: uuid.UUID | None


class PublicEvent(Output):
    """An event about the institution as published (no evidence, no people)."""

    type: str
    type_name: str
    polarity: Polarity
    severity: SeverityName
    occurred_on: date
    status: EventStatus
    counted: bool


class InstitutionCreditSummary(Output):
    """The public summary (公示) of an institution: never any person's data."""

    institution_id: uuid.UUID
    name: str
    uscc: str | None
    region_code: str | None
    region_name: str | None
    filing_status: str | None
    ownership: str | None
    grade: Grade
    label: str
    joint_punishment: bool
    joint_incentive: bool
    score: int
    window_from: date
    window_to: date
    rules_version: str
    certified: CertifiedShare
    inspections: list[InspectionOutcome]
    events: list[PublicEvent]
    generated_at: datetime


class EventTypeOut(Output):
    """An event type in force."""

    code: str
    name: str
    name_en: str
    polarity: Polarity
    subjects: list[SubjectType]
    default_severity: SeverityName
    points: dict[str, int]
    """Points by severity (minor, serious, grave) under the grade rules in force."""
    note: str


class EventTypesOut(Output):
    """The event types in force."""

    version: str
    effective_from: date
    digest: str
    types: list[EventTypeOut]


class GradeBandOut(Output):
    """One grade band."""

    grade: Grade
    label: str
    min_score: int
    joint_incentive: bool
    joint_punishment: bool


class CeilingOut(Output):
    """A counted event of this type and severity limits the grade."""

    type: str
    severity: SeverityName
    grade: Grade


class GradeRulesOut(Output):
    """The grade rule table in force."""

    version: str
    effective_from: date
    digest: str
    window_months: int
    base_score: int
    positive_cap: int
    ban_grade: Grade
    grades: list[GradeBandOut]
    points: dict[str, dict[str, int]]
    ceilings: list[CeilingOut]


# --- inspections ----------------------------------------------------------------------------


class InspectorCreate(Input):
    """Register an inspector for draws."""

    code: InspectorCode
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]


class Inspector(Output):
    """A registered inspector (regulator's own view)."""

    inspector_id: uuid.UUID
    code: str
    name: str
    created_at: datetime
    retired_at: datetime | None


class DrawCreate(Input, kw_only=True):
    """Draw institutions and inspectors for a period (双随机)."""

    period: Period
    sample_size: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    inspectors_per_institution: Annotated[int, msgspec.Meta(ge=1, le=10)] = 2
    region_code: RegionCode | None = None
    """Draw only from this region (within the jurisdiction); default the whole jurisdiction."""
    ownership: Literal["nonprofit", "for_profit"] | None = None
    filing_status: Literal["filed", "not_filed"] | None = None
    inspectors: Annotated[list[InspectorCode], msgspec.Meta(max_length=500)] | None = None
    """Inspector codes to draw from; default the regulator's registered, unretired inspectors."""


class Checkpoint(Output):
    """The ban-ledger checkpoint a draw's seed comes from."""

    size: int
    root_hash: str
    """Standard base64 of the 32-byte root."""
    text: str | None
    """The signed checkpoint note (None: the unsigned empty-tree checkpoint)."""


class DrawnInstitution(Output):
    """One drawn institution, its inspectors, and the result once recorded."""

    institution_id: uuid.UUID
    institution_name: str
    inspectors: list[str]
    result: Literal["passed", "failed"] | None
    inspected_on: date | None


class Draw(Output):
    """A published draw: everything needed to re-run it."""

    draw_id: uuid.UUID
    regulator_id: uuid.UUID
    regulator_name: str
    region_code: str
    period: str
    filters: dict[str, Any]
    algorithm: str
    checkpoint: Checkpoint
    seed: str
    """Hex of the 32-byte seed."""
    candidates: list[str]
    """Eligible institution ids, sorted."""
    inspector_candidates: list[str]
    """Eligible inspector codes, sorted."""
    sample_size: int
    inspectors_per_institution: int
    selected: list[DrawnInstitution]
    created_at: datetime


class InspectionResultCreate(Input):
    """The result of inspecting one drawn institution."""

    institution_id: uuid.UUID
    result: Literal["passed", "failed"]
    inspected_on: date
    severity: SeverityIn | None = None
    evidence_ref: EvidenceRef | None = None


class InspectionResultRecorded(Output):
    """The recorded result and the credit event it became."""

    draw_id: uuid.UUID
    institution_id: uuid.UUID
    result: Literal["passed", "failed"]
    inspected_on: date
    event: CreditEvent


# --- export ---------------------------------------------------------------------------------


class ExportRecord(Output):
    """One credit record for the national credit information platform (schema v1)."""

    record_id: uuid.UUID
    subject_type: SubjectType
    subject_id: uuid.UUID
    subject_name: str
    subject_uscc: str | None
    subject_id_number_masked: str | None
    region_code: str
    event_type: str
    event_type_name: str
    polarity: Polarity
    severity: int
    severity_name: SeverityName
    occurred_on: date
    recorded_at: datetime
    recorded_by_org_id: uuid.UUID
    recorded_by_org_name: str
    status: EventStatus
    counts: bool
    corrects_record_id: uuid.UUID | None
    evidence_commitment: str | None
    updated_at: datetime


class CreditExport(Output):
    """A JSON export."""

    schema_version: str
    """``workforce/credit-export/v1``."""
    generated_at: datetime
    region_code: str
    since: date | None
    count: int
    records: list[ExportRecord]
