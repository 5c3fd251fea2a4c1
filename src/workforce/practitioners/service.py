"""Practitioner registration, lookup, visibility and the regulator's reveal.

The ID number is validated (GB 11643), then kept only as an HMAC for lookup, an AES-GCM
ciphertext for the regulator's explicit reveal, and a mask for display.
"""

from __future__ import annotations

import uuid

from sqlalchemy import and_, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from workforce import regions
from workforce.audit.service import record_access
from workforce.context import AppContext
from workforce.db import begin_write, new_id, utcnow
from workforce.errors import INVALID_ID_NUMBER, Conflict, Forbidden, Invalid, NotFound, Reason
from workforce.practitioners.models import Practitioner, PractitionerLink
from workforce.practitioners.schemas import PractitionerCreate
from workforce.security import idnumber
from workforce.security.principal import Principal

VISIBLE_RELATIONS = ("registered", "trained", "employed")


def normalize_id_number(raw: str) -> str:
    """Validate an ID number; 422 ``invalid_id_number`` with the specific fault otherwise."""
    try:
        return idnumber.validate(raw)
    except idnumber.InvalidIdNumber as exc:
        raise Invalid(
            "the ID number is not a valid GB 11643 citizen ID number",
            code=INVALID_ID_NUMBER,
            reasons=[Reason(INVALID_ID_NUMBER, str(exc)), Reason(exc.code, str(exc))],
        ) from None


def subject_key(ctx: AppContext, raw_id_number: str) -> bytes:
    """Validate an ID number and return its keyed index hash."""
    return ctx.vault.subject_key(normalize_id_number(raw_id_number))


def _aad(practitioner_id: uuid.UUID) -> bytes:
    return b"workforce/practitioner/" + practitioner_id.bytes


def in_jurisdiction(actor: Principal, region_code: str | None) -> bool:
    """Whether a regulator's jurisdiction covers a region."""
    return (
        actor.role == "regulator"
        and region_code is not None
        and regions.covers(actor.region or "", region_code)
    )


def _default_region(actor: Principal, requested: str | None) -> str:
    region = requested or actor.region
    if region is None:
        raise Invalid("region_code is required for this caller", code="region_required")
    try:
        regions.validate_region_code(region)
    except regions.InvalidRegion as exc:
        raise Invalid(str(exc), code="invalid_region") from None
    if actor.role == "regulator" and not regions.covers(actor.region or "", region):
        raise Forbidden("the region is outside your jurisdiction", code="out_of_jurisdiction")
    return region


async def link(
    session: AsyncSession, practitioner_id: uuid.UUID, org_id: uuid.UUID, relation: str
) -> None:
    """Record that ``org_id`` may see the practitioner (idempotent; reopens an ended relation).

    One row per (practitioner, organisation, relation): a re-hire after a departure reopens it.
    """
    stmt = select(PractitionerLink).where(
        PractitionerLink.practitioner_id == practitioner_id,
        PractitionerLink.org_id == org_id,
        PractitionerLink.relation == relation,
    )
    row = await session.scalar(stmt)
    if row is None:
        session.add(
            PractitionerLink(practitioner_id=practitioner_id, org_id=org_id, relation=relation)
        )
    elif row.ended_at is not None:
        row.ended_at = None
    await session.flush()


async def register(
    session: AsyncSession, ctx: AppContext, actor: Principal, cmd: PractitionerCreate
) -> tuple[Practitioner, bool]:
    """Register a practitioner, or return the one already registered under that ID number.

    Returns the practitioner and whether it was created now.
    """
    number = normalize_id_number(cmd.id_number)
    key = ctx.vault.subject_key(number)
    region = _default_region(actor, cmd.region_code)
    name = cmd.name.strip()
    if not name:
        raise Invalid("name must not be blank", code="invalid_name")
    await begin_write(session)
    existing = await session.scalar(select(Practitioner).where(Practitioner.subject_key == key))
    created = False
    if existing is None:
        pid = new_id()
        person = Practitioner(
            id=pid,
            subject_key=key,
            id_cipher=ctx.vault.encrypt(number, _aad(pid)),
            id_masked=idnumber.mask(number),
            name=name,
            region_code=region,
            positions=sorted(set(cmd.positions)),
            registered_by=actor.org_id,
        )
        try:
            async with session.begin_nested():
                session.add(person)
        except IntegrityError:
            # Registered concurrently by someone else: take theirs.
            existing = await session.scalar(
                select(Practitioner).where(Practitioner.subject_key == key)
            )
            if existing is None:
                raise
        else:
            existing, created = person, True
    elif existing.name != name:
        raise Conflict(
            "a practitioner with this ID number is registered under another name",
            code="name_mismatch",
        )
    if not created and not set(cmd.positions) <= set(existing.positions):
        existing.positions = sorted(set(existing.positions) | set(cmd.positions))
    await link(session, existing.id, actor.org_id, "registered")
    await session.flush()
    return existing, created


async def lookup(
    session: AsyncSession, ctx: AppContext, actor: Principal, raw_id_number: str, route: str
) -> uuid.UUID:
    """Find the practitioner an ID number belongs to; every lookup is access-logged."""
    key = subject_key(ctx, raw_id_number)
    found = await session.scalar(select(Practitioner.id).where(Practitioner.subject_key == key))
    record_access(
        session,
        actor,
        action="lookup",
        route=route,
        practitioner_id=found,
        outcome="found" if found else "not_found",
    )
    if found is None:
        await session.flush()
        raise NotFound("no practitioner is registered under this ID number", code="not_registered")
    return found


async def find_by_id_number(
    session: AsyncSession, ctx: AppContext, raw_id_number: str
) -> Practitioner | None:
    """The practitioner registered under an ID number, if any (no visibility check)."""
    key = subject_key(ctx, raw_id_number)
    person: Practitioner | None = await session.scalar(
        select(Practitioner).where(Practitioner.subject_key == key)
    )
    return person


async def can_see(session: AsyncSession, actor: Principal, person: Practitioner) -> bool:
    """Whether the caller may see this practitioner.

    Regulators see their jurisdiction; admins see everyone; bases and institutions see the
    practitioners they registered, trained or currently employ.
    """
    if actor.role == "admin":
        return True
    if actor.role == "regulator":
        return in_jurisdiction(actor, person.region_code)
    stmt = select(
        exists().where(
            and_(
                PractitionerLink.practitioner_id == person.id,
                PractitionerLink.org_id == actor.org_id,
                PractitionerLink.relation.in_(VISIBLE_RELATIONS),
                PractitionerLink.ended_at.is_(None),
            )
        )
    )
    return bool(await session.scalar(stmt))


async def get_visible(
    session: AsyncSession,
    actor: Principal,
    practitioner_id: uuid.UUID,
    *,
    action: str | None = "read",
    route: str = "",
) -> Practitioner:
    """Load a practitioner the caller may see (404 otherwise, so existence does not leak).

    When ``action`` is given the read is access-logged.
    """
    person = await session.get(Practitioner, practitioner_id)
    if person is None or not await can_see(session, actor, person):
        raise NotFound("no such practitioner", code="practitioner_not_found")
    if action:
        record_access(
            session, actor, action=action, route=route, practitioner_id=person.id, outcome="ok"
        )
    return person


async def reveal(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    practitioner_id: uuid.UUID,
    route: str,
) -> str:
    """Decrypt a practitioner's ID number for a regulator of its jurisdiction (access-logged)."""
    person = await get_visible(session, actor, practitioner_id, action="reveal", route=route)
    return id_number_of(ctx, person)


def id_number_of(ctx: AppContext, person: Practitioner) -> str:
    """Decrypt a practitioner's ID number, in memory, for a check that needs it (never log it)."""
    return ctx.vault.decrypt(person.id_cipher, _aad(person.id))


async def end_link(
    session: AsyncSession, practitioner_id: uuid.UUID, org_id: uuid.UUID, relation: str
) -> None:
    """End a relation (e.g. an employment ended)."""
    stmt = select(PractitionerLink).where(
        PractitionerLink.practitioner_id == practitioner_id,
        PractitionerLink.org_id == org_id,
        PractitionerLink.relation == relation,
        PractitionerLink.ended_at.is_(None),
    )
    for row in (await session.scalars(stmt)).all():
        row.ended_at = utcnow()


async def register_many(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    people: list[tuple[str, str, list[str]]],
    region_code: str | None = None,
) -> int:
    """Bulk registration (rosters, data migration, benchmarks): one statement per batch.

    ``people`` holds ``(id_number, name, positions)``; numbers must be valid (raises 422 on the
    first invalid one, before anything is written). Already registered numbers are skipped.
    Returns how many were new.
    """
    from sqlalchemy.dialects.postgresql import insert as pg_insert  # noqa: PLC0415
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert  # noqa: PLC0415

    region = _default_region(actor, region_code)
    rows = []
    for number_raw, name, positions in people:
        number = normalize_id_number(number_raw)
        pid = new_id()
        rows.append(
            {
                "id": pid,
                "subject_key": ctx.vault.subject_key(number),
                "id_cipher": ctx.vault.encrypt(number, _aad(pid)),
                "id_masked": idnumber.mask(number),
                "name": name,
                "region_code": region,
                "positions": sorted(set(positions)),
                "registered_by": actor.org_id,
                "created_at": utcnow(),
            }
        )
    if not rows:
        return 0
    await begin_write(session)
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Practitioner).on_conflict_do_nothing(index_elements=["subject_key"])
    result = await session.execute(stmt.returning(Practitioner.id), rows)
    new_ids = list(result.scalars())
    if new_ids:
        await session.execute(
            insert(PractitionerLink),
            [
                {
                    "id": new_id(),
                    "practitioner_id": pid,
                    "org_id": actor.org_id,
                    "relation": "registered",
                    "created_at": utcnow(),
                }
                for pid in new_ids
            ],
        )
    return len(new_ids)
