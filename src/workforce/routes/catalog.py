"""Public catalog routes: the certificate types and positions in force (versioned data)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from workforce.certificates.schemas import (
    CertificateTypeList,
    CertificateTypeOut,
    LevelOut,
    PositionList,
    PositionOut,
    PrerequisiteOut,
    RequiredCertificateOut,
)
from workforce.context import AppContext
from workforce.policy.catalog import Catalog, Prerequisite
from workforce.rules.engine import hours_to_float

PUBLIC_REASON = "the policy data in force is public (contract: role (none))"
CACHE = {"Cache-Control": "public, max-age=300"}


def _prerequisite(item: Prerequisite) -> PrerequisiteOut:
    return PrerequisiteOut(
        kind=item.kind,
        code=item.code,
        rule_family=item.rule_family,
        categories=list(item.categories),
        min_hours=hours_to_float(item.min_tenths) if item.min_tenths is not None else None,
        within_months=item.within_months,
        type=item.cert_type,
        level=item.level,
        accepted_levels=list(item.accepted_levels),
    )


def certificate_types_of(catalog: Catalog) -> CertificateTypeList:
    """Wire form of the certificate types of a catalog."""
    return CertificateTypeList(
        version=catalog.certificate_types_version,
        effective_from=catalog.certificate_types_effective_from,
        items=[
            CertificateTypeOut(
                code=t.code,
                name=t.name,
                issuers=list(t.issuers),
                validity_months=t.validity_months,
                levels=[
                    LevelOut(
                        code=level.code,
                        name=level.name,
                        validity_months=t.validity_months_for(level.code),
                        prerequisites=[_prerequisite(p) for p in level.prerequisites],
                    )
                    for level in t.levels
                ],
                prerequisites=[_prerequisite(p) for p in t.prerequisites],
                source_title=t.source_title,
                source_note=t.source_note,
            )
            for t in catalog.certificate_types
        ],
    )


def positions_of(catalog: Catalog) -> PositionList:
    """Wire form of the positions of a catalog."""
    universal = list(catalog.universal)
    return PositionList(
        version=catalog.positions_version,
        effective_from=catalog.positions_effective_from,
        universal_requirements=universal,
        items=[
            PositionOut(
                code=p.code,
                name=p.name,
                required_certificates=[
                    RequiredCertificateOut(
                        type=r.cert_type,
                        min_level=r.min_level,
                        accepted_levels=list(r.accepted_levels),
                    )
                    for r in p.requires_any_certificate
                ],
                universal_requirements=universal,
                note=p.note,
                source_title=p.source_title,
            )
            for p in catalog.positions
        ],
    )


@get(
    "/certificate-types",
    operation_id="listCertificateTypes",
    tags=["catalog", "public"],
    exclude_from_auth=True,
    opt={"public_reason": PUBLIC_REASON},
)
async def list_certificate_types(ctx: NamedDependency[AppContext]) -> Response[CertificateTypeList]:
    """The certificate types in force: names, levels, prerequisites, validity, issuers."""
    return Response(certificate_types_of(ctx.catalog), headers=CACHE)


@get(
    "/positions",
    operation_id="listPositions",
    tags=["catalog", "public"],
    exclude_from_auth=True,
    opt={"public_reason": PUBLIC_REASON},
)
async def list_positions(ctx: NamedDependency[AppContext]) -> Response[PositionList]:
    """The positions in force and the certificates each accepts."""
    return Response(positions_of(ctx.catalog), headers=CACHE)


ROUTES: list[Any] = [list_certificate_types, list_positions]
