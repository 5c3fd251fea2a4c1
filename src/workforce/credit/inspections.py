"""Random inspections (双随机、一公开): inspectors, published draws and their results.

A draw's seed comes from the ban ledger's latest signed checkpoint
(``workforce.ledger.service.latest_checkpoint``), which the drawing regulator cannot rewrite;
the algorithm is the pure :mod:`workforce.credit.draw`.  Each regulator draws once per period,
so it cannot redraw until it likes the result.  A result is recorded as a credit event
(``passed_inspection`` / ``failed_inspection``) of the inspected institution.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from workforce import regions
from workforce.context import AppContext
from workforce.credit import draw as draw_core
from workforce.credit import service
from workforce.credit.models import InspectionDraw, InspectionResult, Inspector
from workforce.credit.schemas import (
    CreditEventCreate,
    DrawCreate,
    InspectionResultCreate,
    InspectorCreate,
)
from workforce.db import begin_write, utcnow
from workforce.errors import OUT_OF_JURISDICTION, Conflict, Forbidden, Invalid, NotFound
from workforce.orgs.models import Org
from workforce.pagination import Page, paginate
from workforce.security import idnumber
from workforce.security.principal import Principal

DRAW_EXISTS: Final = "draw_exists"
NO_CANDIDATES: Final = "no_candidates"
NOT_ENOUGH_INSPECTORS: Final = "not_enough_inspectors"
DUPLICATE_INSPECTORS: Final = "duplicate_inspectors"
UNKNOWN_INSPECTOR: Final = "unknown_inspector"
NOT_DRAWN: Final = "not_drawn"
RESULT_ALREADY_RECORDED: Final = "result_already_recorded"
INSPECTED_BEFORE_DRAW: Final = "inspected_before_draw"
DRAW_NOT_FOUND: Final = "draw_not_found"
INSPECTOR_EXISTS: Final = "inspector_exists"
INSPECTOR_NOT_FOUND: Final = "inspector_not_found"


# --- inspectors -----------------------------------------------------------------------------


async def register_inspector(
    session: AsyncSession, actor: Principal, cmd: InspectorCreate
) -> Inspector:
    """Add an inspector to the regulator's list."""
    await begin_write(session)
    row = Inspector(regulator_id=actor.org_id, code=cmd.code, name=cmd.name.strip())
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict("an inspector with this code is registered", code=INSPECTOR_EXISTS) from None
    return row


async def list_inspectors(
    session: AsyncSession, actor: Principal, limit: int, cursor: str | None
) -> Page[Inspector]:
    """The regulator's own inspectors."""
    stmt = select(Inspector).where(Inspector.regulator_id == actor.org_id)
    return await paginate(session, stmt, Inspector.id, limit, cursor)


async def retire_inspector(
    session: AsyncSession, actor: Principal, inspector_id: uuid.UUID
) -> Inspector:
    """Take an inspector off the list (idempotent); past draws keep their code."""
    await begin_write(session)
    row = await session.get(Inspector, inspector_id)
    if row is None or row.regulator_id != actor.org_id:
        raise NotFound("no such inspector", code=INSPECTOR_NOT_FOUND)
    if row.retired_at is None:
        row.retired_at = utcnow()
        await session.flush()
    return row


# --- the ledger checkpoint ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CheckpointRef:
    """The ledger checkpoint a seed is derived from."""

    size: int
    root_hash: bytes
    text: str | None


async def ledger_checkpoint(session: AsyncSession, ctx: AppContext) -> CheckpointRef:
    """The ban ledger's latest signed checkpoint (the signed empty-tree one before any entry).

    Uses ``workforce.ledger.service.latest_checkpoint(session, ctx)`` (``.size``,
    ``.root_hash``, ``.note``).
    """
    from workforce.ledger.service import latest_checkpoint  # noqa: PLC0415 - peer domain

    checkpoint = await latest_checkpoint(session, ctx)
    return CheckpointRef(int(checkpoint.size), bytes(checkpoint.root_hash), checkpoint.note)


# --- draws ----------------------------------------------------------------------------------


@dataclasses.dataclass
class DrawView:
    """A draw, its regulator, the names of the drawn institutions and the results so far."""

    draw: InspectionDraw
    regulator: Org
    names: dict[str, str]
    results: dict[str, InspectionResult]


def _draw_region(actor: Principal, requested: str | None) -> str:
    jurisdiction = actor.region or regions.NATIONAL
    region = requested or jurisdiction
    try:
        regions.validate_region_code(region)
    except regions.InvalidRegion as exc:
        raise Invalid(str(exc), code="invalid_region") from None
    if not regions.covers(jurisdiction, region):
        raise Forbidden("the region is outside your jurisdiction", code=OUT_OF_JURISDICTION)
    return region


async def _inspector_pool(
    session: AsyncSession, actor: Principal, requested: list[str] | None
) -> list[str]:
    if requested is None:
        stmt = select(Inspector.code).where(
            Inspector.regulator_id == actor.org_id, Inspector.retired_at.is_(None)
        )
        return sorted((await session.scalars(stmt)).all())
    if len(set(requested)) != len(requested):
        raise Invalid("the inspector list names someone twice", code=DUPLICATE_INSPECTORS)
    return sorted(requested)


async def create_draw(
    session: AsyncSession, ctx: AppContext, actor: Principal, cmd: DrawCreate
) -> DrawView:
    """Draw institutions and inspectors for a period from a ledger-derived seed."""
    region = _draw_region(actor, cmd.region_code)
    await begin_write(session)
    clash = await session.scalar(
        select(InspectionDraw.id).where(
            InspectionDraw.regulator_id == actor.org_id, InspectionDraw.period == cmd.period
        )
    )
    if clash is not None:
        raise Conflict(f"you already drew for {cmd.period}", code=DRAW_EXISTS)
    stmt = select(Org.id).where(
        Org.kind == "institution", Org.region_code.startswith(regions.jurisdiction_prefix(region))
    )
    if cmd.ownership is not None:
        stmt = stmt.where(Org.ownership == cmd.ownership)
    if cmd.filing_status is not None:
        stmt = stmt.where(Org.filing_status == cmd.filing_status)
    candidates = sorted(str(i) for i in (await session.scalars(stmt)).all())
    if not candidates:
        raise Invalid("no institution matches the draw's filters", code=NO_CANDIDATES)
    inspectors = await _inspector_pool(session, actor, cmd.inspectors)
    if len(inspectors) < cmd.inspectors_per_institution:
        raise Invalid(
            f"{cmd.inspectors_per_institution} inspectors per institution need at least as many "
            f"inspectors; {len(inspectors)} available",
            code=NOT_ENOUGH_INSPECTORS,
        )
    checkpoint = await ledger_checkpoint(session, ctx)
    seed = draw_core.derive_seed(checkpoint.root_hash, checkpoint.size, cmd.period, actor.org_id)
    sample_size = min(cmd.sample_size, len(candidates))
    result = draw_core.run_draw(
        seed, candidates, sample_size, inspectors, cmd.inspectors_per_institution
    )
    filters: dict[str, Any] = {
        "region_code": region,
        "ownership": cmd.ownership,
        "filing_status": cmd.filing_status,
    }
    row = InspectionDraw(
        regulator_id=actor.org_id,
        region_code=region,
        period=cmd.period,
        filters=filters,
        algorithm=draw_core.ALGORITHM,
        checkpoint_size=checkpoint.size,
        checkpoint_root=checkpoint.root_hash,
        checkpoint_text=checkpoint.text,
        seed=seed,
        candidates=candidates,
        inspector_candidates=inspectors,
        sample_size=sample_size,
        inspectors_per_institution=cmd.inspectors_per_institution,
        selection=[
            {"institution_id": s.institution_id, "inspectors": list(s.inspectors)}
            for s in result.selected
        ],
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict(f"you already drew for {cmd.period}", code=DRAW_EXISTS) from None
    return await _view(session, row)


async def _view(session: AsyncSession, row: InspectionDraw) -> DrawView:
    regulator = await session.get(Org, row.regulator_id)
    assert regulator is not None  # noqa: S101 - a foreign key guarantees it
    ids = [uuid.UUID(s["institution_id"]) for s in row.selection]
    names = (
        {
            str(org_id): name
            for org_id, name in (
                await session.execute(select(Org.id, Org.name).where(Org.id.in_(ids)))
            ).all()
        }
        if ids
        else {}
    )
    results = {
        str(r.institution_id): r
        for r in (
            await session.scalars(
                select(InspectionResult).where(InspectionResult.draw_id == row.id)
            )
        ).all()
    }
    return DrawView(row, regulator, names, results)


async def get_draw(session: AsyncSession, draw_id: uuid.UUID) -> DrawView:
    """A published draw (public)."""
    row = await session.get(InspectionDraw, draw_id)
    if row is None:
        raise NotFound("no such draw", code=DRAW_NOT_FOUND)
    return await _view(session, row)


async def list_draws(
    session: AsyncSession, actor: Principal, limit: int, cursor: str | None
) -> Page[DrawView]:
    """The regulator's own draws, oldest first."""
    stmt = select(InspectionDraw).where(InspectionDraw.regulator_id == actor.org_id)
    page = await paginate(session, stmt, InspectionDraw.id, limit, cursor)
    return Page(items=[await _view(session, r) for r in page.items], next_cursor=page.next_cursor)


async def record_result(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    draw_id: uuid.UUID,
    cmd: InspectionResultCreate,
    route: str = "",
) -> tuple[InspectionResult, service.EventView]:
    """Record the result of inspecting a drawn institution, as a credit event."""
    await begin_write(session)
    row = await session.get(InspectionDraw, draw_id)
    if row is None:
        raise NotFound("no such draw", code=DRAW_NOT_FOUND)
    if not regions.covers(actor.region or "", row.region_code):
        raise Forbidden("the draw is outside your jurisdiction", code=OUT_OF_JURISDICTION)
    if str(cmd.institution_id) not in {s["institution_id"] for s in row.selection}:
        raise Invalid("the institution was not drawn in this draw", code=NOT_DRAWN)
    if cmd.inspected_on > idnumber.today_in_china():
        raise Invalid("inspected_on must not be in the future", code=service.FUTURE_DATE)
    if cmd.inspected_on < drawn_on(row):
        raise Invalid("the inspection cannot precede the draw", code=INSPECTED_BEFORE_DRAW)
    existing = await session.scalar(
        select(InspectionResult.id).where(
            InspectionResult.draw_id == row.id,
            InspectionResult.institution_id == cmd.institution_id,
        )
    )
    if existing is not None:
        raise Conflict("the result of this inspection is recorded", code=RESULT_ALREADY_RECORDED)
    event_cmd = CreditEventCreate(
        institution_id=cmd.institution_id,
        type="passed_inspection" if cmd.result == "passed" else "failed_inspection",
        severity=cmd.severity,
        occurred_on=cmd.inspected_on,
        evidence_ref=cmd.evidence_ref,
    )
    view = await service.record_event(session, ctx, actor, event_cmd, route)
    result = InspectionResult(
        draw_id=row.id,
        institution_id=cmd.institution_id,
        result=cmd.result,
        inspected_on=cmd.inspected_on,
        event_id=view.event.id,
    )
    try:
        async with session.begin_nested():
            session.add(result)
    except IntegrityError:
        raise Conflict(
            "the result of this inspection is recorded", code=RESULT_ALREADY_RECORDED
        ) from None
    return result, view


def drawn_on(row: InspectionDraw) -> date:
    """The China date of a draw."""
    return (row.created_at + service.CHINA_OFFSET).date()
