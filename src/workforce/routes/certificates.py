"""Certificate routes: issuance, public status, revocation, verification, status lists, QR codes."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from workforce.certificates import qr, service, status_store
from workforce.certificates.models import Certificate
from workforce.certificates.schemas import (
    CertificateCreate,
    Holder,
    IssuedCertificate,
    IssuerRef,
    PublicCertificate,
    PublicHolder,
    QrLinks,
    StatusChange,
    VerificationResult,
    VerifyRequest,
)
from workforce.context import AppContext
from workforce.db import utcnow
from workforce.idempotency import fingerprint, idempotent
from workforce.pagination import DEFAULT_LIMIT, Page
from workforce.routes.deps import IdempotencyKey, route_of
from workforce.rules.engine import hours_to_float
from workforce.security.guards import requires_role
from workforce.security.principal import Principal

PUBLIC_REASON = "certificate verification is open to the public (contract: role (none))"
STATUS_LIST_MEDIA_TYPES = ("application/vc+jwt", "application/jwt")


def _qr(ctx: AppContext, serial: str) -> QrLinks:
    return QrLinks(
        svg_url=service.api_url(ctx, serial, "/qr.svg"),
        png_url=service.api_url(ctx, serial, "/qr.png"),
    )


def to_issued(ctx: AppContext, cert: Certificate) -> IssuedCertificate:
    """Wire form of a certificate with its token (issuer, regulators, organisations that see it)."""
    return IssuedCertificate(
        serial=cert.serial,
        token=cert.token,
        status=service.status_of(cert, service.china_today()),
        type=cert.cert_type,
        type_name=cert.type_name,
        level=cert.level,
        level_name=cert.level_name,
        valid_from=cert.valid_from,
        valid_until=cert.valid_until,
        issued_at=cert.issued_at,
        holder=Holder(name=cert.holder_name, id_number_masked=cert.holder_id_masked),
        practitioner_id=cert.practitioner_id,
        hours=hours_to_float(cert.hours_tenths),
        issuer=IssuerRef(
            id=f"urn:workforce:org:{cert.issuer_org_id}",
            org_id=cert.issuer_org_id,
            name=cert.issuer_name,
            role=cert.issuer_role,
        ),
        verify_url=service.verify_url(ctx, cert.serial),
        qr=_qr(ctx, cert.serial),
    )


def to_public(ctx: AppContext, cert: Certificate) -> PublicCertificate:
    """Wire form of a certificate for anyone holding its serial (holder masked, no token)."""
    status = service.status_of(cert, service.china_today())
    return PublicCertificate(
        serial=cert.serial,
        status=status,
        status_label=service.STATUS_LABELS[status],
        type=cert.cert_type,
        type_name=cert.type_name,
        level=cert.level,
        level_name=cert.level_name,
        valid_from=cert.valid_from,
        valid_until=cert.valid_until,
        issued_at=cert.issued_at,
        holder=PublicHolder(
            name_masked=service.mask_name(cert.holder_name),
            id_number_masked=cert.holder_id_masked,
        ),
        hours=hours_to_float(cert.hours_tenths),
        issuer_name=cert.issuer_name,
        verify_url=service.verify_url(ctx, cert.serial),
        qr=_qr(ctx, cert.serial),
    )


@post(
    "/certificates",
    operation_id="issueCertificate",
    tags=["certificates"],
    guards=[requires_role("training_base", "regulator")],
    status_code=201,
)
async def issue_certificate(
    data: JSONBody[CertificateCreate],
    db_session: NamedDependency[AsyncSession],
    ctx: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    request: Request[Any, Any, Any],
    idempotency_key: IdempotencyKey = None,
) -> Response[IssuedCertificate]:
    """Issue a certificate if the practitioner earned it (422: one reason per unmet rule)."""

    async def produce() -> tuple[int, IssuedCertificate]:
        cert = await service.issue_certificate(
            db_session, ctx, principal, data, route=route_of(request)
        )
        return 201, to_issued(ctx, cert)

    return await idempotent(
        db_session, principal, idempotency_key, fingerprint("issueCertificate", data), produce
    )


@post(
    "/certificates/verify",
    operation_id="verifyCertificate",
    tags=["certificates", "public"],
    exclude_from_auth=True,
    opt={"public_reason": PUBLIC_REASON},
    status_code=200,
)
async def verify_certificate(
    data: JSONBody[VerifyRequest],
    db_session: NamedDependency[AsyncSession],
    ctx: NamedDependency[AppContext],
) -> VerificationResult:
    """Verify a certificate token: signature (live JWKS), validity period and current status."""
    now = utcnow()
    verdict = await service.verify_token(db_session, ctx, data.token, now)
    return VerificationResult(
        verdict=verdict.verdict,
        valid=verdict.verdict == "valid",
        checks=verdict.checks,
        certificate=verdict.certificate,
        kid=verdict.kid,
        checked_at=now,
    )


@get(
    "/certificates/{serial:str}",
    operation_id="getCertificate",
    tags=["certificates", "public"],
    exclude_from_auth=True,
    opt={"public_reason": PUBLIC_REASON},
)
async def get_certificate(
    serial: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    ctx: NamedDependency[AppContext],
) -> Response[PublicCertificate]:
    """A certificate and its current status (holder masked; 404 for an unknown serial)."""
    cert = await service.get_by_serial(db_session, serial)
    return Response(to_public(ctx, cert), headers={"Cache-Control": "no-cache"})


@post(
    "/certificates/{serial:str}/revocation",
    operation_id="changeCertificateStatus",
    tags=["certificates"],
    guards=[requires_role("regulator")],
    status_code=200,
)
async def change_certificate_status(
    serial: FromPath[str],
    data: JSONBody[StatusChange],
    db_session: NamedDependency[AsyncSession],
    ctx: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    request: Request[Any, Any, Any],
) -> IssuedCertificate:
    """Revoke, suspend or reinstate a certificate (a regulator covering the holder's region)."""
    cert = await service.change_status(
        db_session, ctx, principal, serial, data.action, data.reason, route=route_of(request)
    )
    return to_issued(ctx, cert)


@get(
    "/certificates/{serial:str}/qr.svg",
    operation_id="getCertificateQrSvg",
    tags=["certificates", "public"],
    exclude_from_auth=True,
    opt={"public_reason": PUBLIC_REASON},
    media_type="image/svg+xml",
)
async def certificate_qr_svg(
    serial: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    ctx: NamedDependency[AppContext],
) -> Response[bytes]:
    """A QR code (SVG) that opens the certificate's public verification page."""
    cert = await service.get_by_serial(db_session, serial)
    return Response(
        qr.svg(service.verify_url(ctx, cert.serial)),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@get(
    "/certificates/{serial:str}/qr.png",
    operation_id="getCertificateQrPng",
    tags=["certificates", "public"],
    exclude_from_auth=True,
    opt={"public_reason": PUBLIC_REASON},
    media_type="image/png",
)
async def certificate_qr_png(
    serial: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    ctx: NamedDependency[AppContext],
) -> Response[bytes]:
    """A QR code (PNG) that opens the certificate's public verification page."""
    cert = await service.get_by_serial(db_session, serial)
    return Response(
        qr.png(service.verify_url(ctx, cert.serial)),
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@get(
    "/practitioners/{practitioner_id:uuid}/certificates",
    operation_id="listPractitionerCertificates",
    tags=["certificates", "practitioners"],
    guards=[requires_role("training_base", "institution", "regulator", "admin")],
)
async def list_practitioner_certificates(
    practitioner_id: FromPath[uuid.UUID],
    db_session: NamedDependency[AsyncSession],
    ctx: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    request: Request[Any, Any, Any],
    limit: FromQuery[int] = DEFAULT_LIMIT,
    cursor: FromQuery[str | None] = None,
) -> Page[IssuedCertificate]:
    """The certificates of a practitioner the caller may see (404 otherwise); access-logged."""
    page = await service.list_for_practitioner(
        db_session, principal, practitioner_id, limit, cursor, route_of(request)
    )
    return Page(items=[to_issued(ctx, c) for c in page.items], next_cursor=page.next_cursor)


@get(
    "/status-lists/{list_id:uuid}",
    operation_id="getStatusList",
    tags=["certificates", "public"],
    exclude_from_auth=True,
    opt={"public_reason": PUBLIC_REASON},
    media_type="application/vc+jwt",
)
async def get_status_list(
    list_id: FromPath[uuid.UUID],
    db_session: NamedDependency[AsyncSession],
    ctx: NamedDependency[AppContext],
    request: Request[Any, Any, Any],
) -> Response[str]:
    """A BitstringStatusListCredential as a ``vc+jwt`` (re-signed on change and every 12 hours)."""
    token, etag = await status_store.published_list(db_session, ctx, list_id)
    accept = request.headers.get("accept", "")
    media_type = (
        "application/jwt"
        if "application/jwt" in accept and "application/vc+jwt" not in accept
        else "application/vc+jwt"
    )
    headers = {"Cache-Control": "public, max-age=300", "ETag": etag, "Vary": "Accept"}
    if_none_match = request.headers.get("if-none-match", "")
    if etag in if_none_match or if_none_match.strip() == "*":
        return Response("", status_code=304, headers=headers, media_type=media_type)
    return Response(token, media_type=media_type, headers=headers)


ROUTES: list[Any] = [
    issue_certificate,
    verify_certificate,
    get_certificate,
    change_certificate_status,
    certificate_qr_svg,
    certificate_qr_png,
    list_practitioner_certificates,
    get_status_list,
]
