"""Organisation routes."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from workforce.context import AppContext
from workforce.orgs import service
from workforce.orgs.models import Org as OrgRow
from workforce.orgs.schemas import Org, OrgCreate, OrgCreated, OrgKind
from workforce.pagination import DEFAULT_LIMIT, Page
from workforce.security.guards import requires_role
from workforce.security.principal import Principal


def to_org(row: OrgRow) -> Org:
    """Wire form of an organisation."""
    return Org(
        org_id=row.id,
        kind=row.kind,
        name=row.name,
        region_code=row.region_code,
        level=row.level,
        uscc=row.uscc,
        ownership=row.ownership,
        filing_status=row.filing_status,
        created_at=row.created_at,
    )


class OrgController(Controller):
    """Create and read organisations."""

    path = "/orgs"
    tags = ["orgs"]  # noqa: RUF012

    @post("/", operation_id="createOrg", guards=[requires_role("admin", "regulator")])
    async def create_org(
        self,
        data: JSONBody[OrgCreate],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
    ) -> OrgCreated:
        """Create an organisation and its first API client (admins; regulators in jurisdiction)."""
        org, creds = await service.create_org(db_session, ctx, principal, data)
        base = to_org(org)
        return OrgCreated(**{f: getattr(base, f) for f in base.__struct_fields__}, client=creds)

    @get(
        "/",
        operation_id="listOrgs",
        guards=[requires_role("admin", "regulator", "training_base", "institution")],
    )
    async def list_orgs(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        kind: FromQuery[OrgKind | None] = None,
        limit: FromQuery[int] = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[Org]:
        """Organisations the caller may see."""
        page = await service.list_orgs(db_session, principal, kind, limit, cursor)
        return Page(items=[to_org(o) for o in page.items], next_cursor=page.next_cursor)

    @get(
        "/{org_id:uuid}",
        operation_id="getOrg",
        guards=[requires_role("admin", "regulator", "training_base", "institution")],
    )
    async def get_org(
        self,
        org_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Org:
        """One organisation (admins all; regulators their jurisdiction; others themselves)."""
        return to_org(await service.get_org(db_session, principal, org_id))
