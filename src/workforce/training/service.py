"""Training hours: accreditation of bases, courses, completions, voids and compliance.

Functions other domains may call:

* :func:`current_accreditation` — the accreditation of a base in force on a day (its
  ``certificate_types`` bound what the base may issue);
* :func:`hours_totals` — a practitioner's running totals ``(category, year, mode) → tenths``;
* :func:`compliance` — a practitioner's results against the rules in force for a year.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Final

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from workforce import regions
from workforce.context import AppContext
from workforce.db import begin_write, new_id, utcnow
from workforce.errors import (
    OUT_OF_JURISDICTION,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Reason,
    RuleRefused,
)
from workforce.orgs.models import Org
from workforce.pagination import Page, paginate
from workforce.policy.catalog import UnknownCertificateTypeError
from workforce.practitioners import service as practitioners
from workforce.practitioners.models import Practitioner
from workforce.rules.engine import HoursError, RuleResult, parse_hours
from workforce.security.idnumber import today_in_china
from workforce.security.principal import Principal
from workforce.training import aggregates
from workforce.training.models import Accreditation, Course, TrainingRecord, TrainingTotal
from workforce.training.schemas import AccreditationCreate, CourseCreate, TrainingRecordCreate

# Stable reason codes of this domain.
BASE_NOT_ACCREDITED: Final = "base_not_accredited"
OUTSIDE_ACCREDITATION: Final = "outside_accreditation"
COMPLETED_IN_FUTURE: Final = "completed_in_future"
DAILY_HOURS_EXCEEDED: Final = "daily_hours_exceeded"
COURSE_OUT_OF_SCOPE: Final = "course_out_of_scope"
HOURS_EXCEED_COURSE: Final = "hours_exceed_course"
UNKNOWN_COURSE: Final = "unknown_course"
PRACTITIONER_NOT_FOUND: Final = "practitioner_not_found"
INVALID_HOURS: Final = "invalid_hours"
EXTERNAL_REF_CONFLICT: Final = "external_ref_conflict"

_LEVEL_RANK: Final = {"national": 0, "province": 1, "city": 2, "county": 3}


# --------------------------------------------------------------------------- hours


def hours_tenths(value: float | str | int | Decimal, *, allow_zero: bool = False) -> int:
    """Parse class hours (at most one decimal) into tenths; 422 ``invalid_hours`` otherwise."""
    try:
        tenths = parse_hours(value)
    except HoursError as exc:
        raise RuleRefused(str(exc), code=INVALID_HOURS) from None
    if tenths == 0 and not allow_zero:
        raise RuleRefused("hours must be more than 0", code=INVALID_HOURS)
    return tenths


# --------------------------------------------------------------------------- accreditation


def governing(accreditations: Sequence[Accreditation], on: date) -> Accreditation | None:
    """The accreditation that governs a day: the newest one whose validity starts by then.

    ``accreditations`` are in issue order (oldest first). A newer accreditation supersedes
    the older ones from its ``valid_from`` on; the result may have expired by ``on``.
    """
    for accreditation in reversed(accreditations):
        if accreditation.valid_from <= on:
            return accreditation
    return None


def in_force(accreditations: Sequence[Accreditation], on: date) -> Accreditation | None:
    """The accreditation in force on a day, if any (the governing one, within its validity)."""
    found = governing(accreditations, on)
    return found if found is not None and on <= found.valid_until else None


async def accreditations_of(session: AsyncSession, base_org_id: uuid.UUID) -> list[Accreditation]:
    """Every accreditation of a base, oldest first (the history; insert-only)."""
    stmt = (
        select(Accreditation)
        .where(Accreditation.base_org_id == base_org_id)
        .order_by(Accreditation.id)
    )
    return list((await session.scalars(stmt)).all())


async def current_accreditation(
    session: AsyncSession, base_org_id: uuid.UUID, on: date
) -> Accreditation | None:
    """The accreditation of a base in force on ``on`` (None when it is not accredited then)."""
    return in_force(await accreditations_of(session, base_org_id), on)


def accreditation_status(accreditation: Accreditation, today: date | None = None) -> str:
    """``active``, ``expired`` or ``not_yet_valid`` on ``today`` (default: today in China)."""
    day = today or today_in_china()
    if day < accreditation.valid_from:
        return "not_yet_valid"
    return "active" if day <= accreditation.valid_until else "expired"


async def _base_for_regulator(
    session: AsyncSession, actor: Principal, base_org_id: uuid.UUID
) -> Org:
    base = await session.get(Org, base_org_id)
    if base is None or base.kind != "training_base":
        raise NotFound("no such training base", code="base_not_found")
    if base.region_code is None or not regions.covers(actor.region or "", base.region_code):
        raise Forbidden("the training base is outside your jurisdiction", code=OUT_OF_JURISDICTION)
    return base


async def accredit(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    base_org_id: uuid.UUID,
    cmd: AccreditationCreate,
) -> Accreditation:
    """Accredit a training base (a regulator covering its region); supersedes the previous one."""
    reasons: list[Reason] = []
    if cmd.valid_until < cmd.valid_from:
        reasons.append(Reason("invalid_validity", "valid_until is before valid_from"))
    actor_level = regions.level_of(actor.region or "")
    if _LEVEL_RANK[cmd.level] < _LEVEL_RANK[actor_level]:
        reasons.append(
            Reason(
                "level_above_regulator",
                f"a {actor_level} regulator cannot grant a {cmd.level} accreditation",
            )
        )
    for code in cmd.certificate_types:
        try:
            ctx.catalog.certificate_type(code)
        except UnknownCertificateTypeError:
            reasons.append(Reason("unknown_certificate_type", f"unknown certificate type {code!r}"))
    if reasons:
        raise Invalid(reasons[0].detail, code=reasons[0].code, reasons=reasons)
    await begin_write(session)
    base = await _base_for_regulator(session, actor, base_org_id)
    row = Accreditation(
        base_org_id=base.id,
        accredited_by=actor.org_id,
        level=cmd.level,
        valid_from=cmd.valid_from,
        valid_until=cmd.valid_until,
        categories=sorted(set(cmd.categories)),
        certificate_types=sorted(set(cmd.certificate_types)),
    )
    session.add(row)
    await session.flush()
    return row


async def _authorize_base_read(
    session: AsyncSession, actor: Principal, base_org_id: uuid.UUID
) -> None:
    if actor.role == "training_base":
        if actor.org_id != base_org_id:
            raise NotFound("no such training base", code="base_not_found")
        return
    base = await session.get(Org, base_org_id)
    if (
        base is None
        or base.kind != "training_base"
        or base.region_code is None
        or not regions.covers(actor.region or "", base.region_code)
    ):
        raise NotFound("no such training base", code="base_not_found")


async def get_accreditation(
    session: AsyncSession, actor: Principal, base_org_id: uuid.UUID
) -> Accreditation:
    """The base's current accreditation: the one governing today, else the newest one."""
    await _authorize_base_read(session, actor, base_org_id)
    history = await accreditations_of(session, base_org_id)
    found = governing(history, today_in_china()) or (history[-1] if history else None)
    if found is None:
        raise NotFound("the training base has no accreditation", code=BASE_NOT_ACCREDITED)
    return found


async def list_accreditations(
    session: AsyncSession, actor: Principal, base_org_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[Accreditation]:
    """A base's accreditation history, newest first."""
    await _authorize_base_read(session, actor, base_org_id)
    stmt = select(Accreditation).where(Accreditation.base_org_id == base_org_id)
    return await paginate(session, stmt, Accreditation.id, limit, cursor, descending=True)


# --------------------------------------------------------------------------- courses


async def create_course(
    session: AsyncSession, ctx: AppContext, actor: Principal, cmd: CourseCreate
) -> Course:
    """Add a course to the caller's catalogue (a base's own, or a regulator's shared one)."""
    del ctx
    tenths = hours_tenths(cmd.hours)
    if actor.region is None:
        raise Invalid("your organisation has no region", code="region_required")
    await begin_write(session)
    course = Course(
        owner_org_id=actor.org_id,
        owner_kind=actor.role,
        region_code=actor.region,
        code=cmd.code,
        title=cmd.title.strip(),
        category=cmd.category,
        hours_tenths=tenths,
        delivery_mode=cmd.delivery_mode,
    )
    if not course.title:
        raise Invalid("title must not be blank", code="invalid_title")
    try:
        async with session.begin_nested():
            session.add(course)
    except IntegrityError:
        raise Conflict(
            "your catalogue already has a course with this code", code="course_code_taken"
        ) from None
    return course


def _ancestors(region_code: str) -> list[str]:
    """The region and every level above it, national included."""
    chain = [region_code]
    parent = regions.parent_of(region_code)
    while parent is not None:
        chain.append(parent)
        parent = regions.parent_of(parent)
    return chain


def _usable_stmt(base_org_id: uuid.UUID, base_region: str | None) -> Select[tuple[Course]]:
    shared = (
        (Course.owner_kind == "regulator") & Course.region_code.in_(_ancestors(base_region))
        if base_region
        else None
    )
    condition = Course.owner_org_id == base_org_id
    return select(Course).where(or_(condition, shared) if shared is not None else condition)


def _preference(course: Course, base_org_id: uuid.UUID) -> tuple[int, int]:
    # The base's own catalogue first, then the most specific regulator.
    own = 1 if course.owner_org_id == base_org_id else 0
    return own, len(regions.jurisdiction_prefix(course.region_code))


async def usable_courses(
    session: AsyncSession, base_org_id: uuid.UUID, base_region: str | None
) -> dict[str, Course]:
    """Every course a base may log, by code (its own catalogue wins over regulators')."""
    best: dict[str, Course] = {}
    for course in (await session.scalars(_usable_stmt(base_org_id, base_region))).all():
        held = best.get(course.code)
        if held is None or _preference(course, base_org_id) > _preference(held, base_org_id):
            best[course.code] = course
    return best


async def resolve_course(
    session: AsyncSession, base_org_id: uuid.UUID, base_region: str | None, code: str
) -> Course | None:
    """The course a base means by a code (own catalogue first, then the nearest regulator)."""
    stmt = _usable_stmt(base_org_id, base_region).where(Course.code == code)
    found = list((await session.scalars(stmt)).all())
    if not found:
        return None
    return max(found, key=lambda course: _preference(course, base_org_id))


async def list_courses(
    session: AsyncSession,
    actor: Principal,
    category: str | None,
    limit: int,
    cursor: str | None,
) -> Page[Course]:
    """Courses the caller may use or oversee.

    A base sees its own catalogue and the regulators' courses usable in its region; a
    regulator sees every course of its jurisdiction.
    """
    if actor.role == "training_base":
        stmt = _usable_stmt(actor.org_id, actor.region)
    else:
        prefix = regions.jurisdiction_prefix(actor.region or "")
        stmt = select(Course).where(Course.region_code.startswith(prefix))
    if category:
        stmt = stmt.where(Course.category == category)
    return await paginate(session, stmt, Course.id, limit, cursor)


# --------------------------------------------------------------------------- records


def _same_content(
    record: TrainingRecord, practitioner_id: uuid.UUID, course_code: str, tenths: int, day: date
) -> bool:
    return (
        record.practitioner_id == practitioner_id
        and record.course_code == course_code
        and record.hours_tenths == tenths
        and record.completed_on == day
    )


async def _by_external_ref(
    session: AsyncSession, base_org_id: uuid.UUID, external_ref: str
) -> TrainingRecord | None:
    return await session.scalar(  # type: ignore[no-any-return]
        select(TrainingRecord).where(
            TrainingRecord.base_org_id == base_org_id,
            TrainingRecord.external_ref == external_ref,
        )
    )


def _replay(
    existing: TrainingRecord, cmd: TrainingRecordCreate, tenths: int
) -> tuple[TrainingRecord, bool]:
    if not _same_content(existing, cmd.practitioner_id, cmd.course_code, tenths, cmd.completed_on):
        raise Conflict(
            "this external_ref was already used for a different completion",
            code=EXTERNAL_REF_CONFLICT,
        )
    return existing, False


async def day_hours(session: AsyncSession, practitioner_id: uuid.UUID, day: date) -> int:
    """Tenths already recorded (not voided) for a practitioner on a day, all bases together."""
    total = await session.scalar(
        select(func.coalesce(func.sum(TrainingRecord.hours_tenths), 0)).where(
            TrainingRecord.practitioner_id == practitioner_id,
            TrainingRecord.completed_on == day,
            TrainingRecord.voided_at.is_(None),
        )
    )
    return int(total or 0)


async def log_completion(
    session: AsyncSession, ctx: AppContext, actor: Principal, cmd: TrainingRecordCreate
) -> tuple[TrainingRecord, bool]:
    """Log one completion; returns the record and whether it was created now.

    A retry with the same ``external_ref`` and content returns the first record; the same
    reference with other content is a 409. Refusals are 422 with every applicable reason.
    """
    tenths = hours_tenths(cmd.hours)
    await begin_write(session)
    await aggregates.lock_training_writes(session, exclusive=False)
    existing = await _by_external_ref(session, actor.org_id, cmd.external_ref)
    if existing is not None:
        return _replay(existing, cmd, tenths)
    person = await session.scalar(
        select(Practitioner).where(Practitioner.id == cmd.practitioner_id).with_for_update()
    )
    course = await resolve_course(session, actor.org_id, actor.region, cmd.course_code)
    reasons = await _refusals(session, ctx, actor, cmd, tenths, person, course)
    if reasons:
        raise RuleRefused(reasons[0].detail, code=reasons[0].code, reasons=reasons)
    assert person is not None and course is not None  # noqa: S101 - checked by _refusals
    record = TrainingRecord(
        id=new_id(),
        base_org_id=actor.org_id,
        practitioner_id=person.id,
        course_id=course.id,
        course_code=cmd.course_code,
        category=course.category,
        mode=course.delivery_mode,
        hours_tenths=tenths,
        completed_on=cmd.completed_on,
        external_ref=cmd.external_ref,
        created_at=utcnow(),
    )
    try:
        async with session.begin_nested():
            session.add(record)
    except IntegrityError:
        # The same reference was logged concurrently: behave as a retry.
        existing = await _by_external_ref(session, actor.org_id, cmd.external_ref)
        if existing is None:
            raise
        return _replay(existing, cmd, tenths)
    await practitioners.link(session, person.id, actor.org_id, "trained")
    await aggregates.apply_changes(
        session,
        ctx,
        {person.id: aggregates.subject_of(person)},
        [
            aggregates.Change(
                person.id, course.category, cmd.completed_on.year, course.delivery_mode, tenths, 1
            )
        ],
        rule_counts=await aggregates.make_current(session, ctx),
    )
    return record, True


async def _refusals(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    cmd: TrainingRecordCreate,
    tenths: int,
    person: Practitioner | None,
    course: Course | None,
) -> list[Reason]:
    reasons: list[Reason] = []
    day = cmd.completed_on
    if person is None:
        reasons.append(
            Reason(PRACTITIONER_NOT_FOUND, "no practitioner is registered under this id")
        )
    if course is None:
        reasons.append(
            Reason(
                UNKNOWN_COURSE,
                f"no course {cmd.course_code!r} in your or your regulators' catalogues",
            )
        )
    if day > today_in_china():
        reasons.append(Reason(COMPLETED_IN_FUTURE, "completed_on is in the future"))
    history = await accreditations_of(session, actor.org_id)
    accreditation = in_force(history, day)
    if not history:
        reasons.append(Reason(BASE_NOT_ACCREDITED, "your training base holds no accreditation"))
    elif accreditation is None:
        reasons.append(
            Reason(OUTSIDE_ACCREDITATION, "completed_on lies outside your accreditation's validity")
        )
    if course is not None:
        if accreditation is not None and course.category not in accreditation.categories:
            reasons.append(
                Reason(
                    COURSE_OUT_OF_SCOPE,
                    f"category {course.category!r} is outside your accreditation",
                )
            )
        if tenths > course.hours_tenths:
            reasons.append(Reason(HOURS_EXCEED_COURSE, "hours exceed the course's hours"))
    if person is not None:
        cap = ctx.settings.max_hours_per_day_tenths
        if await day_hours(session, person.id, day) + tenths > cap:
            reasons.append(
                Reason(
                    DAILY_HOURS_EXCEEDED,
                    f"more than {cap / 10:g} hours on one day across all bases",
                )
            )
    return reasons


async def void_record(
    session: AsyncSession, ctx: AppContext, actor: Principal, record_id: uuid.UUID, reason: str
) -> TrainingRecord:
    """Void a record the caller logged (kept, shown as voided, counts for nothing)."""
    await begin_write(session)
    await aggregates.lock_training_writes(session, exclusive=False)
    record = await session.scalar(
        select(TrainingRecord)
        .where(TrainingRecord.id == record_id, TrainingRecord.base_org_id == actor.org_id)
        .with_for_update()
    )
    if record is None:
        raise NotFound("no such training record", code="record_not_found")
    if record.voided_at is not None:
        raise Conflict("the record is already voided", code="already_voided")
    text = reason.strip()
    if len(text) < 2:
        raise Invalid("give a reason", code="invalid_reason")
    record.voided_at = utcnow()
    record.void_reason = text
    record.voided_by = actor.client_id
    person = await session.get(Practitioner, record.practitioner_id)
    assert person is not None  # noqa: S101 - foreign key
    await aggregates.apply_changes(
        session,
        ctx,
        {person.id: aggregates.subject_of(person)},
        [
            aggregates.Change(
                person.id,
                record.category,
                record.completed_on.year,
                record.mode,
                -record.hours_tenths,
                -1,
            )
        ],
        rule_counts=await aggregates.make_current(session, ctx),
    )
    await session.flush()
    return record


async def list_practitioner_records(
    session: AsyncSession,
    actor: Principal,
    practitioner_id: uuid.UUID,
    limit: int,
    cursor: str | None,
    route: str,
) -> Page[TrainingRecord]:
    """A practitioner's completions, voided ones included; a base sees only its own."""
    await practitioners.get_visible(
        session, actor, practitioner_id, action="read_training_records", route=route
    )
    stmt = select(TrainingRecord).where(TrainingRecord.practitioner_id == practitioner_id)
    if actor.role == "training_base":
        stmt = stmt.where(TrainingRecord.base_org_id == actor.org_id)
    return await paginate(session, stmt, TrainingRecord.id, limit, cursor)


# --------------------------------------------------------------------------- compliance


async def hours_totals(
    session: AsyncSession, practitioner_id: uuid.UUID
) -> dict[tuple[str, int, str], int]:
    """A practitioner's running totals: ``(category, year, mode) → tenths`` (one indexed read)."""
    t = TrainingTotal
    rows = await session.execute(
        select(t.category, t.year, t.mode, t.hours_tenths).where(
            t.practitioner_id == practitioner_id
        )
    )
    return {(category, year, mode): tenths for category, year, mode, tenths in rows}


async def compliance(
    session: AsyncSession, ctx: AppContext, practitioner: Practitioner, year: int
) -> list[RuleResult]:
    """The practitioner's results against the rules in force for ``year`` (no visibility check)."""
    totals = await hours_totals(session, practitioner.id)
    return aggregates.evaluate(ctx.rules, aggregates.subject_of(practitioner), year, totals)


MIN_YEAR: Final = 2000
MAX_YEAR: Final = 2100


def check_year(year: int) -> int:
    """A report or compliance year: 2000 to 2100 (422 ``invalid_year`` otherwise)."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Invalid(f"year must be within {MIN_YEAR}..{MAX_YEAR}", code="invalid_year")
    return year


async def practitioner_compliance(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    practitioner_id: uuid.UUID,
    year: int,
    route: str,
) -> list[RuleResult]:
    """Compliance of a practitioner the caller may see (404 otherwise; access-logged)."""
    check_year(year)
    person = await practitioners.get_visible(
        session, actor, practitioner_id, action="read_compliance", route=route
    )
    return await compliance(session, ctx, person, year)
