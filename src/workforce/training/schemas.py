"""Wire schema of the training routes (accreditation, courses, records, imports, compliance)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from workforce.structs import Input, Output

CategoryCode = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z][a-z0-9_]{1,31}$",
        description="Course category (skills, ethics, director_round, caregiver_round, …).",
    ),
]
CertificateTypeCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_]{0,39}$")]
CourseCode = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$",
        description="Course code, unique within the owner's catalogue.",
    ),
]
ExternalRef = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[\x21-\x7e]{1,100}$",
        description="The base's own identifier of the completion (printable ASCII); the "
        "idempotency key of the record.",
    ),
]
Hours = Annotated[
    float | str,
    msgspec.Meta(description='Class hours with at most one decimal, e.g. 2.5 or "2.5".'),
]
Level = Literal["province", "city", "county"]
DeliveryMode = Literal["in_person", "online"]


class AccreditationCreate(Input):
    """Accredit a training base (a new accreditation supersedes the previous one)."""

    level: Level
    valid_from: date
    valid_until: date
    categories: Annotated[list[CategoryCode], msgspec.Meta(min_length=1, max_length=30)]
    certificate_types: Annotated[list[CertificateTypeCode], msgspec.Meta(max_length=30)] = []  # noqa: RUF012 - msgspec copies defaults


class Accreditation(Output):
    """An accreditation of a training base."""

    accreditation_id: uuid.UUID
    base_org_id: uuid.UUID
    accredited_by: uuid.UUID
    level: str
    valid_from: date
    valid_until: date
    categories: list[str]
    certificate_types: list[str]
    status: Literal["active", "expired", "not_yet_valid"]
    """Whether it is in force today (China time)."""
    created_at: datetime


class CourseCreate(Input):
    """Add a course to the caller's catalogue."""

    code: CourseCode
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    category: CategoryCode
    hours: Hours
    delivery_mode: DeliveryMode = "in_person"


class Course(Output):
    """A course."""

    course_id: uuid.UUID
    owner_org_id: uuid.UUID
    owner_kind: str
    region_code: str
    code: str
    title: str
    category: str
    hours: float
    delivery_mode: str
    created_at: datetime


class TrainingRecordCreate(Input):
    """Log one course completion (idempotent on ``external_ref`` per base)."""

    practitioner_id: uuid.UUID
    course_code: CourseCode
    hours: Hours
    completed_on: date
    external_ref: ExternalRef


class VoidRequest(Input):
    """Void a completion the base logged."""

    reason: Annotated[str, msgspec.Meta(min_length=2, max_length=200)]


class TrainingRecord(Output):
    """One course completion."""

    record_id: uuid.UUID
    practitioner_id: uuid.UUID
    base_org_id: uuid.UUID
    course_id: uuid.UUID
    course_code: str
    category: str
    delivery_mode: str
    hours: float
    completed_on: date
    external_ref: str
    import_id: uuid.UUID | None
    created_at: datetime
    voided: bool
    voided_at: datetime | None
    void_reason: str | None


class ImportStarted(Output):
    """A roster import accepted for processing."""

    id: uuid.UUID
    status: Literal["running", "done", "failed"]


class ImportError(Output):
    """One refused row (line 1 is the header)."""

    line: int
    code: str
    detail: str


class ImportStatus(Output):
    """Progress and outcome of a roster import."""

    id: uuid.UUID
    status: Literal["running", "done", "failed"]
    total_rows: int
    accepted: int
    rejected: int
    already_recorded: int
    """Rows whose ``external_ref`` was already recorded with the same content."""
    registered: int
    """Practitioners registered from the roster."""
    errors: list[ImportError]
    errors_truncated: bool
    """True when more errors exist than are listed (at most 1,000 are)."""
    failure: ImportError | None
    """Why the whole import failed, when it did."""
    file_format: str
    filename: str
    created_at: datetime
    finished_at: datetime | None


class ComplianceRule(Output):
    """How the practitioner stands against one rule."""

    rule_id: str
    title: str
    period: str
    """The year (``2026``) or the cycle (``2026–2030``)."""
    period_start: date
    period_end: date
    required_hours: float
    earned_hours: float
    met: bool
    online_excluded_hours: float
    """Online hours beyond the rule's cap, not counted."""


class Compliance(Output):
    """A practitioner's standing against the rules in force for a year."""

    practitioner_id: uuid.UUID
    year: int
    ruleset_version: str
    rules: list[ComplianceRule]


class RuleCycle(Output):
    """A named cycle of a cycle rule."""

    start_year: int
    end_year: int
    label: str


class RuleSource(Output):
    """Where a rule comes from."""

    title: str
    issuer: str | None
    number: str | None
    note: str | None


class RuleInfo(Output):
    """One training-hour rule of the rule set in force."""

    rule_id: str
    family: str
    title: str
    categories: list[str]
    hours: float
    period: str
    cycles: list[RuleCycle]
    positions: list[str]
    """Position codes, or ``["all"]``."""
    region: str
    """GB/T 2260 prefix the rule covers; ``""`` is national."""
    effective_from: date
    effective_until: date | None
    online_cap_hours: float | None
    online_cap_percent: int | None
    source: RuleSource


class RuleSetInfo(Output):
    """The rule set in force."""

    version: str
    digest: str
    rules: list[RuleInfo]


class CategoryHours(Output):
    """Hours delivered in one course category."""

    category: str
    hours: float
    online_hours: float
    records: int


class RuleFigure(Output):
    """How many practitioners a rule applies to and how many meet it."""

    rule_id: str
    title: str
    period: str
    required_hours: float
    applicable: int
    """Practitioners the rule applies to (region and current positions)."""
    met: int
    share: float | None
    """``met / applicable`` (4 decimals); null when the rule applies to nobody."""


class RegionFigures(Output):
    """The figures of one region."""

    region_code: str
    region_name: str
    practitioners: int
    hours: list[CategoryHours]
    rules: list[RuleFigure]


class WorkforceReport(Output):
    """Workforce figures of a regulator's region for a year, with the next level down."""

    region_code: str
    region_name: str
    year: int
    ruleset_version: str
    rule_counts: Literal["running", "recomputed"]
    """``running``: kept up to date with every record; ``recomputed``: the running counts
    follow an older rule set, so they were recomputed for this report (slower)."""
    totals: RegionFigures
    sub_regions: list[RegionFigures]
    generated_at: datetime
