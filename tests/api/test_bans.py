"""``/api/v1/bans``: record, correct and check bans; proofs, hooks, jurisdiction, no leaks."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Actor, Factory
from workforce import hooks
from workforce.audit.models import AccessLog
from workforce.ledger.checkpoint import open_checkpoint
from workforce.ledger.entry import parse_entry
from workforce.ledger.merkle import verify_inclusion
from workforce.ledger.note import Verifier
from workforce.security import idnumber

pytestmark = pytest.mark.anyio

DECISION = "宁卫罚〔2026〕12号"
CASE = "(2026)苏0102刑初123号"
EVENTS: list[tuple[str, dict[str, Any]]] = []


async def on_ban_recorded(_session: Any, _ctx: Any, **kwargs: Any) -> None:
    EVENTS.append(("ban_recorded", kwargs))


async def on_ban_corrected(_session: Any, _ctx: Any, **kwargs: Any) -> None:
    EVENTS.append(("ban_corrected", kwargs))


@pytest.fixture(autouse=True)
def _subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    EVENTS.clear()
    monkeypatch.setitem(hooks.SUBSCRIBERS, "ban_recorded", (f"{__name__}:on_ban_recorded",))
    monkeypatch.setitem(hooks.SUBSCRIBERS, "ban_corrected", (f"{__name__}:on_ban_corrected",))


def _body(number: str, **extra: Any) -> dict[str, Any]:
    return {
        "id_number": number,
        "kind": "lifetime",
        "reason_code": "child_abuse",
        "decision_ref": DECISION,
        "related_case": CASE,
        **extra,
    }


async def _size(client: Any) -> int:
    return int((await client.get("/ledger/checkpoint")).text.split("\n")[1])


def _problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail", "reasons"} <= set(body)
    assert body["status"] == status
    assert code in [reason["code"] for reason in body["reasons"]] or body["type"].endswith(code), (
        body
    )


async def _verify_proof(client: Any, body: dict[str, Any]) -> None:
    vkeys = (await client.get("/ledger/vkey")).text.splitlines()
    checkpoint = open_checkpoint(body["checkpoint"], [Verifier.from_vkey(v) for v in vkeys])
    assert checkpoint.size == body["tree_size"]
    for entry in body["entries"]:
        verify_inclusion(
            base64.b64decode(entry["leaf_hash"]),
            entry["seq"],
            checkpoint.size,
            [base64.b64decode(h) for h in entry["inclusion_proof"]],
            checkpoint.root_hash,
        )


async def test_record_ban_with_managers_in_one_request(
    client: Any, factory: Factory, caplog_all: pytest.LogCaptureFixture
) -> None:
    regulator = await factory.org("regulator", region="320000")
    base = await factory.org("training_base", region="320102")
    person, number = await factory.practitioner(by=base)
    managers = [factory.id_number("320102"), factory.id_number("320104")]
    response = await client.post(
        "/api/v1/bans",
        json=_body(
            number,
            managers=[
                {"id_number": managers[0]},
                {"id_number": managers[1], "reason_code": "neglect"},
            ],
        ),
        headers=regulator.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["seq"] == 0 and body["tree_size"] == 3
    assert [e["seq"] for e in body["entries"]] == [0, 1, 2]
    assert [e["role"] for e in body["entries"]] == ["subject", "manager", "manager"]
    assert [e["reason_code"] for e in body["entries"]] == [
        "child_abuse",
        "responsible_manager",
        "neglect",
    ]
    assert body["entries"][0]["practitioner_id"] == str(person.id)
    assert body["entries"][1]["practitioner_id"] is None
    assert body["entries"][0]["id_number_masked"] == idnumber.mask(number)
    await _verify_proof(client, body)
    for secret in [number, *managers, DECISION, CASE]:
        assert secret not in response.text
        assert secret not in caplog_all.text.replace(idnumber.mask(number), "")

    leaves = (await client.get("/ledger/entries", params={"start": 0, "end": 2})).json()["entries"]
    entries = [parse_entry(base64.b64decode(e["leaf"])) for e in leaves]
    assert len({e.case for e in entries}) == 1  # one case: an auditor sees they belong together
    assert len({e.subject for e in entries}) == 3
    assert {e.issuer.region for e in entries} == {"320000"}

    assert [(name, kw["seq"], kw["kind"]) for name, kw in EVENTS] == [
        ("ban_recorded", 0, "lifetime"),
        ("ban_recorded", 1, "lifetime"),
        ("ban_recorded", 2, "lifetime"),
    ]
    assert EVENTS[0][1] == {
        "id_number": number,
        "practitioner_id": person.id,
        "kind": "lifetime",
        "until": None,
        "seq": 0,
    }
    assert EVENTS[1][1]["practitioner_id"] is None


async def test_a_later_request_of_the_same_case_shares_its_commitment(
    client: Any, factory: Factory
) -> None:
    regulator = await factory.org("regulator", region="320000")
    for _ in range(2):
        response = await client.post(
            "/api/v1/bans", json=_body(factory.id_number("320102")), headers=regulator.headers
        )
        assert response.status_code == 201
    leaves = (await client.get("/ledger/entries", params={"start": 0})).json()["entries"]
    entries = [parse_entry(base64.b64decode(e["leaf"])) for e in leaves]
    assert entries[0].case == entries[1].case
    assert entries[0].decision != entries[1].decision


async def test_fixed_term_ban(client: Any, factory: Factory) -> None:
    regulator = await factory.org("regulator", region="320000")
    until = date.today() + timedelta(days=3 * 365)
    response = await client.post(
        "/api/v1/bans",
        json=_body(
            factory.id_number("320102"), kind="fixed_term", until=str(until), reason_code="violence"
        ),
        headers=regulator.headers,
    )
    assert response.status_code == 201, response.text
    assert EVENTS[0][1]["until"] == until


async def test_idempotency_key_replays_and_changes_nothing(client: Any, factory: Factory) -> None:
    regulator = await factory.org("regulator", region="320000")
    number = factory.id_number("320102")
    headers = {**regulator.headers, "Idempotency-Key": "ban-2026-0001"}
    first = await client.post("/api/v1/bans", json=_body(number), headers=headers)
    again = await client.post("/api/v1/bans", json=_body(number), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await _size(client) == 1
    other = await client.post(
        "/api/v1/bans", json=_body(factory.id_number("320102")), headers=headers
    )
    _problem(other, 409, "idempotency_key_reused")
    assert await _size(client) == 1


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"id_number": "320102199001011234"}, 422, "invalid_id_number"),
        ({"kind": "fixed_term"}, 422, "until_required"),
        ({"kind": "fixed_term", "until": "2001-01-01"}, 422, "until_in_past"),
        ({"until": "2099-01-01"}, 422, "until_not_allowed"),
        ({"decision_ref": "   "}, 422, "invalid_reference"),
        ({"related_case": "\u3000"}, 422, "invalid_reference"),
        ({"reason_code": "jaywalking"}, 400, "validation_failed"),
        ({"kind": "forever"}, 400, "validation_failed"),
        ({"unexpected": 1}, 400, "validation_failed"),
        ({"managers": [{"id_number": "320102199001011234"}]}, 422, "invalid_id_number"),
    ],
)
async def test_bad_ban_requests_are_refused_and_change_nothing(
    client: Any, factory: Factory, change: dict[str, Any], status: int, code: str
) -> None:
    regulator = await factory.org("regulator", region="320000")
    body = _body(factory.id_number("320102"))
    body.update(change)
    response = await client.post("/api/v1/bans", json=body, headers=regulator.headers)
    _problem(response, status, code)
    assert body["id_number"] not in response.text
    assert await _size(client) == 0
    assert EVENTS == []


async def test_the_same_person_twice_is_refused(client: Any, factory: Factory) -> None:
    regulator = await factory.org("regulator", region="320000")
    number = factory.id_number("320102")
    response = await client.post(
        "/api/v1/bans",
        json=_body(number, managers=[{"id_number": number.lower()}]),
        headers=regulator.headers,
    )
    _problem(response, 422, "duplicate_subject")
    assert await _size(client) == 0


async def test_jurisdiction(client: Any, factory: Factory) -> None:
    nanjing = await factory.org("regulator", region="320100")
    beijing = await factory.org("regulator", region="110000")
    base = await factory.org("training_base", region="320102")
    _, number = await factory.practitioner(by=base)
    refused = await client.post("/api/v1/bans", json=_body(number), headers=beijing.headers)
    _problem(refused, 403, "out_of_jurisdiction")
    managed = await client.post(
        "/api/v1/bans",
        json=_body(factory.id_number("110101"), managers=[{"id_number": number}]),
        headers=beijing.headers,
    )
    _problem(managed, 403, "out_of_jurisdiction")
    assert await _size(client) == 0
    # Not registered: the regulator's own region applies, so any regulator may record it.
    unregistered = await client.post(
        "/api/v1/bans", json=_body(factory.id_number("440101")), headers=beijing.headers
    )
    assert unregistered.status_code == 201
    accepted = await client.post("/api/v1/bans", json=_body(number), headers=nanjing.headers)
    assert accepted.status_code == 201


async def test_roles_and_authentication(client: Any, factory: Factory) -> None:
    institution = await factory.org("institution")
    base = await factory.org("training_base")
    admin = await factory.org("admin", region=None)
    number = factory.id_number("320102")
    _problem(await client.post("/api/v1/bans", json=_body(number)), 401, "unauthorized")
    _problem(
        await client.post(
            "/api/v1/bans", json=_body(number), headers={"Authorization": "Bearer x.y.z"}
        ),
        401,
        "unauthorized",
    )
    for actor in (institution, base, admin):
        _problem(
            await client.post("/api/v1/bans", json=_body(number), headers=actor.headers),
            403,
            "role_not_allowed",
        )
        _problem(
            await client.post(
                "/api/v1/bans/0/correction",
                json={"effect": "quashed", "decision_ref": "x"},
                headers=actor.headers,
            ),
            403,
            "role_not_allowed",
        )
    for actor in (base, admin):
        _problem(
            await client.post(
                "/api/v1/bans/check", json={"id_number": number}, headers=actor.headers
            ),
            403,
            "role_not_allowed",
        )
    _problem(
        await client.post(
            "/api/v1/bans/0/correction", json={"effect": "quashed", "decision_ref": "x"}
        ),
        401,
        "unauthorized",
    )
    _problem(
        await client.post("/api/v1/bans/check", json={"id_number": number}), 401, "unauthorized"
    )


async def _record(client: Any, regulator: Actor, number: str, **extra: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/bans", json=_body(number, **extra), headers=regulator.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_corrections(client: Any, factory: Factory) -> None:
    regulator = await factory.org("regulator", region="320000")
    base = await factory.org("training_base", region="320102")
    person, number = await factory.practitioner(by=base)
    await _record(client, regulator, number)
    until = date.today() + timedelta(days=200)
    amended = await client.post(
        "/api/v1/bans/0/correction",
        json={
            "effect": "amended",
            "decision_ref": "(2026)苏01行终3号",
            "kind": "fixed_term",
            "until": str(until),
        },
        headers=regulator.headers,
    )
    assert amended.status_code == 201, amended.text
    body = amended.json()
    assert (body["seq"], body["corrects"], body["effect"]) == (1, 0, "amended")
    assert body["status"] == {
        "banned": True,
        "kind": "fixed_term",
        "since": body["status"]["since"],
        "until": str(until),
    }
    await _verify_proof(client, body)
    correction = parse_entry(
        base64.b64decode(
            (await client.get("/ledger/entries", params={"start": 1})).json()["entries"][0]["leaf"]
        )
    )
    assert correction.type == "correction" and correction.corrects is not None
    assert (
        correction.corrects.seq == 0
        and correction.corrects.leaf_hash
        == base64.b64decode(
            (await client.get("/ledger/entries", params={"start": 0, "end": 0})).json()["entries"][
                0
            ]["leaf_hash"]
        ).hex()
    )
    quashed = await client.post(
        "/api/v1/bans/0/correction",
        json={"effect": "quashed", "decision_ref": "(2027)最高法行再2号"},
        headers=regulator.headers,
    )
    assert quashed.status_code == 201
    assert quashed.json()["status"]["banned"] is False
    assert [
        (n, kw["effect"], kw["seq"], kw["practitioner_id"])
        for n, kw in EVENTS
        if n == "ban_corrected"
    ] == [
        ("ban_corrected", "amended", 1, person.id),
        ("ban_corrected", "quashed", 2, person.id),
    ]
    assert all(kw["id_number"] == number for _, kw in EVENTS)
    assert number not in amended.text + quashed.text
    again = await client.post(
        "/api/v1/bans/0/correction",
        json={"effect": "quashed", "decision_ref": "again"},
        headers=regulator.headers,
    )
    _problem(again, 409, "ban_already_quashed")
    assert await _size(client) == 3


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        (
            "/api/v1/bans/7/correction",
            {"effect": "quashed", "decision_ref": "x"},
            404,
            "entry_not_found",
        ),
        (
            "/api/v1/bans/99999999999999999999/correction",
            {"effect": "quashed", "decision_ref": "x"},
            404,
            "entry_not_found",
        ),
        (
            "/api/v1/bans/1/correction",
            {"effect": "quashed", "decision_ref": "x"},
            422,
            "correction_of_correction",
        ),
        (
            "/api/v1/bans/0/correction",
            {"effect": "amended", "decision_ref": "x"},
            422,
            "kind_required",
        ),
        (
            "/api/v1/bans/0/correction",
            {"effect": "quashed", "decision_ref": "x", "kind": "lifetime"},
            422,
            "kind_not_allowed",
        ),
        (
            "/api/v1/bans/0/correction",
            {"effect": "amended", "decision_ref": "x", "kind": "fixed_term"},
            422,
            "until_required",
        ),
        (
            "/api/v1/bans/0/correction",
            {"effect": "amended", "decision_ref": "x", "kind": "fixed_term", "until": "2000-01-01"},
            422,
            "until_in_past",
        ),
        (
            "/api/v1/bans/0/correction",
            {"effect": "amended", "decision_ref": " ", "kind": "lifetime"},
            422,
            "invalid_reference",
        ),
        (
            "/api/v1/bans/0/correction",
            {"effect": "erased", "decision_ref": "x"},
            400,
            "validation_failed",
        ),
    ],
)
async def test_bad_corrections_are_refused_and_change_nothing(
    client: Any, factory: Factory, path: str, body: dict[str, Any], status: int, code: str
) -> None:
    regulator = await factory.org("regulator", region="320000")
    await _record(client, regulator, factory.id_number("320102"))
    first = await client.post(
        "/api/v1/bans/0/correction",
        json={"effect": "amended", "decision_ref": "y", "kind": "lifetime"},
        headers=regulator.headers,
    )
    assert first.status_code == 201
    response = await client.post(path, json=body, headers=regulator.headers)
    _problem(response, status, code)
    assert await _size(client) == 2


async def test_a_correction_outside_the_issuers_jurisdiction_is_refused(
    client: Any, factory: Factory
) -> None:
    jiangsu = await factory.org("regulator", region="320000")
    nanjing = await factory.org("regulator", region="320100")
    beijing = await factory.org("regulator", region="110000")
    national = await factory.org("regulator", region="000000")
    await _record(client, jiangsu, factory.id_number("320102"))
    quash = {"effect": "quashed", "decision_ref": "x"}
    for actor in (beijing, nanjing):  # a city does not cover its province's decisions
        _problem(
            await client.post("/api/v1/bans/0/correction", json=quash, headers=actor.headers),
            403,
            "out_of_jurisdiction",
        )
    assert await _size(client) == 1
    allowed = await client.post("/api/v1/bans/0/correction", json=quash, headers=national.headers)
    assert allowed.status_code == 201


async def test_check_tells_an_institution_no_more_and_logs_every_check(
    client: Any, factory: Factory, session: AsyncSession, caplog_all: pytest.LogCaptureFixture
) -> None:
    regulator = await factory.org("regulator", region="320000")
    institution = await factory.org("institution")
    base = await factory.org("training_base", region="320102")
    person, registered = await factory.practitioner(by=base)
    unregistered = factory.id_number("320102")
    clean = factory.id_number("320102")
    await _record(client, regulator, registered)
    await _record(
        client,
        regulator,
        unregistered,
        kind="fixed_term",
        until=str(date.today() + timedelta(days=9)),
    )
    texts = []
    for number, banned, kind in (
        (registered, True, "lifetime"),
        (unregistered, True, "fixed_term"),
        (clean, False, None),
    ):
        response = await client.post(
            "/api/v1/bans/check", json={"id_number": number}, headers=institution.headers
        )
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert set(body) == {"banned", "kind", "since", "until", "receipt"}
        assert (body["banned"], body["kind"]) == (banned, kind)
        texts.append(response.text)
    regulator_view = await client.post(
        "/api/v1/bans/check", json={"id_number": registered}, headers=regulator.headers
    )
    assert regulator_view.json()["entries"] == [0]
    texts.append(regulator_view.text)
    for number in (registered, unregistered, clean):
        assert all(number not in text for text in texts)
        assert number not in caplog_all.text.replace(idnumber.mask(number), "")
    rows = (
        await session.scalars(
            select(AccessLog).where(AccessLog.action == "ban_check").order_by(AccessLog.id)
        )
    ).all()
    assert [(r.practitioner_id, r.outcome, r.route) for r in rows] == [
        (person.id, "banned", "POST /api/v1/bans/check"),
        (None, "banned", "POST /api/v1/bans/check"),
        (None, "not_banned", "POST /api/v1/bans/check"),
        (person.id, "banned", "POST /api/v1/bans/check"),
    ]
    assert rows[0].org_id == institution.org.id


async def test_check_refuses_an_invalid_number(client: Any, factory: Factory) -> None:
    institution = await factory.org("institution")
    bad = factory.id_number("320102")[:-1] + "Z"
    response = await client.post(
        "/api/v1/bans/check", json={"id_number": bad}, headers=institution.headers
    )
    _problem(response, 422, "invalid_id_number")
    assert bad not in response.text
