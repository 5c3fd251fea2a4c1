"""Bitstring Status Lists: published signed, re-signed on change, bits decoded by hand."""

from __future__ import annotations

import uuid
from datetime import timedelta

import anyio
import jwt
import pytest
from sqlalchemy import select, update

from tests.api import cert_helpers as h
from tests.factories import Factory
from workforce.certificates import status_store
from workforce.certificates.credential import parse_datetime, verify_vc_jwt
from workforce.certificates.models import Certificate, StatusList
from workforce.certificates.status_list import check_status
from workforce.db import utcnow

pytestmark = pytest.mark.anyio


@pytest.fixture
def keys_dir(tmp_path):
    """Keys of this test only: the key-rotation tests must not rotate everyone's keyring."""
    return tmp_path / "keys"


async def _list(client, path: str, **headers: str):
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response


async def test_published_list_is_a_signed_credential(client, factory: Factory, ctx) -> None:
    _, _, _, cert = await h.certified(client, factory)
    paths = h.status_paths(cert["token"])
    path, index = paths["revocation"]
    response = await _list(client, path)
    assert response.headers["content-type"].startswith("application/vc+jwt")
    assert response.headers["cache-control"] == "public, max-age=300"
    etag = response.headers["etag"]
    token = response.text
    jwks = (await client.get("/.well-known/jwks.json")).json()
    verified = verify_vc_jwt(token, jwks)
    assert verified.valid, verified.reason
    credential = verified.credential
    assert credential is not None
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert credential["id"] == f"http://127.0.0.1:8000{path}"
    assert credential["issuer"]["id"] == h.claims(cert["token"])["issuer"]["id"]
    subject = credential["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == "revocation"
    valid_from = parse_datetime(credential["validFrom"])
    valid_until = parse_datetime(credential["validUntil"])
    assert valid_from is not None and valid_until is not None
    assert valid_until - valid_from == timedelta(hours=24)
    assert h.bit(token, index) is False

    not_modified = await client.get(path, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.headers["etag"] == etag
    plain = await _list(client, path, accept="application/jwt")
    assert plain.headers["content-type"].startswith("application/jwt") and plain.text == token
    assert (await _list(client, path)).text == token  # cached: not re-signed while fresh
    del ctx


async def test_revocation_and_suspension_bits(client, factory: Factory) -> None:
    regulator, _, _, cert = await h.certified(client, factory)
    paths = h.status_paths(cert["token"])
    (rev_path, rev_index), (sus_path, sus_index) = paths["revocation"], paths["suspension"]
    assert rev_path != sus_path
    url = f"/api/v1/certificates/{cert['serial']}/revocation"
    before = (await _list(client, sus_path)).headers["etag"]

    await client.post(url, json={"action": "suspend", "reason": "核查"}, headers=regulator.headers)
    suspended = await _list(client, sus_path)
    assert suspended.headers["etag"] != before
    assert h.bit(suspended.text, sus_index) is True
    assert h.bit((await _list(client, rev_path)).text, rev_index) is False

    await client.post(
        url, json={"action": "reinstate", "reason": "核查完毕"}, headers=regulator.headers
    )
    assert h.bit((await _list(client, sus_path)).text, sus_index) is False

    await client.post(
        url, json={"action": "suspend", "reason": "再次核查"}, headers=regulator.headers
    )
    await client.post(url, json={"action": "revoke", "reason": "撤销"}, headers=regulator.headers)
    revocation = (await _list(client, rev_path)).text
    suspension = (await _list(client, sus_path)).text
    assert h.bit(revocation, rev_index) is True
    assert h.bit(suspension, sus_index) is False  # revocation supersedes the suspension
    jwks = (await client.get("/.well-known/jwks.json")).json()
    lists = {
        f"http://127.0.0.1:8000{rev_path}": revocation,
        f"http://127.0.0.1:8000{sus_path}": suspension,
    }
    results = check_status(h.claims(cert["token"])["credentialStatus"], lists, jwks)
    assert {(r.purpose, r.set) for r in results} == {("revocation", True), ("suspension", False)}


async def test_indices_are_random_and_unique(client, factory: Factory) -> None:
    _, base = await h.setup(factory)
    indices = []
    for _ in range(6):
        person, _ = await factory.practitioner(by=base)
        await h.record_hours(factory, base, person.id, "caregiver_round", 1200)
        issued = await h.issue(client, base, person.id)
        assert issued.status_code == 201, issued.text
        indices.append(h.status_paths(issued.json()["token"])["revocation"][1])
    assert len(set(indices)) == 6
    assert sorted(indices) != list(range(min(indices), min(indices) + 6))
    lists = (await factory.session.scalars(select(StatusList))).all()
    assert {(row.purpose, row.allocated, row.size) for row in lists} == {
        ("revocation", 6, 131_072),
        ("suspension", 6, 131_072),
    }


async def test_a_collision_is_retried(
    client, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, base = await h.setup(factory)
    draws = iter([7, 7, 7, 7, 9, 9])
    monkeypatch.setattr(status_store.secrets, "randbelow", lambda _: next(draws))
    serials = []
    for _ in range(2):
        person, _ = await factory.practitioner(by=base)
        await h.record_hours(factory, base, person.id, "caregiver_round", 1200)
        issued = await h.issue(client, base, person.id)
        assert issued.status_code == 201, issued.text
        serials.append(issued.json()["serial"])
    rows = (await factory.session.scalars(select(Certificate).order_by(Certificate.id))).all()
    assert [(r.revocation_index, r.suspension_index) for r in rows] == [(7, 7), (9, 9)]


async def test_a_full_list_opens_a_new_one(client, factory: Factory) -> None:
    _, base = await h.setup(factory)
    person, _ = await factory.practitioner(by=base)
    await h.record_hours(factory, base, person.id, "caregiver_round", 1200)
    first = (await h.issue(client, base, person.id)).json()
    # pretend every entry but one is taken: the next draw is among the free ones (dense path)
    await factory.session.execute(update(StatusList).values(allocated=StatusList.size - 1))
    await factory.session.commit()
    other, _ = await factory.practitioner(by=base)
    await h.record_hours(factory, base, other.id, "caregiver_round", 1200)
    second = (await h.issue(client, base, other.id)).json()
    third_person, _ = await factory.practitioner(by=base)
    await h.record_hours(factory, base, third_person.id, "caregiver_round", 1200)
    third = (await h.issue(client, base, third_person.id)).json()
    first_paths, second_paths, third_paths = (
        h.status_paths(c["token"]) for c in (first, second, third)
    )
    assert first_paths["revocation"][0] == second_paths["revocation"][0]
    assert third_paths["revocation"][0] != first_paths["revocation"][0]
    assert first_paths["revocation"][1] != second_paths["revocation"][1]
    lists = (await factory.session.scalars(select(StatusList).order_by(StatusList.id))).all()
    assert [(r.purpose, r.allocated) for r in lists][-2:] == [("revocation", 1), ("suspension", 1)]
    assert (
        h.bit(
            (await _list(client, third_paths["revocation"][0])).text, third_paths["revocation"][1]
        )
        is False
    )


async def test_lists_are_per_issuer(client, factory: Factory) -> None:
    regulator, base, person, cert = await h.certified(client, factory)
    await h.record_hours(factory, base, person.id, "director_round", 600, days_ago=40)
    by_regulator = await h.issue(client, regulator, person.id, "director_post")
    assert by_regulator.status_code == 201
    assert (
        h.status_paths(cert["token"])["revocation"][0]
        != h.status_paths(by_regulator.json()["token"])["revocation"][0]
    )
    verdict = await client.post(
        "/api/v1/certificates/verify", json={"token": by_regulator.json()["token"]}
    )
    assert verdict.json()["verdict"] == "valid"


async def test_stale_or_rotated_lists_are_re_signed(client, factory: Factory, ctx) -> None:
    _, _, _, cert = await h.certified(client, factory)
    path, _ = h.status_paths(cert["token"])["revocation"]
    first = (await _list(client, path)).text
    list_id = uuid.UUID(path.rsplit("/", 1)[1])
    await factory.session.execute(
        update(StatusList)
        .where(StatusList.id == list_id)
        .values(signed_at=utcnow() - timedelta(hours=13))
    )
    await factory.session.commit()
    second = (await _list(client, path)).text
    row = await factory.session.get(StatusList, list_id, populate_existing=True)
    assert row is not None and row.signed_at is not None
    assert utcnow() - row.signed_at < timedelta(minutes=1)  # re-signed (same second: same bytes)
    assert h.claims(second)["validFrom"] >= h.claims(first)["validFrom"]
    await factory.session.commit()
    ctx.keyring.rotate()
    third = (await _list(client, path)).text
    assert jwt.get_unverified_header(third)["kid"] == ctx.keyring.current.kid
    assert jwt.get_unverified_header(first)["kid"] != ctx.keyring.current.kid
    assert await status_store.refresh_stale_lists(factory.session, ctx) >= 1  # the suspension list


async def test_unknown_list_is_404(client) -> None:
    response = await client.get(f"/api/v1/status-lists/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:workforce:status_list_not_found"
    assert (await client.get("/api/v1/status-lists/not-a-uuid")).status_code in (400, 404)


async def test_concurrent_issuance_shares_the_lists_safely(client, factory: Factory) -> None:
    _, base = await h.setup(factory)
    people = []
    for _ in range(8):
        person, _ = await factory.practitioner(by=base)
        await h.record_hours(factory, base, person.id, "caregiver_round", 1200)
        people.append(person)
    responses: list = []

    async def one(pid) -> None:
        responses.append(await h.issue(client, base, pid))

    async with anyio.create_task_group() as group:
        for person in people:
            group.start_soon(one, person.id)
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    rows = (await factory.session.scalars(select(Certificate))).all()
    assert len({(r.revocation_list_id, r.revocation_index) for r in rows}) == 8
    lists = (await factory.session.scalars(select(StatusList))).all()
    assert sorted((row.purpose, row.allocated) for row in lists) == [
        ("revocation", 8),
        ("suspension", 8),
    ]
