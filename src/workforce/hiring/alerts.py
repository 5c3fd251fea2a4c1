"""Alerts for current employers, and the hook subscribers that raise them.

A change in a person's standing (a ban recorded, a certificate revoked, suspended or expired, a
yearly training rule missed) reaches every institution that employs the person *now* (not a
previous employer) as an alert, and, if the institution registered a webhook, as a delivery in
the outbox.  Subscribers run inside the transaction of the change (``hooks.emit``), so the
alert, its delivery and the change commit or roll back together.

Each alert has a dedupe key ``<employment>|<cause>|<period>``: a re-run of the same event or of
the re-check raises nothing twice.  Alert text is Simplified Chinese and names the employee by
name and masked ID number only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from workforce import regions
from workforce.db import begin_write, utcnow
from workforce.errors import NotFound
from workforce.hiring import sources, webhooks
from workforce.hiring.admission import BANNED, CERTIFICATE_CODES, evaluate
from workforce.hiring.models import Alert, Employment
from workforce.orgs.models import Org
from workforce.pagination import Page, paginate
from workforce.policy.catalog import UnknownPositionError, evaluate_position
from workforce.practitioners.models import Practitioner
from workforce.practitioners.service import id_number_of
from workforce.security.idnumber import today_in_china

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable

    from sqlalchemy.ext.asyncio import AsyncSession

    from workforce.context import AppContext
    from workforce.security.principal import Principal

ALERT_EVENT: Final = "alert.created"
KIND_BANNED: Final = "banned"
KIND_TRAINING_LAPSED: Final = "training_lapsed"
KIND_RECHECK_FAILED: Final = "recheck_failed"
_STATUS_KINDS: Final = {
    "revoked": "certificate_revoked",
    "suspended": "certificate_suspended",
    "expired": "certificate_expired",
}
_STATUS_WORDS: Final = {"revoked": "撤销", "suspended": "暂停", "expired": "到期失效"}
_BAN_KIND_WORDS: Final = {"lifetime": "终身禁止", "fixed_term": "限期禁止"}


def position_name(ctx: AppContext, code: str) -> str:
    """The Chinese name of a position (the code if it left the catalog)."""
    try:
        return ctx.catalog.position(code).name
    except UnknownPositionError:
        return code


async def current_employments(
    session: AsyncSession, practitioner_id: uuid.UUID
) -> list[Employment]:
    """The person's current employments (one per institution at most)."""
    stmt = select(Employment).where(
        Employment.practitioner_id == practitioner_id, Employment.ended_on.is_(None)
    )
    return list((await session.scalars(stmt)).all())


def set_status(employment: Employment, codes: Iterable[str]) -> None:
    """Store the result of an evaluation on the employment."""
    ordered = sorted(set(codes))
    employment.failing_codes = ordered
    employment.passes = not ordered
    employment.evaluated_at = utcnow()


def replace_codes(employment: Employment, drop: Iterable[str], add: Iterable[str]) -> None:
    """Update part of the stored status (e.g. only the certificate codes)."""
    dropped = set(drop)
    kept = [c for c in employment.failing_codes if c not in dropped]
    set_status(employment, [*kept, *add])


def alert_data(alert: Alert, person: Practitioner) -> dict[str, Any]:
    """The alert as sent to a webhook (and shown by the API)."""
    return {
        "alert_id": str(alert.id),
        "org_id": str(alert.org_id),
        "employment_id": str(alert.employment_id),
        "practitioner_id": str(alert.practitioner_id),
        "name": person.name,
        "id_number_masked": person.id_masked,
        "kind": alert.kind,
        "message": alert.message,
        "details": alert.details,
        "created_at": alert.created_at.isoformat().replace("+00:00", "Z"),
    }


async def raise_alert(
    session: AsyncSession,
    employment: Employment,
    person: Practitioner,
    *,
    kind: str,
    cause: str,
    period: str,
    message: str,
    details: dict[str, Any],
) -> Alert | None:
    """Add an alert (and its webhook delivery) unless one with the same dedupe key exists."""
    key = f"{employment.id}|{cause}|{period}"[:200]
    if await session.scalar(select(Alert.id).where(Alert.dedupe_key == key)) is not None:
        return None
    alert = Alert(
        created_at=utcnow(),
        org_id=employment.org_id,
        region_code=employment.region_code,
        employment_id=employment.id,
        practitioner_id=person.id,
        kind=kind,
        message=message,
        details=details,
        dedupe_key=key,
    )
    try:
        async with session.begin_nested():
            session.add(alert)
    except IntegrityError:  # raised concurrently by another process
        return None
    url = await session.scalar(select(Org.webhook_url).where(Org.id == employment.org_id))
    if url is not None:
        webhooks.enqueue(
            session, employment.org_id, ALERT_EVENT, alert_data(alert, person), alert.id
        )
    return alert


def _who(person: Practitioner) -> str:
    return f"{person.name}（{person.id_masked}）"


# --------------------------------------------------------------------------- subscribers


async def on_ban_recorded(
    session: AsyncSession,
    ctx: AppContext,
    *,
    practitioner_id: uuid.UUID | None = None,
    seq: int | None = None,
    kind: str | None = None,
    **_: Any,
) -> None:
    """``ban_recorded``: alert each current employer; the employment no longer passes."""
    if practitioner_id is None:
        return
    person = await session.get(Practitioner, practitioner_id)
    if person is None:
        return
    for employment in await current_employments(session, practitioner_id):
        replace_codes(employment, [], [BANNED])
        kind_word = _BAN_KIND_WORDS.get(kind or "", "从业禁止")
        await raise_alert(
            session,
            employment,
            person,
            kind=KIND_BANNED,
            cause=KIND_BANNED,
            period=f"seq-{seq}" if seq is not None else today_in_china().isoformat(),
            message=(
                f"【从业禁止】贵机构在职人员{_who(person)}"
                f"（岗位：{position_name(ctx, employment.position)}）"
                f"已被列入托育从业禁止名单（{kind_word}），不得继续从事托育服务工作。"
                "请立即调整其工作安排，并按规定处理劳动关系。"
            ),
            details={"ledger_seq": seq, "ban_kind": kind},
        )
    await session.flush()


async def on_ban_corrected(
    session: AsyncSession,
    ctx: AppContext,
    *,
    practitioner_id: uuid.UUID | None = None,
    **_: Any,
) -> None:
    """``ban_corrected``: a ban was quashed or amended; re-evaluate (no alert is raised)."""
    if practitioner_id is None:
        return
    person = await session.get(Practitioner, practitioner_id)
    employments = await current_employments(session, practitioner_id)
    if person is None or not employments:
        return
    number = id_number_of(ctx, person)
    today = today_in_china()
    for employment in employments:
        try:
            position = ctx.catalog.position(employment.position)
        except UnknownPositionError:
            continue
        result = await evaluate(
            session, ctx, person=person, id_number=number, position=position, today=today
        )
        set_status(employment, result.codes)
    await session.flush()


async def on_certificate_status_changed(
    session: AsyncSession,
    ctx: AppContext,
    *,
    practitioner_id: uuid.UUID,
    serial: str,
    status: str,
    reason: str | None = None,
    **_: Any,
) -> None:
    """``certificate_status_changed``: re-evaluate the certificate part; alert on a loss."""
    person = await session.get(Practitioner, practitioner_id)
    if person is None:
        return
    employments = await current_employments(session, practitioner_id)
    if not employments:
        return
    today = today_in_china()
    held = await sources.held_certificates(session, practitioner_id, today)
    kind = _STATUS_KINDS.get(status)
    for employment in employments:
        try:
            found = evaluate_position(ctx.catalog.position(employment.position), held)
        except UnknownPositionError:
            found = []
        replace_codes(employment, CERTIFICATE_CODES, [r.code for r in found])
        if kind is None:
            continue
        position = position_name(ctx, employment.position)
        consequence = (
            f"其已不再满足“{position}”岗位的持证要求，请及时调整其岗位。"
            if found
            else f"其仍持有满足“{position}”岗位要求的其他有效证书。"
        )
        await raise_alert(
            session,
            employment,
            person,
            kind=kind,
            cause=f"{kind}:{serial}",
            period=today.isoformat(),
            message=(
                f"【证书{_STATUS_WORDS[status]}】贵机构在职人员{_who(person)}的证书"
                f"（编号 {serial}）已{_STATUS_WORDS[status]}。{consequence}"
            ),
            details={
                "serial": serial,
                "status": status,
                "still_qualified": not found,
                "reasons": [r.code for r in found],
            },
        )
    await session.flush()


async def on_training_lapsed(
    session: AsyncSession,
    ctx: AppContext,
    *,
    practitioner_id: uuid.UUID,
    year: int,
    rule_ids: list[str],
    **_: Any,
) -> None:
    """``training_lapsed``: a yearly rule was missed; alert each current employer once a year."""
    person = await session.get(Practitioner, practitioner_id)
    if person is None or not rule_ids:
        return
    titles = []
    for rule_id in rule_ids:
        try:
            titles.append(ctx.rules.rule(rule_id).title)
        except Exception:
            titles.append(rule_id)
    for employment in await current_employments(session, practitioner_id):
        await raise_alert(
            session,
            employment,
            person,
            kind=KIND_TRAINING_LAPSED,
            cause=KIND_TRAINING_LAPSED,
            period=str(year),
            message=(
                f"【年度培训未达标】贵机构在职人员{_who(person)}{year}年度未完成以下年度培训要求："
                f"{'；'.join(titles)}。请督促其尽快补足学时。"
            ),
            details={"year": year, "rule_ids": sorted(rule_ids)},
        )
    await session.flush()


# --------------------------------------------------------------------------- reading


def _visible_filter(actor: Principal) -> Any:
    if actor.role == "regulator":
        return Alert.region_code.startswith(regions.jurisdiction_prefix(actor.region or ""))
    return Alert.org_id == actor.org_id


async def list_alerts(
    session: AsyncSession,
    actor: Principal,
    *,
    unacknowledged: bool,
    kind: str | None,
    limit: int,
    cursor: str | None,
) -> Page[tuple[Alert, Practitioner]]:
    """Alerts of the institution (regulators: their jurisdiction), newest first."""
    stmt = select(Alert).where(_visible_filter(actor))
    if unacknowledged:
        stmt = stmt.where(Alert.acknowledged_at.is_(None))
    if kind:
        stmt = stmt.where(Alert.kind == kind)
    page = await paginate(session, stmt, Alert.id, limit, cursor, descending=True)
    people = await _people(session, {a.practitioner_id for a in page.items})
    return Page(
        items=[(a, people[a.practitioner_id]) for a in page.items], next_cursor=page.next_cursor
    )


async def _people(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Practitioner]:
    if not ids:
        return {}
    rows = await session.scalars(select(Practitioner).where(Practitioner.id.in_(ids)))
    return {p.id: p for p in rows}


async def acknowledge(
    session: AsyncSession, actor: Principal, alert_id: uuid.UUID
) -> tuple[Alert, Practitioner]:
    """Acknowledge one of the institution's alerts (idempotent; another's: 404)."""
    await begin_write(session)
    alert = await session.get(Alert, alert_id)
    if alert is None or alert.org_id != actor.org_id:
        raise NotFound("no such alert", code="alert_not_found")
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by = actor.client_id
        await session.flush()
    person = await session.get(Practitioner, alert.practitioner_id)
    assert person is not None  # noqa: S101 - a foreign key
    return alert, person
