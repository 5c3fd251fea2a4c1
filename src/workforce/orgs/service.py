"""Organisations, their API clients and the client-credentials grant."""

from __future__ import annotations

import secrets
import uuid

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from workforce import regions
from workforce.context import AppContext
from workforce.db import begin_write
from workforce.errors import (
    INVALID_USCC,
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Reason,
    Unauthorized,
)
from workforce.orgs.models import ApiClient, Org
from workforce.orgs.schemas import ClientCredentials, OrgCreate
from workforce.pagination import Page, paginate
from workforce.security import uscc as uscc_check
from workforce.security.passwords import hash_secret, new_client_secret, verify_secret
from workforce.security.principal import Principal
from workforce.security.tokens import mint_access_token

# A secret compared against when the client id is unknown, so timing does not reveal it.
_DUMMY_HASH = hash_secret("not-a-real-secret", log2_n=10)


def _check_region(region_code: str | None, kind: str) -> str | None:
    if region_code is None:
        if kind == "admin":
            return None
        raise Invalid(f"a {kind} needs a region_code", code="region_required")
    try:
        regions.validate_region_code(region_code)
    except regions.InvalidRegion as exc:
        raise Invalid(str(exc), code="invalid_region") from None
    return region_code


def _check_uscc(raw: str | None, kind: str) -> str | None:
    if raw is None:
        if kind in ("institution", "training_base"):
            raise Invalid(f"a {kind} needs its unified social credit code", code="uscc_required")
        return None
    try:
        return uscc_check.validate_uscc(raw)
    except uscc_check.InvalidUscc as exc:
        raise Invalid(
            "the unified social credit code is invalid",
            code=INVALID_USCC,
            reasons=[Reason(INVALID_USCC, str(exc)), Reason(exc.code, str(exc))],
        ) from None


def _authorize_create(actor: Principal | None, cmd: OrgCreate, region: str | None) -> None:
    if actor is None or actor.role == "admin":
        return
    if actor.role != "regulator" or cmd.kind == "admin":
        raise Forbidden("you may not create this kind of organisation", code="role_not_allowed")
    if region is None or not regions.covers(actor.region or "", region):
        raise Forbidden("the region is outside your jurisdiction", code="out_of_jurisdiction")


async def create_org(
    session: AsyncSession, ctx: AppContext, actor: Principal | None, cmd: OrgCreate
) -> tuple[Org, ClientCredentials]:
    """Create an organisation with one API client (``actor`` None: the operator's CLI)."""
    region = _check_region(cmd.region_code, cmd.kind)
    _authorize_create(actor, cmd, region)
    code = _check_uscc(cmd.uscc, cmd.kind)
    if cmd.kind != "institution" and (cmd.ownership or cmd.filing_status):
        raise Invalid(
            "ownership and filing_status apply to institutions only", code="invalid_field"
        )
    await begin_write(session)
    org = Org(
        kind=cmd.kind,
        name=cmd.name.strip(),
        region_code=region,
        level=regions.level_of(region) if region else None,
        uscc=code,
        ownership=cmd.ownership,
        filing_status=cmd.filing_status or ("filed" if cmd.kind == "institution" else None),
        created_by=actor.org_id if actor else None,
    )
    try:
        async with session.begin_nested():
            session.add(org)
    except IntegrityError:
        raise Conflict(
            "an organisation with this unified social credit code exists", code="uscc_taken"
        ) from None
    creds = await add_client(session, ctx, org)
    return org, creds


async def add_client(session: AsyncSession, ctx: AppContext, org: Org) -> ClientCredentials:
    """Create an API client for ``org``; the secret is returned once and stored hashed."""
    client_id = f"wf_{secrets.token_hex(12)}"
    secret = new_client_secret()
    hashed = await anyio.to_thread.run_sync(hash_secret, secret, ctx.settings.scrypt_log2_n)
    session.add(ApiClient(client_id=client_id, secret_hash=hashed, org_id=org.id))
    await session.flush()
    return ClientCredentials(client_id=client_id, client_secret=secret)


def visible_to(actor: Principal, org: Org) -> bool:
    """Admins see every organisation, regulators their jurisdiction, others themselves."""
    if actor.role == "admin" or org.id == actor.org_id:
        return True
    return (
        actor.role == "regulator"
        and org.region_code is not None
        and regions.covers(actor.region or "", org.region_code)
    )


async def get_org(session: AsyncSession, actor: Principal, org_id: uuid.UUID) -> Org:
    """One organisation the caller may see (404 otherwise)."""
    org = await session.get(Org, org_id)
    if org is None or not visible_to(actor, org):
        raise NotFound("no such organisation", code="org_not_found")
    return org


async def list_orgs(
    session: AsyncSession, actor: Principal, kind: str | None, limit: int, cursor: str | None
) -> Page[Org]:
    """Organisations the caller may see."""
    stmt = select(Org)
    if kind:
        stmt = stmt.where(Org.kind == kind)
    if actor.role == "regulator":
        stmt = stmt.where(
            Org.region_code.startswith(regions.jurisdiction_prefix(actor.region or ""))
        )
    elif actor.role != "admin":
        stmt = stmt.where(Org.id == actor.org_id)
    return await paginate(session, stmt, Org.id, limit, cursor)


async def issue_token(
    session: AsyncSession, ctx: AppContext, grant_type: str, client_id: str, client_secret: str
) -> tuple[str, int]:
    """OAuth 2.0 client credentials: verify the client and mint an access token."""
    if grant_type != "client_credentials":
        raise BadRequest(
            "only grant_type=client_credentials is supported", code="unsupported_grant_type"
        )
    if not client_id or not client_secret or len(client_id) > 64 or len(client_secret) > 256:
        raise Unauthorized("client authentication failed", code="invalid_client")
    row = (
        await session.execute(
            select(ApiClient, Org)
            .join(Org, Org.id == ApiClient.org_id)
            .where(ApiClient.client_id == client_id)
        )
    ).first()
    stored = row[0].secret_hash if row else _DUMMY_HASH
    ok = await anyio.to_thread.run_sync(verify_secret, client_secret, stored)
    if row is None or not ok or row[0].disabled_at is not None:
        raise Unauthorized("client authentication failed", code="invalid_client")
    client, org = row
    principal = Principal(
        client_id=client.client_id,
        org_id=org.id,
        role=org.kind,
        region=org.region_code,
    )
    ttl = ctx.settings.access_token_ttl_seconds
    return mint_access_token(ctx.keyring, principal, ctx.settings.issuer, ttl), ttl
