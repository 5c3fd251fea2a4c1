"""Hiring routes: admission checks, employments, staff, alerts, webhooks, institutions at risk.

ID numbers travel only in request bodies; responses carry masked numbers at most.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from workforce.audit.service import record_access
from workforce.context import AppContext
from workforce.db import begin_write
from workforce.hiring import admission, alerts, employment, webhooks
from workforce.hiring.models import Alert as AlertRow
from workforce.hiring.schemas import (
    AdmissionCheckCreate,
    AdmissionCheckResult,
    Alert,
    Employment,
    EmploymentCreate,
    EmploymentCreated,
    EmploymentEnd,
    InstitutionsAtRisk,
    StaffList,
    Webhook,
    WebhookSet,
)
from workforce.pagination import DEFAULT_LIMIT, Page
from workforce.practitioners.models import Practitioner
from workforce.routes.deps import IdempotencyKey, provide_ctx, route_of
from workforce.security.guards import principal_of, requires_role
from workforce.security.principal import Principal


def to_alert(row: AlertRow, person: Practitioner) -> Alert:
    """Wire form of an alert (masked ID number and name only)."""
    return Alert(
        alert_id=row.id,
        org_id=row.org_id,
        employment_id=row.employment_id,
        practitioner_id=row.practitioner_id,
        name=person.name,
        id_number_masked=person.id_masked,
        kind=row.kind,
        message=row.message,
        details=dict(row.details),
        created_at=row.created_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
    )


class AdmissionCheckController(Controller):
    """Check candidates before hiring; read a check again later."""

    path = "/admission-checks"
    tags = ["hiring"]  # noqa: RUF012

    @post(
        "/",
        operation_id="createAdmissionCheck",
        guards=[requires_role("institution")],
        status_code=201,
    )
    async def create_admission_check(
        self,
        *,
        data: JSONBody[AdmissionCheckCreate],
        request: Request[Any, Any, Any],
    ) -> AdmissionCheckResult:
        """Admitted or denied, with stable reason codes and a signed receipt (stored, logged).

        The context and principal are taken from the request rather than injected: with no
        dependencies to resolve, Litestar does not start a task group for this request.
        """
        state = request.app.state
        return await admission.check_candidate(
            state["gate"],
            provide_ctx(state),
            principal_of(request),
            raw_id_number=data.id_number,
            position_code=data.position,
            route=route_of(request),
        )

    @get(
        "/{check_id:uuid}",
        operation_id="getAdmissionCheck",
        guards=[requires_role("institution", "regulator")],
    )
    async def get_admission_check(
        self,
        *,
        check_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> AdmissionCheckResult:
        """A stored check: the institution that made it, regulators of its region."""
        await begin_write(db_session)
        row = await admission.get_check(db_session, principal, check_id)
        if row.practitioner_id is not None:
            record_access(
                db_session,
                principal,
                action="admission_check_read",
                route=route_of(request),
                practitioner_id=row.practitioner_id,
                outcome=row.decision,
            )
        return admission.to_result(ctx, row)


class EmploymentController(Controller):
    """Hires (through the admission gate), departures and employment lists."""

    path = "/employments"
    tags = ["hiring"]  # noqa: RUF012

    @post(
        "/",
        operation_id="createEmployment",
        guards=[requires_role("institution")],
        status_code=201,
        responses={
            409: ResponseSpec(
                data_container=dict[str, Any],
                description="Refused: admission_denied (with reasons) or already_employed",
                media_type="application/problem+json",
            )
        },
    )
    async def create_employment(
        self,
        *,
        data: JSONBody[EmploymentCreate],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[EmploymentCreated]:
        """Hire, only if an admission check passes now (409 with the reasons otherwise)."""
        return await employment.hire(
            db_session,
            ctx,
            principal,
            data,
            idempotency_key=idempotency_key,
            route=route_of(request),
        )

    @post(
        "/{employment_id:uuid}/end",
        operation_id="endEmployment",
        guards=[requires_role("institution")],
        status_code=200,
    )
    async def end_employment(
        self,
        *,
        employment_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[EmploymentEnd | None] = None,
    ) -> Employment:
        """Record a departure (own employments only); the body is optional."""
        return await employment.end(db_session, principal, employment_id, data or EmploymentEnd())

    @get(
        "/",
        operation_id="listEmployments",
        guards=[requires_role("institution", "regulator")],
    )
    async def list_employments(
        self,
        *,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
        current: FromQuery[bool | None] = None,
        limit: FromQuery[int] = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[Employment]:
        """Employments of the institution (regulators: their jurisdiction), oldest first."""
        return await employment.list_employments(
            db_session,
            principal,
            current=current,
            limit=limit,
            cursor=cursor,
            route=route_of(request),
        )

    @get(
        "/{employment_id:uuid}",
        operation_id="getEmployment",
        guards=[requires_role("institution", "regulator")],
    )
    async def get_employment(
        self,
        *,
        employment_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> Employment:
        """One employment."""
        return await employment.get_employment(
            db_session, principal, employment_id, route_of(request)
        )


class InstitutionController(Controller):
    """An institution's staff and webhook."""

    path = "/institutions"
    tags = ["hiring"]  # noqa: RUF012

    @get(
        "/{org_id:uuid}/staff",
        operation_id="listStaff",
        guards=[requires_role("institution", "regulator")],
    )
    async def list_staff(
        self,
        *,
        org_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
        limit: FromQuery[int] = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> StaffList:
        """Current staff, their certificate and training status, and the 持证率."""
        return await employment.staff(
            db_session, ctx, principal, org_id, limit=limit, cursor=cursor, route=route_of(request)
        )

    @put(
        "/{org_id:uuid}/webhook",
        operation_id="setWebhook",
        guards=[requires_role("institution")],
    )
    async def set_webhook(
        self,
        *,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[WebhookSet],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
    ) -> Response[Webhook]:
        """Register the alert webhook; the signing secret is shown in this answer only."""
        org, row, secret = await webhooks.set_webhook(db_session, ctx, principal, org_id, data)
        body = Webhook(
            org_id=org.id, url=org.webhook_url or "", updated_at=row.updated_at, secret=secret
        )
        return Response(body, headers={"Cache-Control": "no-store"})

    @get(
        "/{org_id:uuid}/webhook",
        operation_id="getWebhook",
        guards=[requires_role("institution")],
    )
    async def get_webhook(
        self,
        *,
        org_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Webhook:
        """The registered webhook (without its secret)."""
        org, row = await webhooks.get_webhook(db_session, principal, org_id)
        return Webhook(org_id=org.id, url=org.webhook_url or "", updated_at=row.updated_at)

    @delete(
        "/{org_id:uuid}/webhook",
        operation_id="deleteWebhook",
        guards=[requires_role("institution")],
    )
    async def delete_webhook(
        self,
        *,
        org_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> None:
        """Stop webhook deliveries (pending ones are cancelled)."""
        await webhooks.delete_webhook(db_session, principal, org_id)


class AlertController(Controller):
    """Alerts about current staff."""

    path = "/alerts"
    tags = ["hiring"]  # noqa: RUF012

    @get("/", operation_id="listAlerts", guards=[requires_role("institution", "regulator")])
    async def list_alerts(
        self,
        *,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
        unacknowledged: FromQuery[bool] = False,
        kind: FromQuery[str | None] = None,
        limit: FromQuery[int] = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[Alert]:
        """The institution's alerts (regulators: their jurisdiction), newest first."""
        await begin_write(db_session)
        page = await alerts.list_alerts(
            db_session,
            principal,
            unacknowledged=unacknowledged,
            kind=kind,
            limit=limit,
            cursor=cursor,
        )
        for pid in {person.id for _, person in page.items}:
            record_access(
                db_session,
                principal,
                action="alert_list",
                route=route_of(request),
                practitioner_id=pid,
                outcome="ok",
            )
        return Page(items=[to_alert(a, p) for a, p in page.items], next_cursor=page.next_cursor)

    @post(
        "/{alert_id:uuid}/ack",
        operation_id="acknowledgeAlert",
        guards=[requires_role("institution")],
        status_code=200,
    )
    async def acknowledge_alert(
        self,
        *,
        alert_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Alert:
        """Acknowledge an alert (idempotent)."""
        row, person = await alerts.acknowledge(db_session, principal, alert_id)
        return to_alert(row, person)


@get(
    "/reports/institutions-at-risk",
    operation_id="listInstitutionsAtRisk",
    guards=[requires_role("regulator")],
    tags=["hiring", "reports"],
)
async def institutions_at_risk(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    limit: FromQuery[int] = DEFAULT_LIMIT,
    cursor: FromQuery[str | None] = None,
) -> InstitutionsAtRisk:
    """Institutions in the jurisdiction with current staff who do not pass."""
    return await employment.institutions_at_risk(db_session, principal, limit=limit, cursor=cursor)


ROUTES: list[Any] = [
    AdmissionCheckController,
    EmploymentController,
    InstitutionController,
    AlertController,
    institutions_at_risk,
]
