"""Credit routes: events and appeals, grades, the public institution summary, random
inspection draws and the export for the national credit information platform."""

from __future__ import annotations

import base64
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from workforce.context import AppContext
from workforce.credit import export, grading, inspections, service
from workforce.credit.models import Inspector as InspectorRow
from workforce.credit.schemas import (
    AppealCreate,
    AppealDecisionCreate,
    CeilingOut,
    CertifiedShare,
    Checkpoint,
    CreditEvent,
    CreditEventCreate,
    CreditExport,
    Draw,
    DrawCreate,
    DrawnInstitution,
    EventStep,
    EventTypeOut,
    EventTypesOut,
    EvidenceCheck,
    EvidenceCheckResult,
    GradeBandOut,
    GradeRulesOut,
    InspectionOutcome,
    InspectionResultCreate,
    InspectionResultRecorded,
    Inspector,
    InspectorCreate,
    InstitutionCreditSummary,
    PractitionerCredit,
    PublicEvent,
    WithdrawalCreate,
)
from workforce.db import utcnow
from workforce.idempotency import fingerprint, idempotent
from workforce.pagination import DEFAULT_LIMIT, Page
from workforce.regions import region_name
from workforce.routes.deps import IdempotencyKey, route_of
from workforce.security.guards import requires_role
from workforce.security.principal import Principal

# --- wire conversions -----------------------------------------------------------------------


def to_event(view: service.EventView) -> CreditEvent:
    """Wire form of an event."""
    event = view.event
    etype = grading.default_event_types().get(event.type)
    return CreditEvent(
        event_id=event.id,
        subject_type="practitioner" if event.practitioner_id is not None else "institution",
        practitioner_id=event.practitioner_id,
        institution_id=event.institution_id,
        region_code=event.region_code,
        type=event.type,
        type_name=etype.name if etype else event.type,
        polarity=event.polarity,  # type: ignore[arg-type]
        severity=grading.severity_name(event.severity),
        severity_level=event.severity,
        occurred_on=event.occurred_on,
        recorded_at=event.created_at,
        recorded_by=event.recorded_by,
        status=view.status,
        counts=view.counts,
        evidence_commitment=event.evidence_commitment.hex() if event.evidence_commitment else None,
        corrects_event_id=event.corrects_id,
        corrected_by_event_id=view.corrected_by,
        steps=[
            EventStep(
                step=s.step,  # type: ignore[arg-type]
                outcome=s.outcome,  # type: ignore[arg-type]
                org_id=s.org_id,
                note=s.note,
                at=s.created_at,
            )
            for s in view.steps
        ],
    )


def _grade_fields(result: grading.GradeResult) -> dict[str, Any]:
    return {
        "grade": result.grade,
        "label": result.label,
        "joint_punishment": result.joint_punishment,
        "joint_incentive": result.joint_incentive,
        "score": result.score,
        "points": result.points,
        "positive_points": result.positive_points,
        "positive_points_uncapped": result.positive_points_uncapped,
        "negative_points": result.negative_points,
        "base_score": result.base_score,
        "decided_by": result.decided_by,
        "window_from": result.window_from,
        "window_to": result.window_to,
        "rules_version": result.rules_version,
        "event_types_version": result.event_types_version,
        "explanation": list(result.explanation),
    }


def to_summary(found: service.InstitutionSummaryResult) -> InstitutionCreditSummary:
    """Wire form of the public summary: the institution's own data only."""
    org, grade, share = found.org, found.grade, found.share
    counted = {item.event_id: item.counted for item in grade.explanation}
    types = grading.default_event_types()
    inspections_out = [
        InspectionOutcome(
            inspected_on=v.event.occurred_on,
            result="passed" if v.event.type == "passed_inspection" else "failed",
            status=v.status,
            draw_id=found.inspection_draws.get(v.event.id),
        )
        for v in sorted(found.views, key=lambda v: (v.event.occurred_on, v.event.id), reverse=True)
        if v.event.type in {"passed_inspection", "failed_inspection"}
        and v.status not in {"withdrawn", "corrected", "overturned"}
    ]
    events_out = [
        PublicEvent(
            type=v.event.type,
            type_name=(t.name if (t := types.get(v.event.type)) else v.event.type),
            polarity=v.event.polarity,  # type: ignore[arg-type]
            severity=grading.severity_name(v.event.severity),
            occurred_on=v.event.occurred_on,
            status=v.status,
            counted=counted.get(str(v.event.id), False),
        )
        for v in sorted(found.views, key=lambda v: (v.event.occurred_on, v.event.id), reverse=True)
        if v.status not in {"withdrawn", "corrected", "overturned"}
    ]
    return InstitutionCreditSummary(
        institution_id=org.id,
        name=org.name,
        uscc=org.uscc,
        region_code=org.region_code,
        region_name=region_name(org.region_code) if org.region_code else None,
        filing_status=org.filing_status,
        ownership=org.ownership,
        grade=grade.grade,
        label=grade.label,
        joint_punishment=grade.joint_punishment,
        joint_incentive=grade.joint_incentive,
        score=grade.score,
        window_from=grade.window_from,
        window_to=grade.window_to,
        rules_version=grade.rules_version,
        certified=CertifiedShare(
            staff_count=share.staff_count,
            certificate_required_count=share.required_count,
            certified_count=share.certified_count,
            certified_rate=share.rate,
            as_of=share.as_of,
        ),
        inspections=inspections_out,
        events=events_out,
        generated_at=found.generated_at,
    )


def to_inspector(row: InspectorRow) -> Inspector:
    """Wire form of an inspector."""
    return Inspector(
        inspector_id=row.id,
        code=row.code,
        name=row.name,
        created_at=row.created_at,
        retired_at=row.retired_at,
    )


def to_draw(view: inspections.DrawView) -> Draw:
    """Wire form of a published draw (inspectors by code only)."""
    row = view.draw
    selected = []
    for item in row.selection:
        key = item["institution_id"]
        result = view.results.get(key)
        selected.append(
            DrawnInstitution(
                institution_id=uuid.UUID(key),
                institution_name=view.names.get(key, ""),
                inspectors=list(item["inspectors"]),
                result=result.result if result else None,  # type: ignore[arg-type]
                inspected_on=result.inspected_on if result else None,
            )
        )
    return Draw(
        draw_id=row.id,
        regulator_id=row.regulator_id,
        regulator_name=view.regulator.name,
        region_code=row.region_code,
        period=row.period,
        filters=dict(row.filters),
        algorithm=row.algorithm,
        checkpoint=Checkpoint(
            size=row.checkpoint_size,
            root_hash=_b64(row.checkpoint_root),
            text=row.checkpoint_text,
        ),
        seed=row.seed.hex(),
        candidates=list(row.candidates),
        inspector_candidates=list(row.inspector_candidates),
        sample_size=row.sample_size,
        inspectors_per_institution=row.inspectors_per_institution,
        selected=selected,
        created_at=row.created_at,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def _once(
    db_session: AsyncSession,
    principal: Principal,
    key: str | None,
    operation: str,
    body: Any,
    produce: Any,
) -> Response[Any]:
    return await idempotent(db_session, principal, key, fingerprint(operation, body), produce)


# --- events ---------------------------------------------------------------------------------


class CreditEventController(Controller):
    """Record credit events, appeal them and decide appeals."""

    path = "/credit-events"
    tags = ["credit"]  # noqa: RUF012

    @post(
        "/",
        operation_id="recordCreditEvent",
        guards=[requires_role("regulator")],
        status_code=201,
    )
    async def record_event(
        self,
        data: JSONBody[CreditEventCreate],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CreditEvent]:
        """Record an event about a practitioner or an institution of your jurisdiction.

        A correction names the event it corrects in ``corrects_event_id`` (that event stops
        counting).  Events are never edited.
        """

        async def produce() -> tuple[int, CreditEvent]:
            view = await service.record_event(db_session, ctx, principal, data, route_of(request))
            return 201, to_event(view)

        return await _once(db_session, principal, idempotency_key, "credit_event", data, produce)

    @get(
        "/",
        operation_id="listCreditEvents",
        guards=[requires_role("regulator", "institution")],
    )
    async def list_events(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
        practitioner_id: FromQuery[uuid.UUID | None] = None,
        institution_id: FromQuery[uuid.UUID | None] = None,
        limit: FromQuery[int] = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[CreditEvent]:
        """Events you may see: a regulator's jurisdiction, an institution's own file, or one
        subject's file (``practitioner_id`` / ``institution_id``)."""
        page = await service.list_events(
            db_session,
            principal,
            practitioner_id=practitioner_id,
            institution_id=institution_id,
            limit=limit,
            cursor=cursor,
            route=route_of(request),
        )
        return Page(items=[to_event(v) for v in page.items], next_cursor=page.next_cursor)

    @get(
        "/{event_id:uuid}",
        operation_id="getCreditEvent",
        guards=[requires_role("regulator", "institution")],
    )
    async def get_event(
        self,
        event_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> CreditEvent:
        """One event you may see (404 otherwise)."""
        return to_event(await service.get_event(db_session, principal, event_id, route_of(request)))

    @post(
        "/{event_id:uuid}/appeal",
        operation_id="appealCreditEvent",
        guards=[requires_role("institution")],
        status_code=201,
    )
    async def appeal(
        self,
        event_id: FromPath[uuid.UUID],
        data: JSONBody[AppealCreate],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CreditEvent]:
        """Ask for review (复查): the event becomes ``contested`` and counts until decided."""

        async def produce() -> tuple[int, CreditEvent]:
            return 201, to_event(await service.appeal(db_session, ctx, principal, event_id, data))

        body = {"event_id": str(event_id), "data": data}
        return await _once(db_session, principal, idempotency_key, "credit_appeal", body, produce)

    @post(
        "/{event_id:uuid}/appeal-decision",
        operation_id="decideCreditAppeal",
        guards=[requires_role("regulator")],
        status_code=201,
    )
    async def decide_appeal(
        self,
        event_id: FromPath[uuid.UUID],
        data: JSONBody[AppealDecisionCreate],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CreditEvent]:
        """Decide a pending appeal: ``upheld`` or ``overturned`` (stops counting)."""

        async def produce() -> tuple[int, CreditEvent]:
            view = await service.decide_appeal(db_session, ctx, principal, event_id, data)
            return 201, to_event(view)

        body = {"event_id": str(event_id), "data": data}
        return await _once(db_session, principal, idempotency_key, "credit_decision", body, produce)

    @post(
        "/{event_id:uuid}/withdrawal",
        operation_id="withdrawCreditEvent",
        guards=[requires_role("regulator")],
        status_code=201,
    )
    async def withdraw(
        self,
        event_id: FromPath[uuid.UUID],
        data: JSONBody[WithdrawalCreate],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CreditEvent]:
        """Withdraw an event recorded in error (a recorded step; it stops counting)."""

        async def produce() -> tuple[int, CreditEvent]:
            return 201, to_event(await service.withdraw(db_session, ctx, principal, event_id, data))

        body = {"event_id": str(event_id), "data": data}
        return await _once(db_session, principal, idempotency_key, "credit_withdraw", body, produce)

    @post(
        "/{event_id:uuid}/evidence-check",
        operation_id="checkCreditEvidence",
        guards=[requires_role("regulator")],
        status_code=200,
    )
    async def check_evidence(
        self,
        event_id: FromPath[uuid.UUID],
        data: JSONBody[EvidenceCheck],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
    ) -> EvidenceCheckResult:
        """Whether an evidence reference is the one committed to when the event was recorded."""
        matches = await service.check_evidence(
            db_session, ctx, principal, event_id, data.evidence_ref
        )
        return EvidenceCheckResult(event_id=event_id, matches=matches)


# --- grades, rules, summary, export ---------------------------------------------------------


class CreditController(Controller):
    """Grades, the public institution summary, the data in force and the export."""

    path = "/credit"
    tags = ["credit"]  # noqa: RUF012

    @get(
        "/practitioners/{practitioner_id:uuid}",
        operation_id="getPractitionerCredit",
        guards=[requires_role("regulator")],
    )
    async def practitioner_credit(
        self,
        practitioner_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
        on: FromQuery[date | None] = None,
    ) -> PractitionerCredit:
        """A practitioner's grade with its explanation (regulators of its jurisdiction)."""
        person, result = await service.practitioner_credit(
            db_session, ctx, principal, practitioner_id, on, route_of(request)
        )
        ban: Literal["banned", "not_banned"] = "banned" if result.banned else "not_banned"
        return PractitionerCredit(
            practitioner_id=person.id,
            name=person.name,
            id_number_masked=person.id_masked,
            region_code=person.region_code,
            ban_status=ban,
            **_grade_fields(result),
        )

    @get(
        "/institutions/{institution_id:uuid}",
        operation_id="getInstitutionCreditSummary",
        exclude_from_auth=True,
        opt={"public_reason": "contract: institutions' public credit summaries (公示)"},
    )
    async def institution_summary(
        self,
        institution_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
    ) -> InstitutionCreditSummary:
        """An institution's public summary: filing, grade, 持证率, inspections. No person's data."""
        return to_summary(await service.institution_summary(db_session, ctx, institution_id))

    @get(
        "/event-types",
        operation_id="listCreditEventTypes",
        exclude_from_auth=True,
        opt={"public_reason": "versioned policy data in force"},
    )
    async def event_types(self) -> EventTypesOut:
        """The credit event types in force, with their points under the grade rules."""
        types = grading.default_event_types()
        rules = grading.default_grade_rules()
        return EventTypesOut(
            version=types.version,
            effective_from=types.effective_from,
            digest=types.digest,
            types=[
                EventTypeOut(
                    code=t.code,
                    name=t.name,
                    name_en=t.name_en,
                    polarity=t.polarity,
                    subjects=list(t.subjects),
                    default_severity=grading.severity_name(t.default_severity),
                    points=dict(
                        zip(
                            grading.SEVERITY_NAMES, rules.points.get(t.code, (0, 0, 0)), strict=True
                        )
                    ),
                    note=t.note,
                )
                for t in types.types
            ],
        )

    @get(
        "/grade-rules",
        operation_id="getCreditGradeRules",
        exclude_from_auth=True,
        opt={"public_reason": "versioned policy data in force"},
    )
    async def grade_rules(self) -> GradeRulesOut:
        """The grade rule table in force."""
        rules = grading.default_grade_rules()
        return GradeRulesOut(
            version=rules.version,
            effective_from=rules.effective_from,
            digest=rules.digest,
            window_months=rules.window_months,
            base_score=rules.base_score,
            positive_cap=rules.positive_cap,
            ban_grade=rules.ban_grade,
            grades=[
                GradeBandOut(
                    grade=b.grade,
                    label=b.label,
                    min_score=b.min_score,
                    joint_incentive=b.joint_incentive,
                    joint_punishment=b.joint_punishment,
                )
                for b in rules.grades
            ],
            points={
                code: dict(zip(grading.SEVERITY_NAMES, row, strict=True))
                for code, row in rules.points.items()
            },
            ceilings=[
                CeilingOut(type=c.type, severity=grading.severity_name(c.severity), grade=c.grade)
                for c in rules.ceilings
            ],
        )

    @get(
        "/export",
        operation_id="exportCreditRecords",
        guards=[requires_role("regulator")],
        responses={
            200: ResponseSpec(
                data_container=CreditExport,
                description=(
                    "format=json: this document; format=csv: text/csv with one column per "
                    "record field (docs/credit-export.md)"
                ),
            )
        },
    )
    async def export_records(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
        export_format: Annotated[
            Literal["csv", "json"], QueryParameter(name="format", description="csv or json")
        ] = "json",
        since: FromQuery[date | None] = None,
    ) -> Response[Any]:
        """Credit records of your jurisdiction (schema ``workforce/credit-export/v1``)."""
        records = await export.export_records(db_session, principal, since, route_of(request))
        if export_format == "csv":
            return Response(
                export.to_csv(records),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="credit-export.csv"'},
            )
        return Response(
            CreditExport(
                schema_version=export.SCHEMA_VERSION,
                generated_at=utcnow(),
                region_code=principal.region or "000000",
                since=since,
                count=len(records),
                records=records,
            )
        )


# --- inspections ----------------------------------------------------------------------------


class InspectionController(Controller):
    """Inspectors, random draws (双随机、一公开) and their results."""

    path = "/inspections"
    tags = ["inspections"]  # noqa: RUF012

    @post(
        "/inspectors",
        operation_id="registerInspector",
        guards=[requires_role("regulator")],
        status_code=201,
    )
    async def register_inspector(
        self,
        data: JSONBody[InspectorCreate],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Inspector:
        """Add an inspector to your list."""
        return to_inspector(await inspections.register_inspector(db_session, principal, data))

    @get("/inspectors", operation_id="listInspectors", guards=[requires_role("regulator")])
    async def list_inspectors(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        limit: FromQuery[int] = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[Inspector]:
        """Your inspectors."""
        page = await inspections.list_inspectors(db_session, principal, limit, cursor)
        return Page(items=[to_inspector(r) for r in page.items], next_cursor=page.next_cursor)

    @post(
        "/inspectors/{inspector_id:uuid}/retirement",
        operation_id="retireInspector",
        guards=[requires_role("regulator")],
        status_code=200,
    )
    async def retire_inspector(
        self,
        inspector_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Inspector:
        """Take an inspector off your list (no longer drawn)."""
        return to_inspector(await inspections.retire_inspector(db_session, principal, inspector_id))

    @post(
        "/draws",
        operation_id="createInspectionDraw",
        guards=[requires_role("regulator")],
        status_code=201,
    )
    async def create_draw(
        self,
        data: JSONBody[DrawCreate],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Draw]:
        """Draw institutions and inspectors for a period, from a seed derived from the ban
        ledger's latest checkpoint; one draw per period."""

        async def produce() -> tuple[int, Draw]:
            return 201, to_draw(await inspections.create_draw(db_session, ctx, principal, data))

        return await _once(db_session, principal, idempotency_key, "inspection_draw", data, produce)

    @get("/draws", operation_id="listInspectionDraws", guards=[requires_role("regulator")])
    async def list_draws(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        limit: FromQuery[int] = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[Draw]:
        """Your draws."""
        page = await inspections.list_draws(db_session, principal, limit, cursor)
        return Page(items=[to_draw(v) for v in page.items], next_cursor=page.next_cursor)

    @get(
        "/draws/{draw_id:uuid}",
        operation_id="getInspectionDraw",
        exclude_from_auth=True,
        opt={"public_reason": "双随机、一公开: draws are published so anyone can re-run them"},
    )
    async def get_draw(
        self, draw_id: FromPath[uuid.UUID], db_session: NamedDependency[AsyncSession]
    ) -> Draw:
        """A published draw: seed, checkpoint, candidates, algorithm and result."""
        return to_draw(await inspections.get_draw(db_session, draw_id))

    @post(
        "/draws/{draw_id:uuid}/results",
        operation_id="recordInspectionResult",
        guards=[requires_role("regulator")],
        status_code=201,
    )
    async def record_result(
        self,
        draw_id: FromPath[uuid.UUID],
        data: JSONBody[InspectionResultCreate],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[InspectionResultRecorded]:
        """Record the result of inspecting a drawn institution (a credit event)."""

        async def produce() -> tuple[int, InspectionResultRecorded]:
            result, view = await inspections.record_result(
                db_session, ctx, principal, draw_id, data, route_of(request)
            )
            return 201, InspectionResultRecorded(
                draw_id=result.draw_id,
                institution_id=result.institution_id,
                result=data.result,
                inspected_on=result.inspected_on,
                event=to_event(view),
            )

        body = {"draw_id": str(draw_id), "data": data}
        return await _once(
            db_session, principal, idempotency_key, "inspection_result", body, produce
        )


ROUTES: list[Any] = [CreditEventController, CreditController, InspectionController]
