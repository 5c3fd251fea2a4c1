"""Employments: hiring through the gate, departures, staff lists and institutions at risk.

A hire runs the admission check in the same transaction (``BEGIN IMMEDIATE`` on SQLite, so no
ban or revocation can commit in between) and is refused with 409 and the reasons unless the
candidate is admitted at that moment.  The refused check is still stored, like every check.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import TYPE_CHECKING, Any, Final

import msgspec
from litestar import Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from workforce import regions
from workforce.audit.service import record_access
from workforce.db import begin_write, utcnow
from workforce.errors import Conflict, Invalid, NotFound
from workforce.hiring import sources
from workforce.hiring.admission import (
    REEXAMINATION_NOTICE,
    CheckOutcome,
    b64url,
    position_of,
    run_check,
    subject_salt,
)
from workforce.hiring.alerts import position_name
from workforce.hiring.models import Employment
from workforce.hiring.schemas import Employment as EmploymentOut
from workforce.hiring.schemas import (
    EmploymentCreate,
    EmploymentCreated,
    EmploymentEnd,
    InstitutionAtRisk,
    InstitutionsAtRisk,
    StaffList,
    StaffMember,
)
from workforce.idempotency import fingerprint, idempotent
from workforce.orgs.models import Org
from workforce.pagination import Page, check_limit, decode_cursor, encode_cursor, paginate
from workforce.policy.catalog import HeldCert, UnknownPositionError, evaluate_position
from workforce.practitioners.models import Practitioner
from workforce.practitioners.service import end_link, link, normalize_id_number
from workforce.security.idnumber import today_in_china

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from workforce.context import AppContext
    from workforce.security.principal import Principal

NOT_REGISTERED: Final = "not_registered"
ALREADY_EMPLOYED: Final = "already_employed"
ADMISSION_DENIED: Final = "admission_denied"


class HireRefused(Exception):
    """The admission check run by a hire denied the candidate (the check stays stored)."""

    def __init__(self, outcome: CheckOutcome) -> None:
        super().__init__("admission denied")
        self.outcome = outcome


def to_employment(row: Employment, person: Practitioner) -> EmploymentOut:
    """Wire form of an employment."""
    return EmploymentOut(
        employment_id=row.id,
        org_id=row.org_id,
        practitioner_id=row.practitioner_id,
        name=person.name,
        id_number_masked=person.id_masked,
        position=row.position,
        started_on=row.started_on,
        ended_on=row.ended_on,
        end_reason=row.end_reason,
        current=row.ended_on is None,
        passes=row.passes,
        failing_codes=list(row.failing_codes),
        admission_check_id=row.admission_check_id,
        created_at=row.created_at,
    )


def _refusal(ctx: AppContext, outcome: CheckOutcome) -> Response[Any]:
    row = outcome.row
    detail = "the candidate is not admitted to this position now; see reasons"
    body = {
        "type": f"urn:workforce:{ADMISSION_DENIED}",
        "title": "Hiring refused",
        "status": 409,
        "detail": detail,
        "reasons": list(row.reasons),
        "check_id": str(row.id),
        "receipt": row.receipt,
        "subject_salt": b64url(subject_salt(ctx, row.id)),
        "notice": REEXAMINATION_NOTICE,
    }
    return Response(
        msgspec.json.encode(body), status_code=409, media_type="application/problem+json"
    )


async def _current_in_org(
    session: AsyncSession, org_id: uuid.UUID, practitioner_id: uuid.UUID
) -> Employment | None:
    found: Employment | None = await session.scalar(
        select(Employment).where(
            Employment.org_id == org_id,
            Employment.practitioner_id == practitioner_id,
            Employment.ended_on.is_(None),
        )
    )
    return found


def _already_employed() -> Conflict:
    return Conflict(
        "the person is already employed by this institution; end that employment first",
        code=ALREADY_EMPLOYED,
    )


async def _hire(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    cmd: EmploymentCreate,
    route: str,
) -> EmploymentCreated:
    await begin_write(session)
    person = await session.scalar(
        select(Practitioner).where(
            Practitioner.subject_key == ctx.vault.subject_key(normalize_id_number(cmd.id_number))
        )
    )
    if person is None:
        raise Invalid(
            "no practitioner is registered under this ID number; register the person first "
            "(an admission check would deny them)",
            code=NOT_REGISTERED,
        )
    if await _current_in_org(session, actor.org_id, person.id) is not None:
        raise _already_employed()
    outcome = await run_check(
        session,
        ctx,
        actor,
        raw_id_number=cmd.id_number,
        position_code=cmd.position,
        route=route,
        purpose="hire",
    )
    if not outcome.evaluation.admitted:
        raise HireRefused(outcome)
    row = Employment(
        org_id=actor.org_id,
        region_code=actor.region or regions.NATIONAL,
        practitioner_id=person.id,
        position=outcome.position.code,
        started_on=cmd.started_on or today_in_china(),
        admission_check_id=outcome.row.id,
        passes=True,
        failing_codes=[],
        evaluated_at=outcome.row.created_at,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # a concurrent hire of the same person won
        raise _already_employed() from None
    await link(session, person.id, actor.org_id, "employed")
    base = to_employment(row, person)
    return EmploymentCreated(
        **{f: getattr(base, f) for f in base.__struct_fields__},
        receipt=outcome.row.receipt,
        subject_salt=b64url(subject_salt(ctx, outcome.row.id)),
    )


async def hire(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    cmd: EmploymentCreate,
    *,
    idempotency_key: str | None,
    route: str,
) -> Response[Any]:
    """Hire through the gate: 201, or 409 ``admission_denied`` with the reasons.

    Bad input is refused before anything is written: 422 ``invalid_id_number``,
    ``unknown_position``, ``not_registered``; 409 ``already_employed``.  A retry with the same
    ``Idempotency-Key`` returns the first 201 (refusals are not replayed: a later retry is
    checked again).
    """
    number = normalize_id_number(cmd.id_number)
    position_of(ctx, cmd.position)
    digest = fingerprint(
        "createEmployment",
        {
            "subject": ctx.vault.subject_key(number).hex(),
            "position": cmd.position,
            "started_on": cmd.started_on.isoformat() if cmd.started_on else None,
        },
    )

    async def produce() -> tuple[int, Any]:
        return 201, await _hire(session, ctx, actor, cmd, route)

    try:
        return await idempotent(session, actor, idempotency_key, digest, produce)
    except HireRefused as refused:
        return _refusal(ctx, refused.outcome)


async def _own(session: AsyncSession, actor: Principal, employment_id: uuid.UUID) -> Employment:
    row = await session.get(Employment, employment_id)
    visible = row is not None and (
        row.org_id == actor.org_id
        or (actor.role == "regulator" and regions.covers(actor.region or "", row.region_code))
    )
    if row is None or not visible:
        raise NotFound("no such employment", code="employment_not_found")
    return row


async def end(
    session: AsyncSession,
    actor: Principal,
    employment_id: uuid.UUID,
    cmd: EmploymentEnd,
) -> EmploymentOut:
    """Record a departure (the institution's own employments only; another's is a 404)."""
    await begin_write(session)
    row = await session.get(Employment, employment_id)
    if row is None or row.org_id != actor.org_id:
        raise NotFound("no such employment", code="employment_not_found")
    if row.ended_on is not None:
        raise Conflict("this employment has already ended", code="employment_ended")
    ended_on = cmd.ended_on or today_in_china()
    if ended_on < row.started_on:
        raise Invalid("ended_on is before started_on", code="invalid_end_date")
    row.ended_on = ended_on
    row.end_reason = cmd.reason
    row.ended_at = utcnow()
    await end_link(session, row.practitioner_id, row.org_id, "employed")
    await session.flush()
    person = await session.get(Practitioner, row.practitioner_id)
    assert person is not None  # noqa: S101 - a foreign key
    return to_employment(row, person)


async def get_employment(
    session: AsyncSession, actor: Principal, employment_id: uuid.UUID, route: str
) -> EmploymentOut:
    """One employment (its institution; regulators in jurisdiction); access-logged."""
    await begin_write(session)
    row = await _own(session, actor, employment_id)
    person = await session.get(Practitioner, row.practitioner_id)
    assert person is not None  # noqa: S101 - a foreign key
    record_access(
        session,
        actor,
        action="employment_read",
        route=route,
        practitioner_id=person.id,
        outcome="ok",
    )
    return to_employment(row, person)


def _scope(actor: Principal) -> Any:
    if actor.role == "regulator":
        return Employment.region_code.startswith(regions.jurisdiction_prefix(actor.region or ""))
    return Employment.org_id == actor.org_id


async def list_employments(
    session: AsyncSession,
    actor: Principal,
    *,
    current: bool | None,
    limit: int,
    cursor: str | None,
    route: str,
) -> Page[EmploymentOut]:
    """Employments of the institution (regulators: their jurisdiction); access-logged."""
    check_limit(limit)
    await begin_write(session)
    stmt = select(Employment).where(_scope(actor))
    if current is True:
        stmt = stmt.where(Employment.ended_on.is_(None))
    elif current is False:
        stmt = stmt.where(Employment.ended_on.is_not(None))
    page = await paginate(session, stmt, Employment.id, limit, cursor)
    people = await _people(session, {e.practitioner_id for e in page.items})
    for pid in people:
        record_access(
            session, actor, action="employment_list", route=route, practitioner_id=pid, outcome="ok"
        )
    return Page(
        items=[to_employment(e, people[e.practitioner_id]) for e in page.items],
        next_cursor=page.next_cursor,
    )


async def _people(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Practitioner]:
    if not ids:
        return {}
    rows = await session.scalars(select(Practitioner).where(Practitioner.id.in_(ids)))
    return {p.id: p for p in rows}


# --------------------------------------------------------------------------- staff


@dataclasses.dataclass(frozen=True)
class _CertStatus:
    required: bool
    status: str


def _certificate_status(
    ctx: AppContext, employment: Employment, held: list[HeldCert]
) -> _CertStatus:
    try:
        position = ctx.catalog.position(employment.position)
    except UnknownPositionError:
        return _CertStatus(required=False, status="not_required")
    if not position.requires_any_certificate:
        return _CertStatus(required=False, status="not_required")
    found = evaluate_position(position, held)
    return _CertStatus(required=True, status=found[0].code if found else "valid")


async def _institution_visible(session: AsyncSession, actor: Principal, org_id: uuid.UUID) -> Org:
    org = await session.get(Org, org_id)
    visible = (
        org is not None
        and org.kind == "institution"
        and (
            org.id == actor.org_id
            or (
                actor.role == "regulator"
                and org.region_code is not None
                and regions.covers(actor.region or "", org.region_code)
            )
        )
    )
    if org is None or not visible:
        raise NotFound("no such institution", code="institution_not_found")
    return org


async def staff(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    org_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None,
    route: str,
) -> StaffList:
    """Current staff with certificate and training status, and the 持证率 over all of them.

    The certificate-holding rate is the share of current staff in positions that require a
    certificate who hold a valid accepted one (positions requiring none are not counted).
    """
    check_limit(limit)
    await begin_write(session)
    await _institution_visible(session, actor, org_id)
    today = today_in_china()
    current = list(
        (
            await session.scalars(
                select(Employment)
                .where(Employment.org_id == org_id, Employment.ended_on.is_(None))
                .order_by(Employment.id)
            )
        ).all()
    )
    held = await sources.held_certificates_many(
        session, list({e.practitioner_id for e in current}), today
    )
    statuses = {e.id: _certificate_status(ctx, e, held.get(e.practitioner_id, [])) for e in current}
    required = sum(1 for s in statuses.values() if s.required)
    holding = sum(1 for s in statuses.values() if s.required and s.status == "valid")
    after = decode_cursor(cursor) if cursor else None
    window = [e for e in current if after is None or e.id > after]
    page, more = window[:limit], len(window) > limit
    people = await _people(session, {e.practitioner_id for e in page})
    items = []
    for employment in page:
        person = people[employment.practitioner_id]
        results = await sources.compliance(session, ctx, person, today.year)
        unmet = sorted(r.rule_id for r in results if not r.met)
        record_access(
            session,
            actor,
            action="staff_list",
            route=route,
            practitioner_id=person.id,
            outcome="ok",
        )
        status = statuses[employment.id]
        items.append(
            StaffMember(
                employment_id=employment.id,
                practitioner_id=person.id,
                name=person.name,
                id_number_masked=person.id_masked,
                position=employment.position,
                position_name=position_name(ctx, employment.position),
                started_on=employment.started_on,
                certificate_required=status.required,
                certificate_status=status.status,
                compliance_status="no_rules" if not results else ("not_met" if unmet else "met"),
                unmet_rules=unmet,
                passes=employment.passes,
                failing_codes=list(employment.failing_codes),
            )
        )
    return StaffList(
        org_id=org_id,
        year=today.year,
        staff_count=len(current),
        certificate_required_count=required,
        certificate_holding_count=holding,
        certificate_holding_rate=round(holding / required, 4) if required else None,
        items=items,
        next_cursor=encode_cursor(page[-1].id) if more and page else None,
    )


async def institutions_at_risk(
    session: AsyncSession, actor: Principal, *, limit: int, cursor: str | None
) -> InstitutionsAtRisk:
    """Institutions in the regulator's jurisdiction with current staff who do not pass."""
    check_limit(limit)
    prefix = regions.jurisdiction_prefix(actor.region or "")
    failing = (
        select(Employment.org_id)
        .where(
            Employment.ended_on.is_(None),
            Employment.passes.is_(False),
            Employment.region_code.startswith(prefix),
        )
        .group_by(Employment.org_id)
        .order_by(Employment.org_id)
    )
    if cursor:
        failing = failing.where(Employment.org_id > decode_cursor(cursor))
    org_ids = list((await session.scalars(failing.limit(limit + 1))).all())
    more = len(org_ids) > limit
    org_ids = org_ids[:limit]
    items: list[InstitutionAtRisk] = []
    if org_ids:
        orgs = {o.id: o for o in await session.scalars(select(Org).where(Org.id.in_(org_ids)))}
        counted = await session.execute(
            select(Employment.org_id, func.count())
            .where(Employment.org_id.in_(org_ids), Employment.ended_on.is_(None))
            .group_by(Employment.org_id)
        )
        counts = {oid: int(n) for oid, n in counted.tuples()}
        bad = (
            await session.execute(
                select(Employment.org_id, Employment.failing_codes).where(
                    Employment.org_id.in_(org_ids),
                    Employment.ended_on.is_(None),
                    Employment.passes.is_(False),
                )
            )
        ).tuples()
        tallies: dict[uuid.UUID, Counter[str]] = {oid: Counter() for oid in org_ids}
        failing_counts: Counter[uuid.UUID] = Counter()
        for oid, codes in bad:
            failing_counts[oid] += 1
            tallies[oid].update(codes)
        for oid in org_ids:
            org = orgs[oid]
            items.append(
                InstitutionAtRisk(
                    org_id=oid,
                    name=org.name,
                    region_code=org.region_code or "",
                    staff_count=int(counts.get(oid, 0)),
                    failing_count=failing_counts[oid],
                    reasons=dict(sorted(tallies[oid].items())),
                )
            )
    return InstitutionsAtRisk(
        items=items,
        next_cursor=encode_cursor(org_ids[-1]) if more and org_ids else None,
        as_of=utcnow(),
    )
