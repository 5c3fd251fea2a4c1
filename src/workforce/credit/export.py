"""Export of credit records for the national credit information platform (schema v1).

The schema is documented field by field in ``docs/credit-export.md``.  A person appears only by
name and masked ID number; evidence appears only as its commitment.  ``since`` selects the
records created *or changed* (appealed, decided, withdrawn, corrected) since the start of that
day, China time, so that a platform can synchronise incrementally.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any, Final

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from workforce import regions
from workforce.audit.service import record_access
from workforce.credit import grading
from workforce.credit.models import CreditEvent, CreditEventStep
from workforce.credit.schemas import ExportRecord
from workforce.credit.service import CHINA_OFFSET, EventView, load_views
from workforce.orgs.models import Org
from workforce.practitioners.models import Practitioner
from workforce.security.principal import Principal

SCHEMA_VERSION: Final = "workforce/credit-export/v1"
CSV_FIELDS: Final[tuple[str, ...]] = tuple(ExportRecord.__struct_fields__)
"""CSV column order: the fields of :class:`ExportRecord`, in declaration order."""


def _since_utc(since: date) -> datetime:
    return datetime.combine(since, time(), tzinfo=UTC) - CHINA_OFFSET


def _updated_at(view: EventView, corrections: dict[uuid.UUID, datetime]) -> datetime:
    times = [view.event.created_at, *(s.created_at for s in view.steps)]
    if view.event.id in corrections:
        times.append(corrections[view.event.id])
    return max(times)


async def export_records(
    session: AsyncSession, actor: Principal, since: date | None, route: str = ""
) -> list[ExportRecord]:
    """Credit records of the regulator's jurisdiction, oldest first (one access-log row)."""
    prefix = regions.jurisdiction_prefix(actor.region or "")
    stmt = select(CreditEvent).where(CreditEvent.region_code.startswith(prefix))
    if since is not None:
        start = _since_utc(since)
        stepped = select(CreditEventStep.event_id).where(CreditEventStep.created_at >= start)
        corrected = select(CreditEvent.corrects_id).where(
            CreditEvent.created_at >= start, CreditEvent.corrects_id.is_not(None)
        )
        stmt = stmt.where(
            or_(
                CreditEvent.created_at >= start,
                CreditEvent.id.in_(stepped),
                CreditEvent.id.in_(corrected),
            )
        )
    events = list((await session.scalars(stmt.order_by(CreditEvent.id))).all())
    views = await load_views(session, events)
    records = await _records(session, views)
    record_access(
        session, actor, action="credit_export", route=route, outcome=f"{len(records)} records"
    )
    await session.flush()
    return records


async def _records(session: AsyncSession, views: Sequence[EventView]) -> list[ExportRecord]:
    person_ids = {v.event.practitioner_id for v in views if v.event.practitioner_id}
    org_ids = {v.event.institution_id for v in views if v.event.institution_id} | {
        v.event.recorded_by for v in views
    }
    people = (
        {
            p.id: p
            for p in (
                await session.scalars(select(Practitioner).where(Practitioner.id.in_(person_ids)))
            ).all()
        }
        if person_ids
        else {}
    )
    orgs = (
        {o.id: o for o in (await session.scalars(select(Org).where(Org.id.in_(org_ids)))).all()}
        if org_ids
        else {}
    )
    corrections = (
        {
            row.corrects_id: row.created_at
            for row in (
                await session.execute(
                    select(CreditEvent.corrects_id, CreditEvent.created_at).where(
                        CreditEvent.corrects_id.in_([v.event.id for v in views])
                    )
                )
            ).all()
        }
        if views
        else {}
    )
    types = grading.default_event_types()
    records: list[ExportRecord] = []
    for view in views:
        event = view.event
        etype = types.get(event.type)
        if event.practitioner_id is not None:
            person = people[event.practitioner_id]
            subject_type, subject_id, name = "practitioner", person.id, person.name
            uscc, masked = None, person.id_masked
        else:
            assert event.institution_id is not None  # noqa: S101 - CHECK constraint
            org = orgs[event.institution_id]
            subject_type, subject_id, name = "institution", org.id, org.name
            uscc, masked = org.uscc, None
        records.append(
            ExportRecord(
                record_id=event.id,
                subject_type=subject_type,  # type: ignore[arg-type]
                subject_id=subject_id,
                subject_name=name,
                subject_uscc=uscc,
                subject_id_number_masked=masked,
                region_code=event.region_code,
                event_type=event.type,
                event_type_name=etype.name if etype else event.type,
                polarity=event.polarity,  # type: ignore[arg-type]
                severity=event.severity,
                severity_name=grading.severity_name(event.severity),
                occurred_on=event.occurred_on,
                recorded_at=event.created_at,
                recorded_by_org_id=event.recorded_by,
                recorded_by_org_name=orgs[event.recorded_by].name,
                status=view.status,
                counts=view.counts,
                corrects_record_id=event.corrects_id,
                evidence_commitment=(
                    event.evidence_commitment.hex() if event.evidence_commitment else None
                ),
                updated_at=_updated_at(view, corrections),
            )
        )
    return records


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv(records: Sequence[ExportRecord]) -> str:
    """RFC 4180 CSV (UTF-8, CRLF line ends, header row): the same fields as the JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for record in records:
        row = msgspec.to_builtins(record)
        writer.writerow([_cell(row[field]) for field in CSV_FIELDS])
    return buffer.getvalue()
