"""Factories per domain: real rows through the real services, real EdDSA tokens."""

from __future__ import annotations

import dataclasses
import random

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from workforce import synth
from workforce.context import AppContext
from workforce.orgs.models import Org
from workforce.orgs.schemas import OrgCreate
from workforce.orgs.service import create_org
from workforce.practitioners.models import Practitioner
from workforce.practitioners.schemas import PractitionerCreate
from workforce.practitioners.service import register
from workforce.security.principal import Principal
from workforce.security.tokens import mint_access_token


@dataclasses.dataclass
class Actor:
    """An organisation, its principal, and a bearer header for it."""

    org: Org
    principal: Principal
    headers: dict[str, str]
    client_id: str
    client_secret: str


class Factory:
    """Builds organisations, practitioners and tokens on the test database."""

    def __init__(self, session: AsyncSession, ctx: AppContext, rng: random.Random) -> None:
        self.session = session
        self.ctx = ctx
        self.rng = rng

    def token(self, principal: Principal, ttl: int = 600) -> str:
        return mint_access_token(self.ctx.keyring, principal, self.ctx.settings.issuer, ttl)

    async def org(
        self,
        kind: str,
        region: str | None = "320102",
        name: str | None = None,
        **extra: str,
    ) -> Actor:
        """Create an organisation (committed) with a client and a token."""
        names = {
            "regulator": "南京市卫生健康委员会",
            "training_base": "南京市托育实训基地",
            "institution": "南京市玄武区小星星托育园",
            "admin": "系统运维中心",
        }
        data: dict[str, object] = {"kind": kind, "name": name or names[kind], "region_code": region}
        if kind in ("training_base", "institution"):
            data["uscc"] = synth.random_uscc(self.rng, region or "320102")
        data.update(extra)
        cmd = msgspec.convert(data, OrgCreate)
        org, creds = await create_org(self.session, self.ctx, None, cmd)
        await self.session.commit()
        principal = Principal(
            client_id=creds.client_id,
            org_id=org.id,
            role=kind,
            region=region,  # type: ignore[arg-type]
        )
        return Actor(
            org=org,
            principal=principal,
            headers={"Authorization": f"Bearer {self.token(principal)}"},
            client_id=creds.client_id,
            client_secret=creds.client_secret,
        )

    def id_number(self, region: str | None = "320102") -> str:
        return synth.random_id_number(self.rng, region_code=region)

    async def practitioner(
        self,
        by: Actor,
        id_number: str | None = None,
        name: str | None = None,
        positions: list[str] | None = None,
        region: str | None = None,
    ) -> tuple[Practitioner, str]:
        """Register a practitioner through the service (committed); returns it and its number."""
        number = id_number or self.id_number()
        cmd = PractitionerCreate(
            id_number=number,
            name=name or synth.random_name(self.rng),
            positions=positions or ["caregiver"],
            region_code=region,
        )
        person, _ = await register(self.session, self.ctx, by.principal, cmd)
        await self.session.commit()
        return person, number
