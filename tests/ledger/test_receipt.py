"""Ban-check receipts verify offline, for a hit and a miss, and any alteration is caught."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from datetime import date, timedelta
from typing import Any

import pytest

from tests.factories import Actor, Factory
from workforce.certificates.credential import sign_jws
from workforce.context import AppContext
from workforce.ledger.errors import NoteError
from workforce.ledger.note import Verifier
from workforce.ledger.receipt import verify_ban_receipt

pytestmark = pytest.mark.anyio

ORIGIN = "registry.example.cn/workforce/bans/v1"


async def _ban(client: Any, regulator: Actor, number: str, **extra: Any) -> dict[str, Any]:
    body = {
        "id_number": number,
        "kind": "lifetime",
        "reason_code": "child_abuse",
        "decision_ref": "宁卫罚〔2026〕12号",
        "related_case": "(2026)苏0102刑初123号",
        **extra,
    }
    response = await client.post("/api/v1/bans", json=body, headers=regulator.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _check(client: Any, actor: Actor, number: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/bans/check", json={"id_number": number}, headers=actor.headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _trust(client: Any) -> tuple[list[str], dict[str, Any]]:
    vkeys = (await client.get("/ledger/vkey")).text.splitlines()
    jwks = (await client.get("/.well-known/jwks.json")).json()
    return vkeys, jwks


async def test_hit_and_miss_receipts_verify_offline(client: Any, factory: Factory) -> None:
    regulator = await factory.org("regulator", region="320000")
    institution = await factory.org("institution")
    banned, clean = factory.id_number("320102"), factory.id_number("320102")
    await _ban(client, regulator, factory.id_number("320102"))
    await _ban(
        client, regulator, banned, kind="fixed_term", until=str(date.today() + timedelta(days=400))
    )
    hit, miss = await _check(client, institution, banned), await _check(client, institution, clean)
    vkeys, jwks = await _trust(client)

    verdict = verify_ban_receipt(hit["receipt"], banned, vkeys, jwks, origin=ORIGIN)
    assert verdict.valid, verdict
    assert (verdict.banned, verdict.kind, verdict.until) == (
        True,
        "fixed_term",
        date.fromisoformat(hit["until"]),
    )
    assert verdict.entries == [1] and verdict.checkpoint_size == 2
    assert verify_ban_receipt(json.dumps(hit["receipt"]), banned.lower(), vkeys, jwks).valid

    verdict = verify_ban_receipt(miss["receipt"], clean, vkeys, jwks, origin=ORIGIN)
    assert verdict.valid, verdict
    assert (verdict.banned, verdict.kind, verdict.entries) == (False, None, [])
    assert miss["receipt"]["entries"] == []

    assert verify_ban_receipt(hit["receipt"], clean, vkeys, jwks).reason == "wrong_subject"
    assert verify_ban_receipt(miss["receipt"], banned, vkeys, jwks).reason == "wrong_subject"


async def test_receipt_on_an_empty_ledger(client: Any, factory: Factory) -> None:
    institution = await factory.org("institution")
    number = factory.id_number()
    receipt = (await _check(client, institution, number))["receipt"]
    vkeys, jwks = await _trust(client)
    verdict = verify_ban_receipt(receipt, number, vkeys, jwks, origin=ORIGIN)
    assert verdict.valid and verdict.checkpoint_size == 0 and verdict.banned is False


async def test_a_quashed_ban_checks_as_a_miss(client: Any, factory: Factory) -> None:
    regulator = await factory.org("regulator", region="320000")
    institution = await factory.org("institution")
    number = factory.id_number("320102")
    recorded = await _ban(client, regulator, number)
    quash = await client.post(
        f"/api/v1/bans/{recorded['seq']}/correction",
        json={"effect": "quashed", "decision_ref": "(2026)苏01行终9号"},
        headers=regulator.headers,
    )
    assert quash.status_code == 201, quash.text
    result = await _check(client, institution, number)
    assert result["banned"] is False and result["receipt"]["entries"] == []
    vkeys, jwks = await _trust(client)
    assert verify_ban_receipt(result["receipt"], number, vkeys, jwks).valid


async def test_an_amended_ban_proves_with_its_correction(client: Any, factory: Factory) -> None:
    regulator = await factory.org("regulator", region="320000")
    institution = await factory.org("institution")
    number = factory.id_number("320102")
    recorded = await _ban(client, regulator, number)
    until = date.today() + timedelta(days=30)
    amend = await client.post(
        f"/api/v1/bans/{recorded['seq']}/correction",
        json={
            "effect": "amended",
            "decision_ref": "(2026)苏01行终10号",
            "kind": "fixed_term",
            "until": str(until),
        },
        headers=regulator.headers,
    )
    assert amend.status_code == 201, amend.text
    result = await _check(client, institution, number)
    vkeys, jwks = await _trust(client)
    verdict = verify_ban_receipt(result["receipt"], number, vkeys, jwks)
    assert verdict.valid, verdict
    assert (verdict.kind, verdict.until, verdict.entries) == ("fixed_term", until, [0, 1])


def _flip(value: str) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[len(raw) // 2] ^= 1
    return base64.b64encode(bytes(raw)).decode()


async def test_any_alteration_fails_with_a_reason(
    client: Any, factory: Factory, ctx: AppContext
) -> None:
    regulator = await factory.org("regulator", region="320000")
    institution = await factory.org("institution")
    number, other = factory.id_number("320102"), factory.id_number("320102")
    await _ban(client, regulator, other)
    await _ban(client, regulator, number)
    receipt = (await _check(client, institution, number))["receipt"]
    other_receipt = (await _check(client, institution, other))["receipt"]
    vkeys, jwks = await _trust(client)

    def altered(change: Any) -> str | None:
        copied = copy.deepcopy(receipt)
        change(copied)
        return verify_ban_receipt(copied, number, vkeys, jwks).reason

    assert altered(lambda r: r["entries"][0].update(leaf=_flip(r["entries"][0]["leaf"]))) in {
        "entry_invalid",
        "inclusion_proof",
    }
    assert (
        altered(
            lambda r: r["entries"][0]["inclusion_proof"].__setitem__(
                0, _flip(r["entries"][0]["inclusion_proof"][0])
            )
        )
        == "inclusion_proof"
    )
    assert (
        altered(
            lambda r: r["entries"][0].update(subject_salt=_flip(r["entries"][0]["subject_salt"]))
        )
        == "wrong_subject"
    )
    assert altered(lambda r: r.update(salt=_flip(r["salt"]))) == "wrong_subject"
    assert altered(lambda r: r.update(entries=[])) == "entries_mismatch"
    assert (
        altered(
            lambda r: r.update(checkpoint=other_receipt["checkpoint"].replace("\n2\n", "\n1\n"))
        )
        == "checkpoint_signature"
    )
    assert altered(lambda r: r.update(statement=other_receipt["statement"])) == "wrong_subject"
    assert (
        altered(lambda r: r.update(statement=r["statement"][:-4] + "AAAA")) == "statement_signature"
    )
    assert altered(lambda r: r.update(version=2)) == "malformed"
    assert altered(lambda r: r.pop("statement")) == "malformed"
    assert verify_ban_receipt(receipt, number, [], jwks).reason == "checkpoint_signature"
    assert verify_ban_receipt(receipt, number, vkeys, {"keys": []}).reason == "statement_signature"
    assert verify_ban_receipt("not json", number, vkeys, jwks).reason == "malformed"

    # A statement the service signed over a verdict the entries do not give.
    header, payload, _ = receipt["statement"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["kind"] = "fixed_term"
    claims["until"] = "2099-01-01"
    key = ctx.keyring.current
    lying = copy.deepcopy(receipt)
    lying["statement"] = sign_jws(claims, key.private, key.kid, "ban-check+jwt")
    assert verify_ban_receipt(lying, number, vkeys, jwks).reason == "verdict_mismatch"
    assert header


def test_vkeys_with_plus_in_base64_parse_and_key_ids_are_checked() -> None:
    # Receipts and the monitor take vkeys from /ledger/vkey; base64 may contain '+'.
    vkey = "registry.example.cn/workforce/bans/v1+0a37078b+Ab5zzsuHA2xHnxIy5yICyuqy+MRBKbgC/cyPf6z8PpDs"
    assert Verifier.from_vkey(vkey).vkey == vkey
    for bad in (vkey.replace("0a37078b", "0a37078c"), vkey[:-2], "x+y", vkey + "+"):
        with pytest.raises(NoteError):
            Verifier.from_vkey(bad)


def test_the_verifier_is_pure() -> None:
    code = (
        "import sys, workforce.ledger.receipt\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('litestar', 'sqlalchemy', 'advanced_alchemy')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
