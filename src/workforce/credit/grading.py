"""Credit grades: the versioned event types and grade rules, and a pure evaluator.

Two TOML files hold the data, each with a ``version`` and an ``effective_from`` date:

* ``event_types.toml``: each credit event type's code, Chinese and English names, polarity
  (``positive`` 守信 / ``negative`` 失信), the subjects it may be recorded against and its
  default severity;
* ``grade_rules.toml``: the window, the base score, the points of each type by severity, the
  grade bands (A 守信, B 基本守信, C 警示（失信风险）, D 失信) with the joint incentive and joint
  punishment flags, the cap on positive points, the ceilings (a type and severity that limits
  the best grade a subject may hold) and the grade of a banned practitioner.

Evaluation (:func:`evaluate`), in order:

1. An event counts when its status is ``recorded``, ``contested`` (an appeal is pending: it
   still counts until decided) or ``upheld``, and its ``occurred_on`` lies in the window
   ``(on - window_months, on]``.  ``overturned``, ``withdrawn`` and ``corrected`` events never
   count (a correction is a new event that counts in their place).
2. ``score = max(0, base_score + min(positive points, positive_cap) - negative points)``.
3. The grade is the best band whose ``min_score`` the score reaches.
4. The grade is then lowered to the worst ceiling of any counted event, and to ``ban_grade``
   when the subject has a ban in force on the ban ledger.

Severities are 1 (``minor``), 2 (``serious``) and 3 (``grave``).  For a positive type the
severity is its weight (the level of the commending body, for instance).

Pure module: standard library and msgspec only.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import itertools
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Final, Literal

import msgspec

__all__ = [
    "COUNTING_STATUSES",
    "DEFAULT_EVENT_TYPES_FILE",
    "DEFAULT_GRADE_RULES_FILE",
    "SEVERITY_NAMES",
    "Ceiling",
    "CreditDataError",
    "EventStatus",
    "EventType",
    "EventTypes",
    "ExplanationItem",
    "Grade",
    "GradeBand",
    "GradeEvent",
    "GradeResult",
    "GradeRules",
    "Polarity",
    "SubjectKind",
    "check_consistency",
    "default_event_types",
    "default_grade_rules",
    "evaluate",
    "load_event_types",
    "load_grade_rules",
    "severity_level",
    "severity_name",
    "window_start",
]

Polarity = Literal["positive", "negative"]
"""守信 (positive) or 失信 (negative)."""
SubjectKind = Literal["practitioner", "institution"]
"""Who a credit event is about."""
SeverityName = Literal["minor", "serious", "grave"]
"""Names of the severities 1, 2, 3."""
Grade = Literal["A", "B", "C", "D"]
"""A credit grade."""
EventStatus = Literal["recorded", "contested", "upheld", "overturned", "withdrawn", "corrected"]
"""Where an event stands after its steps (appeal, decision, withdrawal, correction)."""
Why = Literal[
    "counted",
    "outside_window",
    "after_evaluation_date",
    "overturned",
    "withdrawn",
    "corrected",
]
"""Why an event does or does not count."""
DecidedBy = Literal["score", "ceiling", "ledger_ban"]
"""What fixed the grade: the score band, a ceiling of a counted event, or a ban."""

SEVERITY_NAMES: Final[tuple[SeverityName, ...]] = ("minor", "serious", "grave")
COUNTING_STATUSES: Final = frozenset({"recorded", "contested", "upheld"})
"""Statuses of events that count toward a grade."""
_NOT_COUNTING: Final[dict[str, Why]] = {
    "overturned": "overturned",
    "withdrawn": "withdrawn",
    "corrected": "corrected",
}
DEFAULT_EVENT_TYPES_FILE: Final = Path(__file__).with_name("event_types.toml")
DEFAULT_GRADE_RULES_FILE: Final = Path(__file__).with_name("grade_rules.toml")
_MAX_WINDOW_MONTHS: Final = 240
_CODE_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


class CreditDataError(ValueError):
    """A credit data file is malformed or inconsistent; the message names the file and key."""


def severity_level(value: int | str) -> int:
    """1-3 from ``1``-``3`` or ``minor``/``serious``/``grave``.

    Raises:
        CreditDataError: Anything else.
    """
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= len(SEVERITY_NAMES):
        return value
    if isinstance(value, str) and value in SEVERITY_NAMES:
        return SEVERITY_NAMES.index(value) + 1
    raise CreditDataError(f"severity must be 1-3 or minor/serious/grave, not {value!r}")


def severity_name(level: int) -> SeverityName:
    """``minor``, ``serious`` or ``grave`` for 1, 2, 3."""
    return SEVERITY_NAMES[severity_level(level) - 1]


# --- event types ----------------------------------------------------------------------------


class EventType(msgspec.Struct, frozen=True, kw_only=True):
    """One kind of credit event."""

    code: str
    name: str
    name_en: str
    polarity: Polarity
    subjects: tuple[SubjectKind, ...]
    default_severity: int
    note: str


class EventTypes(msgspec.Struct, frozen=True, kw_only=True):
    """The event types in force."""

    version: str
    effective_from: date
    description: str
    digest: str
    types: tuple[EventType, ...]
    by_code: dict[str, EventType]

    def get(self, code: str) -> EventType | None:
        """The type with this code, if any."""
        return self.by_code.get(code)


class _TypeSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: str
    name: str
    name_en: str
    polarity: Polarity
    subjects: list[SubjectKind]
    default_severity: SeverityName
    note: str = ""


class _TypesFile(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    version: str
    effective_from: date
    description: str = ""
    types: list[_TypeSpec] = []


def _check_code(code: str, where: str) -> str:
    if not code or not set(code) <= _CODE_CHARS or not code[0].isalpha() or len(code) > 40:
        raise CreditDataError(f"{where}: code {code!r} must be snake_case (a-z, 0-9, _), 1-40")
    return code


def load_event_types(path: Path | None = None) -> EventTypes:
    """Load and validate an event-type file (default: the packaged one).

    Raises:
        CreditDataError: The file is malformed, has unknown keys, a duplicate or malformed
            code, a type with no subject, or a blank name.
    """
    file = path or DEFAULT_EVENT_TYPES_FILE
    raw = file.read_bytes()
    try:
        spec = msgspec.toml.decode(raw, type=_TypesFile)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CreditDataError(f"{file.name}: {exc}") from exc
    if not spec.version.strip():
        raise CreditDataError(f"{file.name}: version is empty")
    seen: set[str] = set()
    built: list[EventType] = []
    for item in spec.types:
        where = f"{file.name}: type {item.code!r}"
        _check_code(item.code, where)
        if item.code in seen:
            raise CreditDataError(f"{where}: duplicate code")
        seen.add(item.code)
        if not item.subjects or len(set(item.subjects)) != len(item.subjects):
            raise CreditDataError(
                f"{where}: subjects must list practitioner and/or institution once"
            )
        if not item.name.strip() or not item.name_en.strip():
            raise CreditDataError(f"{where}: name and name_en must not be blank")
        built.append(
            EventType(
                code=item.code,
                name=item.name.strip(),
                name_en=item.name_en.strip(),
                polarity=item.polarity,
                subjects=tuple(item.subjects),
                default_severity=severity_level(item.default_severity),
                note=item.note.strip(),
            )
        )
    if not built:
        raise CreditDataError(f"{file.name}: no event types")
    return EventTypes(
        version=spec.version,
        effective_from=spec.effective_from,
        description=spec.description,
        digest=hashlib.sha256(raw).hexdigest(),
        types=tuple(built),
        by_code={t.code: t for t in built},
    )


# --- grade rules ----------------------------------------------------------------------------


class GradeBand(msgspec.Struct, frozen=True, kw_only=True):
    """One grade: its label, lowest score and consequences."""

    grade: Grade
    label: str
    min_score: int
    joint_incentive: bool
    joint_punishment: bool


class Ceiling(msgspec.Struct, frozen=True, kw_only=True):
    """A counted event of ``type`` at ``severity`` limits the grade to ``grade`` or worse."""

    type: str
    severity: int
    grade: Grade


class GradeRules(msgspec.Struct, frozen=True, kw_only=True):
    """The grade rule table in force."""

    version: str
    effective_from: date
    description: str
    digest: str
    window_months: int
    base_score: int
    positive_cap: int
    ban_grade: Grade
    grades: tuple[GradeBand, ...]
    points: dict[str, tuple[int, int, int]]
    ceilings: tuple[Ceiling, ...]

    def band(self, grade: Grade) -> GradeBand:
        """The band of a grade."""
        for band in self.grades:
            if band.grade == grade:
                return band
        raise CreditDataError(f"grade {grade!r} is not in the rule table")  # pragma: no cover

    def rank(self, grade: Grade) -> int:
        """0 for the best grade, increasing toward the worst."""
        return [b.grade for b in self.grades].index(grade)

    def points_for(self, type_code: str, severity: int) -> int:
        """Unsigned points of an event of this type and severity (0 for an unknown type)."""
        row = self.points.get(type_code)
        return row[severity_level(severity) - 1] if row else 0


class _BandSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    grade: Grade
    label: str
    min_score: int
    joint_incentive: bool = False
    joint_punishment: bool = False


class _PointsSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    minor: int
    serious: int
    grave: int


class _CeilingSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    type: str
    severity: SeverityName
    grade: Grade


class _RulesFile(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    version: str
    effective_from: date
    description: str = ""
    window_months: int
    base_score: int
    positive_cap: int
    ban_grade: Grade
    grades: list[_BandSpec]
    points: dict[str, _PointsSpec]
    ceilings: list[_CeilingSpec] = []


def _check_bands(name: str, bands: list[_BandSpec]) -> tuple[GradeBand, ...]:
    if not bands:
        raise CreditDataError(f"{name}: no grades")
    letters = [b.grade for b in bands]
    if len(set(letters)) != len(letters):
        raise CreditDataError(f"{name}: a grade is listed twice")
    scores = [b.min_score for b in bands]
    if any(a <= b for a, b in itertools.pairwise(scores)):
        raise CreditDataError(f"{name}: grades must be listed best first with falling min_score")
    if scores[-1] != 0:
        raise CreditDataError(f"{name}: the last grade must have min_score = 0")
    if not bands[-1].joint_punishment:
        raise CreditDataError(f"{name}: the worst grade must trigger joint punishment")
    return tuple(
        GradeBand(
            grade=b.grade,
            label=b.label,
            min_score=b.min_score,
            joint_incentive=b.joint_incentive,
            joint_punishment=b.joint_punishment,
        )
        for b in bands
    )


def load_grade_rules(path: Path | None = None) -> GradeRules:
    """Load and validate a grade rule file (default: the packaged one).

    Raises:
        CreditDataError: The file is malformed, has unknown keys, bands out of order, a
            negative figure, or a ceiling or ban grade that names no band.
    """
    file = path or DEFAULT_GRADE_RULES_FILE
    raw = file.read_bytes()
    try:
        spec = msgspec.toml.decode(raw, type=_RulesFile)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CreditDataError(f"{file.name}: {exc}") from exc
    name = file.name
    if not spec.version.strip():
        raise CreditDataError(f"{name}: version is empty")
    if not 1 <= spec.window_months <= _MAX_WINDOW_MONTHS:
        raise CreditDataError(f"{name}: window_months must be 1-{_MAX_WINDOW_MONTHS}")
    if spec.base_score < 0 or spec.positive_cap < 0:
        raise CreditDataError(f"{name}: base_score and positive_cap must not be negative")
    bands = _check_bands(name, spec.grades)
    letters = {b.grade for b in bands}
    if spec.ban_grade not in letters:
        raise CreditDataError(f"{name}: ban_grade {spec.ban_grade!r} is not a listed grade")
    points: dict[str, tuple[int, int, int]] = {}
    for code, row in spec.points.items():
        _check_code(code, f"{name}: points")
        values = (row.minor, row.serious, row.grave)
        if any(v < 0 for v in values):
            raise CreditDataError(f"{name}: points.{code} must not be negative")
        points[code] = values
    ceilings: list[Ceiling] = []
    for item in spec.ceilings:
        if item.grade not in letters:
            raise CreditDataError(f"{name}: ceiling grade {item.grade!r} is not a listed grade")
        if item.type not in points:
            raise CreditDataError(f"{name}: ceiling type {item.type!r} has no points")
        ceilings.append(
            Ceiling(type=item.type, severity=severity_level(item.severity), grade=item.grade)
        )
    return GradeRules(
        version=spec.version,
        effective_from=spec.effective_from,
        description=spec.description,
        digest=hashlib.sha256(raw).hexdigest(),
        window_months=spec.window_months,
        base_score=spec.base_score,
        positive_cap=spec.positive_cap,
        ban_grade=spec.ban_grade,
        grades=bands,
        points=points,
        ceilings=tuple(ceilings),
    )


def check_consistency(types: EventTypes, rules: GradeRules) -> None:
    """Every event type has points and every point row names an event type.

    Raises:
        CreditDataError: Naming the first mismatch.
    """
    codes = {t.code for t in types.types}
    missing = sorted(codes - set(rules.points))
    if missing:
        raise CreditDataError(f"grade rules give no points for event types: {', '.join(missing)}")
    unknown = sorted(set(rules.points) - codes)
    if unknown:
        raise CreditDataError(f"grade rules give points for unknown types: {', '.join(unknown)}")


@functools.lru_cache(maxsize=1)
def default_event_types() -> EventTypes:
    """The packaged event types (read once)."""
    return load_event_types()


@functools.lru_cache(maxsize=1)
def default_grade_rules() -> GradeRules:
    """The packaged grade rules (read once), checked against the packaged event types."""
    rules = load_grade_rules()
    check_consistency(default_event_types(), rules)
    return rules


# --- evaluation -----------------------------------------------------------------------------


class GradeEvent(msgspec.Struct, frozen=True, kw_only=True):
    """The facts of one event the evaluator needs."""

    event_id: str
    type: str
    severity: int
    occurred_on: date
    status: EventStatus


class ExplanationItem(msgspec.Struct, frozen=True, kw_only=True):
    """One event, whether it counted, why, and the points it contributed."""

    event_id: str
    type: str
    type_name: str
    polarity: Polarity
    severity: SeverityName
    occurred_on: date
    status: EventStatus
    counted: bool
    why: Why
    rule: str
    """The rule applied, e.g. ``points.failed_inspection.serious``."""
    points: int
    """Signed points contributed (0 when not counted; before the positive cap)."""
    ceiling: Grade | None = None
    """The grade this event limits the subject to, if a ceiling applies."""


class GradeResult(msgspec.Struct, frozen=True, kw_only=True):
    """A grade, its consequences and how it was reached."""

    grade: Grade
    label: str
    joint_punishment: bool
    joint_incentive: bool
    score: int
    points: int
    """Net points counted: ``positive_points - negative_points``."""
    positive_points: int
    """Positive points counted (after the cap)."""
    positive_points_uncapped: int
    negative_points: int
    base_score: int
    decided_by: DecidedBy
    banned: bool | None
    """Whether the ban ledger shows a ban in force (None: not a practitioner, or not checked)."""
    window_from: date
    window_to: date
    on: date
    rules_version: str
    event_types_version: str
    explanation: tuple[ExplanationItem, ...]


def window_start(on: date, months: int) -> date:
    """First day of the window of ``months`` months ending on ``on`` (inclusive).

    ``window_start(date(2026, 6, 30), 36) == date(2023, 7, 1)``; a month-end is clamped
    (``2024-02-29`` minus 12 months is ``2023-02-28``, so the window starts ``2023-03-01``).
    """
    total = on.year * 12 + (on.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    day = min(on.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) + timedelta(days=1)


def _why(event: GradeEvent, start: date, on: date) -> Why:
    if event.status in _NOT_COUNTING:
        return _NOT_COUNTING[event.status]
    if event.occurred_on > on:
        return "after_evaluation_date"
    if event.occurred_on < start:
        return "outside_window"
    return "counted"


def evaluate(
    events: Iterable[GradeEvent],
    rules: GradeRules,
    types: EventTypes,
    on: date,
    *,
    banned: bool | None = None,
) -> GradeResult:
    """Grade a subject from its events on ``on``.

    Args:
        events: Every event of the subject (any status, any date); unknown types are ignored
            with zero points (they cannot be recorded, but an old file may have retired one).
        rules: The grade rule table.
        types: The event types (for names and polarity).
        on: The evaluation date (the window ends on it).
        banned: Whether the ban ledger shows a ban in force; None when not applicable.

    Returns:
        The grade with one explanation item per event, newest first.
    """
    start = window_start(on, rules.window_months)
    items: list[ExplanationItem] = []
    positive = negative = 0
    ceiling_grades: list[Grade] = []
    ordered: Sequence[GradeEvent] = sorted(
        events, key=lambda e: (e.occurred_on, e.event_id), reverse=True
    )
    for event in ordered:
        etype = types.get(event.type)
        level = severity_level(event.severity)
        sev = SEVERITY_NAMES[level - 1]
        polarity: Polarity = etype.polarity if etype else "negative"
        why = _why(event, start, on)
        counted = why == "counted" and etype is not None
        unsigned = rules.points_for(event.type, level) if counted else 0
        signed = unsigned if polarity == "positive" else -unsigned
        ceiling = next(
            (c.grade for c in rules.ceilings if c.type == event.type and c.severity == level),
            None,
        )
        if counted:
            if polarity == "positive":
                positive += unsigned
            else:
                negative += unsigned
            if ceiling is not None:
                ceiling_grades.append(ceiling)
        items.append(
            ExplanationItem(
                event_id=event.event_id,
                type=event.type,
                type_name=etype.name if etype else event.type,
                polarity=polarity,
                severity=sev,
                occurred_on=event.occurred_on,
                status=event.status,
                counted=counted,
                why=why,
                rule=f"points.{event.type}.{sev}",
                points=signed,
                ceiling=ceiling,
            )
        )
    capped = min(positive, rules.positive_cap)
    score = max(0, rules.base_score + capped - negative)
    band = next(b for b in rules.grades if score >= b.min_score)
    grade, decided_by = band.grade, "score"
    for limit in ceiling_grades:
        if rules.rank(limit) > rules.rank(grade):
            grade, decided_by = limit, "ceiling"
    if banned and rules.rank(rules.ban_grade) >= rules.rank(grade):
        grade, decided_by = rules.ban_grade, "ledger_ban"
    final = rules.band(grade)
    return GradeResult(
        grade=final.grade,
        label=final.label,
        joint_punishment=final.joint_punishment,
        joint_incentive=final.joint_incentive,
        score=score,
        points=capped - negative,
        positive_points=capped,
        positive_points_uncapped=positive,
        negative_points=negative,
        base_score=rules.base_score,
        decided_by=decided_by,  # type: ignore[arg-type]
        banned=banned,
        window_from=start,
        window_to=on,
        on=on,
        rules_version=rules.version,
        event_types_version=types.version,
        explanation=tuple(items),
    )
