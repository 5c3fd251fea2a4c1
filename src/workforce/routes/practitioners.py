"""Practitioner routes. ID numbers travel only in request bodies."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from workforce.audit.service import list_access
from workforce.context import AppContext
from workforce.pagination import DEFAULT_LIMIT, Page
from workforce.practitioners import service
from workforce.practitioners.models import Practitioner as PractitionerRow
from workforce.practitioners.schemas import (
    AccessEntry,
    LookupResult,
    Practitioner,
    PractitionerCreate,
    PractitionerLookup,
    Revealed,
    RevealRequest,
)
from workforce.routes.deps import route_of
from workforce.security.guards import requires_role
from workforce.security.principal import Principal


def to_practitioner(row: PractitionerRow) -> Practitioner:
    """Wire form of a practitioner (masked ID number only)."""
    return Practitioner(
        practitioner_id=row.id,
        name=row.name,
        id_number_masked=row.id_masked,
        region_code=row.region_code,
        positions=list(row.positions),
        created_at=row.created_at,
    )


class PractitionerController(Controller):
    """Register, look up and read practitioners."""

    path = "/practitioners"
    tags = ["practitioners"]  # noqa: RUF012

    @post(
        "/",
        operation_id="registerPractitioner",
        guards=[requires_role("training_base", "institution", "regulator")],
        status_code=201,
    )
    async def register(
        self,
        data: JSONBody[PractitionerCreate],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
    ) -> Response[Practitioner]:
        """Register a practitioner; registering the same ID number again returns the first one."""
        person, created = await service.register(db_session, ctx, principal, data)
        return Response(to_practitioner(person), status_code=201 if created else 200)

    @post(
        "/lookup",
        operation_id="lookupPractitioner",
        guards=[requires_role("training_base", "institution", "regulator", "admin")],
        status_code=200,
    )
    async def lookup(
        self,
        data: JSONBody[PractitionerLookup],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> LookupResult:
        """The practitioner registered under an ID number (404 if none); access-logged."""
        found = await service.lookup(db_session, ctx, principal, data.id_number, route_of(request))
        return LookupResult(practitioner_id=found)

    @get(
        "/{practitioner_id:uuid}",
        operation_id="getPractitioner",
        guards=[requires_role("training_base", "institution", "regulator", "admin")],
    )
    async def get_practitioner(
        self,
        practitioner_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> Practitioner:
        """A practitioner the caller may see (404 otherwise); access-logged."""
        person = await service.get_visible(
            db_session, principal, practitioner_id, route=route_of(request)
        )
        return to_practitioner(person)

    @post(
        "/{practitioner_id:uuid}/reveal",
        operation_id="revealIdNumber",
        guards=[requires_role("regulator")],
        status_code=200,
    )
    async def reveal(
        self,
        practitioner_id: FromPath[uuid.UUID],
        data: JSONBody[RevealRequest],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> Response[Revealed]:
        """The full ID number, for a regulator of the practitioner's jurisdiction; access-logged."""
        number = await service.reveal(
            db_session, ctx, principal, practitioner_id, route_of(request)
        )
        return Response(
            Revealed(practitioner_id=practitioner_id, id_number=number),
            headers={"Cache-Control": "no-store"},
        )

    @get(
        "/{practitioner_id:uuid}/access-log",
        operation_id="listPractitionerAccess",
        guards=[requires_role("regulator")],
    )
    async def access_log(
        self,
        practitioner_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        limit: FromQuery[int] = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[AccessEntry]:
        """Who read or looked up this practitioner (regulators of its jurisdiction)."""
        await service.get_visible(db_session, principal, practitioner_id, action=None)
        page = await list_access(db_session, practitioner_id, limit, cursor)
        return Page(
            items=[
                AccessEntry(
                    at=r.created_at,
                    org_id=r.org_id,
                    client_id=r.client_id,
                    action=r.action,
                    route=r.route,
                    outcome=r.outcome,
                )
                for r in page.items
            ],
            next_cursor=page.next_cursor,
        )
