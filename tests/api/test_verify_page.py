"""The public verification page (Simplified Chinese) and the QR codes that open it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.api import cert_helpers as h
from tests.factories import Factory
from workforce.certificates import qr
from workforce.certificates.models import Certificate
from workforce.security.idnumber import today_in_china

pytestmark = pytest.mark.anyio


def _no_external_assets(html: str) -> None:
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.IGNORECASE)
    assert "@import" not in html and "url(" not in html


async def test_page_shows_the_certificate_in_chinese(client, factory: Factory) -> None:
    _, base, person, cert = await h.certified(client, factory)
    response = await client.get(f"/verify/{cert['serial']}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="zh-CN">' in html
    for text in (
        "证书核验结果",
        "保育人员岗位培训合格证",
        "120.0 学时",
        base.org.name,
        "有效",
        cert["serial"],
        person.id_masked,
    ):
        assert text in html, text
    today = today_in_china()
    assert f"{today:%Y年%m月%d日}" in html
    until = today.replace(year=today.year + 3) - timedelta(days=1)
    assert f"{until:%Y年%m月%d日}" in html
    assert person.name not in html  # the holder's name is masked on a public page
    _no_external_assets(html)


async def test_page_follows_the_status(client, factory: Factory) -> None:
    regulator, _, _, cert = await h.certified(client, factory)
    page = f"/verify/{cert['serial']}"
    url = f"/api/v1/certificates/{cert['serial']}/revocation"
    await client.post(url, json={"action": "suspend", "reason": "核查"}, headers=regulator.headers)
    assert "已暂停" in (await client.get(page)).text
    await client.post(
        url, json={"action": "reinstate", "reason": "核查完毕"}, headers=regulator.headers
    )
    await factory.session.execute(
        update(Certificate)
        .where(Certificate.serial == cert["serial"])
        .values(valid_until=today_in_china() - timedelta(days=1))
    )
    await factory.session.commit()
    assert "已过期" in (await client.get(page)).text
    await client.post(url, json={"action": "revoke", "reason": "撤销"}, headers=regulator.headers)
    revoked = (await client.get(page)).text
    assert "已撤销" in revoked and "不再有效" in revoked


async def test_unknown_serial_is_a_chinese_404_page(client) -> None:
    response = await client.get("/verify/TY-0000-0000-0000-0000-0000-0000")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "未找到该证书" in response.text
    hostile = await client.get('/verify/"><script>alert(1)')
    assert hostile.status_code == 404
    assert "<script>" not in hostile.text and "&lt;script&gt;" in hostile.text
    _no_external_assets(hostile.text)


async def test_qr_codes_open_the_page(client, factory: Factory, ctx) -> None:
    _, _, _, cert = await h.certified(client, factory)
    svg = await client.get(cert["qr"]["svg_url"].removeprefix("http://127.0.0.1:8000"))
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.content.startswith(b"<?xml") and b"<svg" in svg.content
    png = await client.get(cert["qr"]["png_url"].removeprefix("http://127.0.0.1:8000"))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    page = f"{ctx.settings.public_base_url}/verify/{cert['serial']}"
    assert svg.content == qr.svg(page) and png.content == qr.png(page)
    assert (
        await client.get("/api/v1/certificates/TY-0000-0000-0000-0000-0000-0000/qr.svg")
    ).status_code == 404
    assert (
        await client.get("/api/v1/certificates/TY-0000-0000-0000-0000-0000-0000/qr.png")
    ).status_code == 404
