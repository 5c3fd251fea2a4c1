"""Credit (诚信档案) events, appeals, grades and the public institution summary.

Events are insert-only.  What happens to an event afterwards is a *step* (an appeal, the
decision on it, a withdrawal) or a *correction* (a new event naming the one it replaces); the
status of an event is a fold over these (:func:`status_of`).  Grades are computed on demand by
the pure :mod:`workforce.credit.grading` from the events and the versioned rule table.

Who may do what:

* record, decide, withdraw: regulators whose jurisdiction covers the subject (recording) or the
  event's region (decisions).  A practitioner outside the jurisdiction is invisible (404: a
  person's existence must not leak); an institution outside it is ``out_of_jurisdiction`` (403:
  institutions are public, their summaries are published);
* appeal: the institution the event is about, or for a practitioner's event an institution
  that may see the practitioner (:func:`workforce.practitioners.service.can_see`: it employs
  or registered the person);
* grades of practitioners: regulators of the practitioner's jurisdiction; institution
  summaries: everyone.

Other domains call :func:`practitioner_grade` and :func:`institution_grade`.  This module calls
``workforce.ledger.service.subject_status`` (a ban forces grade D),
``workforce.certificates.service.held_certificates_many`` and ``workforce.hiring.models.Employment``
(the 持证率 of the public summary); each is imported when first needed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from workforce import hooks, regions
from workforce.audit.service import record_access
from workforce.context import AppContext
from workforce.credit import grading
from workforce.credit.grading import EventStatus, GradeEvent, GradeResult
from workforce.credit.models import (
    CreditEvent,
    CreditEventStep,
    CreditEvidenceSalt,
    InspectionResult,
)
from workforce.credit.schemas import (
    AppealCreate,
    AppealDecisionCreate,
    CreditEventCreate,
    WithdrawalCreate,
)
from workforce.db import begin_write, new_id, utcnow
from workforce.errors import (
    OUT_OF_JURISDICTION,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
)
from workforce.orgs.models import Org
from workforce.pagination import Page, paginate
from workforce.practitioners import service as practitioners
from workforce.practitioners.models import Practitioner
from workforce.security import idnumber
from workforce.security.principal import Principal

# Stable error codes of this domain.
UNKNOWN_EVENT_TYPE: Final = "unknown_event_type"
EVENT_TYPE_NOT_APPLICABLE: Final = "event_type_not_applicable"
POLARITY_MISMATCH: Final = "polarity_mismatch"
FUTURE_DATE: Final = "future_date"
SUBJECT_REQUIRED: Final = "subject_required"
APPEAL_PENDING: Final = "appeal_pending"
APPEAL_ALREADY_DECIDED: Final = "appeal_already_decided"
NO_PENDING_APPEAL: Final = "no_pending_appeal"
EVENT_WITHDRAWN: Final = "event_withdrawn"
EVENT_CORRECTED: Final = "event_corrected"
NOT_APPEALABLE: Final = "not_appealable"
CORRECTION_SUBJECT_MISMATCH: Final = "correction_subject_mismatch"
EVENT_NOT_FOUND: Final = "credit_event_not_found"
INSTITUTION_NOT_FOUND: Final = "institution_not_found"
PRACTITIONER_NOT_FOUND: Final = "practitioner_not_found"

EVIDENCE_DOMAIN: Final = b"workforce/credit/evidence/v1"
"""Domain-separation prefix of evidence commitments."""
EVIDENCE_KEY_INFO: Final = b"workforce/credit/evidence-key/v1"
"""HKDF ``info`` of the evidence commitment key."""
CHINA_OFFSET: Final = timedelta(hours=8)

# --- evidence commitments -------------------------------------------------------------------


def evidence_key(ctx: AppContext) -> bytes:
    """The HMAC key of evidence commitments: ``HKDF-SHA256(pii_index_key, info=
    "workforce/credit/evidence-key/v1")`` (RFC 5869), so it lives outside the database."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=EVIDENCE_KEY_INFO).derive(
        ctx.secrets.pii_index_key
    )


def evidence_commitment(key: bytes, salt: bytes, reference: str) -> bytes:
    """``HMAC-SHA256(key, "workforce/credit/evidence/v1" || salt[32] || UTF-8 reference)``.

    The reference is stripped of surrounding whitespace first.  Decision numbers (文书号) are
    easy to enumerate, so the commitment is keyed with a key kept outside the database (see
    :func:`evidence_key`) as well as salted: a copy of the database alone does not reveal the
    reference.  The salt lives apart from the insert-only event (``credit_evidence_salts``);
    deleting it forgets the reference for good.
    """
    message = EVIDENCE_DOMAIN + salt + reference.strip().encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).digest()


# --- event status ---------------------------------------------------------------------------


@dataclasses.dataclass
class EventView:
    """An event, its steps, and the event that corrected it (if any)."""

    event: CreditEvent
    steps: list[CreditEventStep]
    corrected_by: uuid.UUID | None

    @property
    def status(self) -> EventStatus:
        """Where the event stands."""
        return status_of(self.steps, corrected=self.corrected_by is not None)

    @property
    def counts(self) -> bool:
        """Whether it counts toward a grade (window aside)."""
        return self.status in grading.COUNTING_STATUSES

    def step(self, kind: str) -> CreditEventStep | None:
        """The step of this kind, if taken."""
        return next((s for s in self.steps if s.step == kind), None)


def status_of(steps: Iterable[CreditEventStep], *, corrected: bool) -> EventStatus:
    """Fold an event's steps: corrected > withdrawn > decided > contested > recorded."""
    by_kind = {s.step: s for s in steps}
    if corrected:
        return "corrected"
    if "withdrawal" in by_kind:
        return "withdrawn"
    decision = by_kind.get("decision")
    if decision is not None:
        return "overturned" if decision.outcome == "overturned" else "upheld"
    if "appeal" in by_kind:
        return "contested"
    return "recorded"


def _end_of_day_utc(day: date) -> datetime:
    """The last instant of ``day`` in China, as UTC."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC) - CHINA_OFFSET


async def load_views(
    session: AsyncSession, events: Sequence[CreditEvent], known_by: datetime | None = None
) -> list[EventView]:
    """Attach steps and corrections to events (as known at ``known_by`` when given)."""
    if not events:
        return []
    ids = [e.id for e in events]
    step_stmt = select(CreditEventStep).where(CreditEventStep.event_id.in_(ids))
    fix_stmt = select(CreditEvent.id, CreditEvent.corrects_id).where(
        CreditEvent.corrects_id.in_(ids)
    )
    if known_by is not None:
        step_stmt = step_stmt.where(CreditEventStep.created_at <= known_by)
        fix_stmt = fix_stmt.where(CreditEvent.created_at <= known_by)
    steps: dict[uuid.UUID, list[CreditEventStep]] = {}
    for step in (await session.scalars(step_stmt.order_by(CreditEventStep.id))).all():
        steps.setdefault(step.event_id, []).append(step)
    fixes = {row.corrects_id: row.id for row in (await session.execute(fix_stmt)).all()}
    return [EventView(e, steps.get(e.id, []), fixes.get(e.id)) for e in events]


async def _subject_events(
    session: AsyncSession,
    *,
    practitioner_id: uuid.UUID | None = None,
    institution_id: uuid.UUID | None = None,
    known_by: datetime | None = None,
) -> list[EventView]:
    stmt = select(CreditEvent)
    if practitioner_id is not None:
        stmt = stmt.where(CreditEvent.practitioner_id == practitioner_id)
    else:
        stmt = stmt.where(CreditEvent.institution_id == institution_id)
    if known_by is not None:
        stmt = stmt.where(CreditEvent.created_at <= known_by)
    events = list((await session.scalars(stmt.order_by(CreditEvent.id))).all())
    return await load_views(session, events, known_by)


# --- grades ---------------------------------------------------------------------------------


def _facts(views: Iterable[EventView]) -> list[GradeEvent]:
    return [
        GradeEvent(
            event_id=str(v.event.id),
            type=v.event.type,
            severity=v.event.severity,
            occurred_on=v.event.occurred_on,
            status=v.status,
        )
        for v in views
    ]


def _known_by(on: date | None, today: date) -> tuple[date, datetime | None]:
    if on is None or on >= today:
        return (on or today), None
    return on, _end_of_day_utc(on)


async def ban_status(
    session: AsyncSession, ctx: AppContext, person: Practitioner, on: date | None = None
) -> bool:
    """Whether the ban ledger shows a ban in force for the person on ``on`` (default today).

    The ID number is decrypted in memory for this call only and never logged.
    """
    from workforce.ledger.service import practitioner_banned  # noqa: PLC0415 - peer domain

    return await practitioner_banned(session, ctx, person, on)


async def practitioner_grade(
    session: AsyncSession, ctx: AppContext, practitioner_id: uuid.UUID, on: date | None = None
) -> GradeResult:
    """The credit grade of a practitioner on ``on`` (default today, China time).

    No visibility check: callers check the caller's right to see the practitioner first.  For
    a past ``on`` the grade is the one that could be computed then (events and steps recorded
    by the end of that day); the ban rule asks the ledger, as it stands now, whether a ban was
    in force on ``on``.

    Raises:
        NotFound: No such practitioner.
    """
    person = await session.get(Practitioner, practitioner_id)
    if person is None:
        raise NotFound("no such practitioner", code=PRACTITIONER_NOT_FOUND)
    on, known_by = _known_by(on, idnumber.today_in_china())
    views = await _subject_events(session, practitioner_id=person.id, known_by=known_by)
    banned = await ban_status(session, ctx, person, on)
    return grading.evaluate(
        _facts(views),
        grading.default_grade_rules(),
        grading.default_event_types(),
        on,
        banned=banned,
    )


async def institution_grade(
    session: AsyncSession, ctx: AppContext, institution_id: uuid.UUID, on: date | None = None
) -> GradeResult:
    """The credit grade of an institution on ``on`` (default today, China time).

    Raises:
        NotFound: No such institution.
    """
    del ctx  # same signature as practitioner_grade; institutions have no ledger entries
    org = await session.get(Org, institution_id)
    if org is None or org.kind != "institution":
        raise NotFound("no such institution", code=INSTITUTION_NOT_FOUND)
    on, known_by = _known_by(on, idnumber.today_in_china())
    views = await _subject_events(session, institution_id=org.id, known_by=known_by)
    return grading.evaluate(
        _facts(views), grading.default_grade_rules(), grading.default_event_types(), on
    )


async def _grade_of(session: AsyncSession, ctx: AppContext, event: CreditEvent) -> str:
    if event.practitioner_id is not None:
        return (await practitioner_grade(session, ctx, event.practitioner_id)).grade
    assert event.institution_id is not None  # noqa: S101 - a CHECK constraint guarantees it
    return (await institution_grade(session, ctx, event.institution_id)).grade


async def _notify_grade_change(
    session: AsyncSession,
    ctx: AppContext,
    event: CreditEvent,
    change: Callable[[], Awaitable[None]],
) -> None:
    """Run ``change``; emit ``credit_grade_changed`` when the subject's grade moved."""
    if not hooks.SUBSCRIBERS.get("credit_grade_changed"):
        await change()
        return
    previous = await _grade_of(session, ctx, event)
    await change()
    current = await _grade_of(session, ctx, event)
    if current != previous:
        subject: dict[str, Any] = (
            {"practitioner_id": event.practitioner_id}
            if event.practitioner_id is not None
            else {"institution_id": event.institution_id}
        )
        await hooks.emit(
            "credit_grade_changed", session, ctx, grade=current, previous=previous, **subject
        )


# --- recording ------------------------------------------------------------------------------


def _check_event_input(
    subject: grading.SubjectKind,
    type_code: str,
    polarity: str | None,
    severity: int | str | None,
    occurred_on: date,
) -> tuple[grading.EventType, int]:
    etype = grading.default_event_types().get(type_code)
    if etype is None:
        raise Invalid(f"unknown event type {type_code!r}", code=UNKNOWN_EVENT_TYPE)
    if subject not in etype.subjects:
        raise Invalid(
            f"events of type {type_code!r} are not recorded against a {subject}",
            code=EVENT_TYPE_NOT_APPLICABLE,
        )
    if polarity is not None and polarity != etype.polarity:
        raise Invalid(
            f"events of type {type_code!r} are {etype.polarity}, not {polarity}",
            code=POLARITY_MISMATCH,
        )
    if occurred_on > idnumber.today_in_china():
        raise Invalid("occurred_on must not be in the future", code=FUTURE_DATE)
    level = etype.default_severity if severity is None else grading.severity_level(severity)
    return etype, level


async def _load_subject(
    session: AsyncSession, actor: Principal, cmd: CreditEventCreate, route: str
) -> str:
    """The subject's region; 404 / 403 per the module rules."""
    if cmd.practitioner_id is not None:
        person = await practitioners.get_visible(
            session, actor, cmd.practitioner_id, action="credit_event", route=route
        )
        return person.region_code
    org = await session.get(Org, cmd.institution_id)
    if org is None or org.kind != "institution" or org.region_code is None:
        raise NotFound("no such institution", code=INSTITUTION_NOT_FOUND)
    if not regions.covers(actor.region or "", org.region_code):
        raise Forbidden("the institution is outside your jurisdiction", code=OUT_OF_JURISDICTION)
    return org.region_code


async def record_event(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    cmd: CreditEventCreate,
    route: str = "",
) -> EventView:
    """Record a credit event (regulators, in their jurisdiction); optionally a correction."""
    if (cmd.practitioner_id is None) == (cmd.institution_id is None):
        raise Invalid(
            "give exactly one of practitioner_id and institution_id", code=SUBJECT_REQUIRED
        )
    subject: grading.SubjectKind = (
        "practitioner" if cmd.practitioner_id is not None else "institution"
    )
    etype, level = _check_event_input(
        subject, cmd.type, cmd.polarity, cmd.severity, cmd.occurred_on
    )
    await begin_write(session)
    region = await _load_subject(session, actor, cmd, route)
    corrected: EventView | None = None
    if cmd.corrects_event_id is not None:
        corrected = await _visible_event(session, actor, cmd.corrects_event_id)
        if (corrected.event.practitioner_id, corrected.event.institution_id) != (
            cmd.practitioner_id,
            cmd.institution_id,
        ):
            raise Invalid(
                "a correction must be about the same subject as the event it corrects",
                code=CORRECTION_SUBJECT_MISMATCH,
            )
        _require_decider(actor, corrected.event)
        if corrected.corrected_by is not None:
            raise Conflict("this event has already been corrected", code=EVENT_CORRECTED)
    event_id = new_id()
    salt = ctx.vault.commitment_salt() if cmd.evidence_ref else None
    event = CreditEvent(
        id=event_id,
        practitioner_id=cmd.practitioner_id,
        institution_id=cmd.institution_id,
        region_code=region,
        type=etype.code,
        polarity=etype.polarity,
        severity=level,
        occurred_on=cmd.occurred_on,
        recorded_by=actor.org_id,
        recorded_by_client=actor.client_id,
        evidence_commitment=(
            evidence_commitment(evidence_key(ctx), salt, cmd.evidence_ref)
            if salt and cmd.evidence_ref
            else None
        ),
        corrects_id=cmd.corrects_event_id,
        rules_version=grading.default_event_types().version,
    )

    async def change() -> None:
        try:
            async with session.begin_nested():
                session.add(event)
                if salt is not None:
                    session.add(CreditEvidenceSalt(event_id=event_id, salt=salt))
        except IntegrityError:
            raise Conflict("this event has already been corrected", code=EVENT_CORRECTED) from None

    await _notify_grade_change(session, ctx, event, change)
    return EventView(event, [], None)


# --- visibility -----------------------------------------------------------------------------


async def _can_see_event(session: AsyncSession, actor: Principal, event: CreditEvent) -> bool:
    if actor.role not in {"regulator", "institution"}:
        return False
    if event.institution_id is not None:
        if actor.role == "institution":
            return event.institution_id == actor.org_id
        return regions.covers(actor.region or "", event.region_code)
    person = await session.get(Practitioner, event.practitioner_id)
    if person is None:
        return False
    if actor.role == "institution":
        return await practitioners.can_see(session, actor, person)
    return regions.covers(actor.region or "", event.region_code) or practitioners.in_jurisdiction(
        actor, person.region_code
    )


async def _visible_event(session: AsyncSession, actor: Principal, event_id: uuid.UUID) -> EventView:
    event = await session.get(CreditEvent, event_id)
    if event is None or not await _can_see_event(session, actor, event):
        raise NotFound("no such credit event", code=EVENT_NOT_FOUND)
    return (await load_views(session, [event]))[0]


def _require_decider(actor: Principal, event: CreditEvent) -> None:
    """Decisions on an event belong to regulators covering the region it was recorded in."""
    if actor.role != "regulator" or not regions.covers(actor.region or "", event.region_code):
        raise Forbidden(
            "the event was recorded outside your jurisdiction", code=OUT_OF_JURISDICTION
        )


async def get_event(
    session: AsyncSession, actor: Principal, event_id: uuid.UUID, route: str = ""
) -> EventView:
    """One event the caller may see (404 otherwise); reads of a person's event are logged."""
    view = await _visible_event(session, actor, event_id)
    if view.event.practitioner_id is not None:
        record_access(
            session,
            actor,
            action="credit_read",
            route=route,
            practitioner_id=view.event.practitioner_id,
            outcome="ok",
        )
    return view


async def list_events(
    session: AsyncSession,
    actor: Principal,
    *,
    practitioner_id: uuid.UUID | None,
    institution_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
    route: str = "",
) -> Page[EventView]:
    """Events the caller may see, oldest first.

    Regulators: everything recorded in their jurisdiction, or one subject's whole file.
    Institutions: their own file, or the file of a practitioner they may see.
    """
    stmt: Select[Any] = select(CreditEvent)
    if practitioner_id is not None:
        await practitioners.get_visible(
            session, actor, practitioner_id, action="credit_read", route=route
        )
        stmt = stmt.where(CreditEvent.practitioner_id == practitioner_id)
    elif institution_id is not None:
        org = await session.get(Org, institution_id)
        visible = (
            org is not None
            and org.kind == "institution"
            and (
                org.id == actor.org_id
                if actor.role == "institution"
                else practitioners.in_jurisdiction(actor, org.region_code)
            )
        )
        if not visible:
            raise NotFound("no such institution", code=INSTITUTION_NOT_FOUND)
        stmt = stmt.where(CreditEvent.institution_id == institution_id)
    elif actor.role == "regulator":
        prefix = regions.jurisdiction_prefix(actor.region or "")
        stmt = stmt.where(CreditEvent.region_code.startswith(prefix))
    else:
        stmt = stmt.where(CreditEvent.institution_id == actor.org_id)
    page = await paginate(session, stmt, CreditEvent.id, limit, cursor)
    return Page(items=await load_views(session, page.items), next_cursor=page.next_cursor)


# --- appeals and withdrawals ----------------------------------------------------------------


def _refuse_if_closed(view: EventView) -> None:
    if view.corrected_by is not None:
        raise Conflict("the event has been corrected; appeal the correction", code=EVENT_CORRECTED)
    if view.step("withdrawal") is not None:
        raise Conflict("the event has been withdrawn", code=EVENT_WITHDRAWN)


async def _add_step(
    session: AsyncSession, step: CreditEventStep, *, clash_code: str, clash_detail: str
) -> None:
    try:
        async with session.begin_nested():
            session.add(step)
    except IntegrityError:
        raise Conflict(clash_detail, code=clash_code) from None


async def appeal(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    event_id: uuid.UUID,
    cmd: AppealCreate,
) -> EventView:
    """An institution asks for review (复查) of an event: the event becomes ``contested``.

    The event keeps counting until the appeal is decided.
    """
    del ctx
    await begin_write(session)
    view = await _visible_event(session, actor, event_id)
    _refuse_if_closed(view)
    if view.step("decision") is not None:
        raise Conflict("the appeal of this event has been decided", code=APPEAL_ALREADY_DECIDED)
    if view.step("appeal") is not None:
        raise Conflict("an appeal of this event is pending", code=APPEAL_PENDING)
    if view.event.polarity != "negative":
        raise Invalid("only negative events can be appealed", code=NOT_APPEALABLE)
    step = CreditEventStep(
        event_id=view.event.id,
        step="appeal",
        org_id=actor.org_id,
        client_id=actor.client_id,
        note=cmd.grounds.strip(),
    )
    await _add_step(
        session, step, clash_code=APPEAL_PENDING, clash_detail="an appeal of this event is pending"
    )
    return EventView(view.event, [*view.steps, step], view.corrected_by)


async def decide_appeal(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    event_id: uuid.UUID,
    cmd: AppealDecisionCreate,
) -> EventView:
    """A regulator decides a pending appeal: ``upheld`` (still counts) or ``overturned``."""
    await begin_write(session)
    view = await _visible_event(session, actor, event_id)
    _require_decider(actor, view.event)
    _refuse_if_closed(view)
    if view.step("decision") is not None:
        raise Conflict("the appeal of this event has been decided", code=APPEAL_ALREADY_DECIDED)
    if view.step("appeal") is None:
        raise Conflict("there is no pending appeal of this event", code=NO_PENDING_APPEAL)
    step = CreditEventStep(
        event_id=view.event.id,
        step="decision",
        outcome=cmd.outcome,
        org_id=actor.org_id,
        client_id=actor.client_id,
        note=cmd.reason.strip(),
    )

    async def change() -> None:
        await _add_step(
            session,
            step,
            clash_code=APPEAL_ALREADY_DECIDED,
            clash_detail="the appeal of this event has been decided",
        )

    await _notify_grade_change(session, ctx, view.event, change)
    return EventView(view.event, [*view.steps, step], view.corrected_by)


async def withdraw(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    event_id: uuid.UUID,
    cmd: WithdrawalCreate,
) -> EventView:
    """A regulator withdraws an event recorded in error (a step; the event stops counting)."""
    await begin_write(session)
    view = await _visible_event(session, actor, event_id)
    _require_decider(actor, view.event)
    _refuse_if_closed(view)
    step = CreditEventStep(
        event_id=view.event.id,
        step="withdrawal",
        org_id=actor.org_id,
        client_id=actor.client_id,
        note=cmd.reason.strip(),
    )

    async def change() -> None:
        await _add_step(
            session, step, clash_code=EVENT_WITHDRAWN, clash_detail="the event has been withdrawn"
        )

    await _notify_grade_change(session, ctx, view.event, change)
    return EventView(view.event, [*view.steps, step], view.corrected_by)


async def check_evidence(
    session: AsyncSession, ctx: AppContext, actor: Principal, event_id: uuid.UUID, reference: str
) -> bool:
    """Whether ``reference`` opens the event's evidence commitment (regulators)."""
    view = await _visible_event(session, actor, event_id)
    salt = await session.get(CreditEvidenceSalt, view.event.id)
    if salt is None or view.event.evidence_commitment is None:
        return False
    return hmac.compare_digest(
        evidence_commitment(evidence_key(ctx), salt.salt, reference),
        view.event.evidence_commitment,
    )


# --- practitioner credit (regulators) -------------------------------------------------------


async def practitioner_credit(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    practitioner_id: uuid.UUID,
    on: date | None,
    route: str = "",
) -> tuple[Practitioner, GradeResult]:
    """A practitioner's grade for a regulator of its jurisdiction (access-logged)."""
    if on is not None and on > idnumber.today_in_china():
        raise Invalid("the evaluation date must not be in the future", code=FUTURE_DATE)
    person = await practitioners.get_visible(
        session, actor, practitioner_id, action="credit_read", route=route
    )
    return person, await practitioner_grade(session, ctx, person.id, on)


# --- public institution summary -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CertifiedShareResult:
    """持证率 of an institution's current staff."""

    staff_count: int
    required_count: int
    certified_count: int
    as_of: date

    @property
    def rate(self) -> float | None:
        """certified / required, 4 decimals; None when no current employee needs a certificate."""
        if self.required_count == 0:
            return None
        return round(self.certified_count / self.required_count, 4)


async def current_employments(
    session: AsyncSession, institution_id: uuid.UUID
) -> list[tuple[uuid.UUID, str]]:
    """``(practitioner_id, position)`` of the institution's current employments (hiring's
    ``Employment`` rows not ended), in hiring order."""
    from workforce.hiring.models import Employment  # noqa: PLC0415 - peer domain

    rows = await session.execute(
        select(Employment.practitioner_id, Employment.position)
        .where(Employment.org_id == institution_id, Employment.ended_on.is_(None))
        .order_by(Employment.id)
    )
    return [(row.practitioner_id, row.position) for row in rows.all()]


async def certified_share(
    session: AsyncSession, ctx: AppContext, institution_id: uuid.UUID, today: date
) -> CertifiedShareResult:
    """持证率: of the current employees whose position requires a certificate, the share
    holding a valid certificate that position accepts.

    The same definition as the institution's staff view (hiring): positions that require no
    certificate (cook, security…) are counted as staff but not in the rate; revoked, suspended
    and expired certificates do not count.  Depends on :func:`current_employments` (hiring),
    ``workforce.certificates.service.held_certificates_many`` and the position catalog.
    """
    from workforce.certificates.service import held_certificates_many  # noqa: PLC0415
    from workforce.policy.catalog import UnknownPositionError, evaluate_position  # noqa: PLC0415

    current = await current_employments(session, institution_id)
    held = await held_certificates_many(session, [pid for pid, _ in current], today)
    required = certified = 0
    for practitioner_id, code in current:
        try:
            position = ctx.catalog.position(code)
        except UnknownPositionError:
            continue
        if not position.requires_any_certificate:
            continue
        required += 1
        if not evaluate_position(position, held.get(practitioner_id, [])):
            certified += 1
    return CertifiedShareResult(len(current), required, certified, today)


@dataclasses.dataclass(frozen=True)
class InstitutionSummaryResult:
    """What the public summary shows."""

    org: Org
    grade: GradeResult
    share: CertifiedShareResult
    views: list[EventView]
    inspection_draws: dict[uuid.UUID, uuid.UUID]
    generated_at: datetime


async def institution_summary(
    session: AsyncSession, ctx: AppContext, institution_id: uuid.UUID
) -> InstitutionSummaryResult:
    """The public summary (公示) of an institution; no person's data."""
    org = await session.get(Org, institution_id)
    if org is None or org.kind != "institution":
        raise NotFound("no such institution", code=INSTITUTION_NOT_FOUND)
    today = idnumber.today_in_china()
    grade = await institution_grade(session, ctx, org.id, today)
    views = await _subject_events(session, institution_id=org.id)
    share = await certified_share(session, ctx, org.id, today)
    rows = await session.execute(
        select(InspectionResult.event_id, InspectionResult.draw_id).where(
            InspectionResult.institution_id == org.id
        )
    )
    draws = {row.event_id: row.draw_id for row in rows.all()}
    return InstitutionSummaryResult(org, grade, share, views, draws, utcnow())
