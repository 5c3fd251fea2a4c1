"""Public pages in Simplified Chinese: the certificate verification page opened by its QR code."""

from __future__ import annotations

from typing import Any, Final

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from workforce.certificates import service
from workforce.db import utcnow
from workforce.errors import NotFound
from workforce.rules.engine import format_hours
from workforce.security.idnumber import CHINA_TZ

STATUS_TEXT: Final[dict[str, str]] = {
    "valid": "该证书由登记系统签发，目前真实有效。",
    "revoked": "该证书已被监管部门撤销，不再有效，不能作为上岗依据。",
    "suspended": "该证书已被暂停使用；暂停期间不能作为上岗依据。",
    "expired": "该证书已超过有效期，不再有效，需重新培训取证。",
}
HEADERS: Final = {"Cache-Control": "no-cache", "X-Robots-Tag": "noindex"}


@get(
    "/verify/{serial:str}",
    operation_id="verifyPage",
    tags=["public"],
    exclude_from_auth=True,
    opt={"public_reason": "the verification page opened by a certificate's QR code is public"},
)
async def verify_page(serial: FromPath[str], db_session: NamedDependency[AsyncSession]) -> Template:
    """The verification page of a certificate; a Chinese 404 page for an unknown serial."""
    try:
        cert = await service.get_by_serial(db_session, serial)
    except NotFound:
        return Template(
            template_name="verify_not_found.html.j2",
            context={"serial": serial[:64]},
            status_code=404,
            headers=HEADERS,
        )
    now = utcnow()
    status = service.status_of(cert, service.china_today(now))
    context: dict[str, Any] = {
        "serial": cert.serial,
        "status": status,
        "status_label": service.STATUS_LABELS[status],
        "status_text": STATUS_TEXT[status],
        "type_name": cert.type_name,
        "level_name": cert.level_name,
        "holder_name": service.mask_name(cert.holder_name),
        "holder_id_masked": cert.holder_id_masked,
        "hours": format_hours(cert.hours_tenths),
        "issuer_name": cert.issuer_name,
        "valid_from": f"{cert.valid_from:%Y年%m月%d日}",
        "valid_until": f"{cert.valid_until:%Y年%m月%d日}" if cert.valid_until else None,
        "checked_at": f"{now.astimezone(CHINA_TZ):%Y年%m月%d日 %H:%M}",
    }
    return Template(template_name="verify.html.j2", context=context, headers=HEADERS)


ROUTES: list[Any] = [verify_page]
