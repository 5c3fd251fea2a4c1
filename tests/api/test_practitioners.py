"""Practitioners: registration, lookup, visibility, reveal, the access log, no leaks."""

from __future__ import annotations

import logging

import pytest

from tests.factories import Factory
from workforce.security import idnumber

pytestmark = pytest.mark.anyio


async def _register(client, actor, number: str, name: str = "王芳", **extra):
    return await client.post(
        "/api/v1/practitioners",
        json={"id_number": number, "name": name, "positions": ["caregiver"], **extra},
        headers=actor.headers,
    )


async def test_register_is_idempotent_and_masked(client, factory: Factory) -> None:
    base = await factory.org("training_base")
    number = factory.id_number("320102")
    first = await _register(client, base, number)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["id_number_masked"] == idnumber.mask(number)
    assert number not in first.text
    again = await _register(client, base, number.lower())
    assert again.status_code == 200
    assert again.json()["practitioner_id"] == body["practitioner_id"]


async def test_register_by_another_org_returns_same_person(client, factory: Factory) -> None:
    base = await factory.org("training_base")
    inst = await factory.org("institution", region="320104")
    number = factory.id_number()
    first = (await _register(client, base, number)).json()
    second = await _register(client, inst, number, positions=["director"])
    assert second.status_code == 200
    assert second.json()["practitioner_id"] == first["practitioner_id"]
    assert sorted(second.json()["positions"]) == ["caregiver", "director"]


async def test_name_mismatch_conflicts(client, factory: Factory) -> None:
    base = await factory.org("training_base")
    number = factory.id_number()
    await _register(client, base, number, name="王芳")
    response = await _register(client, base, number, name="李娜")
    assert response.status_code == 409
    assert response.json()["type"] == "urn:workforce:name_mismatch"


@pytest.mark.parametrize(
    ("mutate", "specific"),
    [
        (lambda n: n[:-1] + ("0" if n[-1] != "0" else "1"), "id_number_checksum"),
        (lambda n: n[:16], "id_number_length"),
        (lambda n: "99" + n[2:], "id_number_region"),
        (lambda n: n[:10] + "1399" + n[14:], "id_number_birth_date"),
    ],
)
async def test_invalid_id_numbers(client, factory: Factory, mutate, specific, caplog_all) -> None:
    base = await factory.org("training_base")
    bad = mutate(factory.id_number())
    response = await _register(client, base, bad)
    assert response.status_code == 422
    body = response.json()
    codes = [r["code"] for r in body["reasons"]]
    assert "invalid_id_number" in codes
    if specific != "id_number_checksum" or len(bad) == 18:
        assert any(c.startswith("id_number_") for c in codes)
    assert bad not in response.text
    assert bad not in caplog_all.text
    lookup = await client.post(
        "/api/v1/practitioners/lookup", json={"id_number": bad}, headers=base.headers
    )
    assert lookup.status_code == 422


async def test_lookup_found_and_missing(client, factory: Factory) -> None:
    base = await factory.org("training_base")
    inst = await factory.org("institution")
    person, number = await factory.practitioner(by=base)
    found = await client.post(
        "/api/v1/practitioners/lookup", json={"id_number": number}, headers=inst.headers
    )
    assert found.status_code == 200
    assert found.json() == {"practitioner_id": str(person.id)}
    missing = await client.post(
        "/api/v1/practitioners/lookup",
        json={"id_number": factory.id_number()},
        headers=inst.headers,
    )
    assert missing.status_code == 404
    assert missing.json()["type"] == "urn:workforce:not_registered"


async def test_visibility_between_orgs(client, factory: Factory) -> None:
    base_a = await factory.org("training_base")
    base_b = await factory.org("training_base")
    nanjing = await factory.org("regulator", region="320100")
    suzhou = await factory.org("regulator", region="320500")
    province = await factory.org("regulator", region="320000")
    person, _ = await factory.practitioner(by=base_a, region="320102")
    url = f"/api/v1/practitioners/{person.id}"
    assert (await client.get(url, headers=base_a.headers)).status_code == 200
    assert (await client.get(url, headers=base_b.headers)).status_code == 404
    assert (await client.get(url, headers=nanjing.headers)).status_code == 200
    assert (await client.get(url, headers=province.headers)).status_code == 200
    assert (await client.get(url, headers=suzhou.headers)).status_code == 404


async def test_regulator_reveal_and_access_log(client, factory: Factory) -> None:
    base = await factory.org("training_base")
    inst = await factory.org("institution")
    nanjing = await factory.org("regulator", region="320100")
    suzhou = await factory.org("regulator", region="320500")
    person, number = await factory.practitioner(by=base)
    await client.post(
        "/api/v1/practitioners/lookup", json={"id_number": number}, headers=inst.headers
    )
    await client.get(f"/api/v1/practitioners/{person.id}", headers=base.headers)
    reveal_url = f"/api/v1/practitioners/{person.id}/reveal"
    revealed = await client.post(reveal_url, json={"reason": "案件核查"}, headers=nanjing.headers)
    assert revealed.status_code == 200
    assert revealed.json()["id_number"] == number
    assert (
        await client.post(reveal_url, json={"reason": "核查"}, headers=suzhou.headers)
    ).status_code == 404
    assert (
        await client.post(reveal_url, json={"reason": "核查"}, headers=base.headers)
    ).status_code == 403
    log = await client.get(f"/api/v1/practitioners/{person.id}/access-log", headers=nanjing.headers)
    assert log.status_code == 200
    entries = log.json()["items"]
    actions = [(e["org_id"], e["action"]) for e in entries]
    assert (str(inst.org.id), "lookup") in actions
    assert (str(base.org.id), "read") in actions
    assert (str(nanjing.org.id), "reveal") in actions
    assert all("{" in e["route"] or "lookup" in e["route"] for e in entries)
    assert (
        await client.get(f"/api/v1/practitioners/{person.id}/access-log", headers=inst.headers)
    ).status_code == 403


async def test_stored_id_number_is_not_plain(client, factory: Factory, session) -> None:
    from sqlalchemy import text

    base = await factory.org("training_base")
    number = factory.id_number()
    await _register(client, base, number)
    rows = (await session.execute(text("SELECT * FROM practitioners"))).all()
    dump = repr(rows)
    assert number not in dump and number[6:14] not in dump


ROLE_MATRIX = [
    # (method, path, body, allowed roles)
    ("POST", "/api/v1/practitioners", "register", {"training_base", "institution", "regulator"}),
    (
        "POST",
        "/api/v1/practitioners/lookup",
        "lookup",
        {"training_base", "institution", "regulator", "admin"},
    ),
    ("POST", "/api/v1/orgs", "org", {"admin", "regulator"}),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROLE_MATRIX)
async def test_role_matrix(client, factory: Factory, rng, method, path, body, allowed) -> None:
    from workforce import synth

    actors = {
        "admin": await factory.org("admin", region=None),
        "regulator": await factory.org("regulator", region="320000"),
        "training_base": await factory.org("training_base"),
        "institution": await factory.org("institution"),
    }
    for role, actor in actors.items():
        payload = {
            "register": {"id_number": factory.id_number(), "name": "赵敏"},
            "lookup": {"id_number": factory.id_number()},
            "org": {
                "kind": "training_base",
                "name": "基地",
                "region_code": "320102",
                "uscc": synth.random_uscc(rng, "320102"),
            },
        }[body]
        response = await client.request(method, path, json=payload, headers=actor.headers)
        if role in allowed:
            assert response.status_code != 403, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["type"] == "urn:workforce:role_not_allowed"
    anonymous = await client.request(method, path, json={})
    assert anonymous.status_code == 401


async def test_no_id_number_in_logs(client, factory: Factory, caplog_all) -> None:
    base = await factory.org("training_base")
    number = factory.id_number()
    await _register(client, base, number)
    await client.post(
        "/api/v1/practitioners/lookup", json={"id_number": number}, headers=base.headers
    )
    logging.getLogger("workforce").warning("probe %s", number)
    assert number not in caplog_all.text.replace(idnumber.mask(number), "")
