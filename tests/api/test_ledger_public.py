"""Public ``/ledger`` endpoints: checkpoints, verifier keys, entries and proofs, for anyone."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Factory
from tests.ledger.test_store import seed
from workforce.context import AppContext
from workforce.ledger.checkpoint import Checkpoint, open_checkpoint
from workforce.ledger.entry import parse_entry
from workforce.ledger.merkle import mth, verify_consistency, verify_inclusion
from workforce.ledger.note import Verifier
from workforce.security import idnumber

pytestmark = pytest.mark.anyio

ORIGIN = "registry.example.cn/workforce/bans/v1"


async def _verifiers(client: Any) -> list[Any]:
    response = await client.get("/ledger/vkey")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.endswith("\n")
    return [Verifier.from_vkey(line) for line in response.text.splitlines()]


async def _checkpoint(client: Any, path: str = "/ledger/checkpoint") -> Checkpoint:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "max-age" in response.headers["cache-control"]
    return open_checkpoint(response.text, await _verifiers(client), ORIGIN)


def _problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"urn:workforce:{code}"
    assert body["reasons"]
    if code != "validation_failed":
        assert [r["code"] for r in body["reasons"]] == [code]
    assert {"title", "status", "detail"} <= set(body)


async def test_empty_ledger(client: Any) -> None:
    checkpoint = await _checkpoint(client)
    assert (checkpoint.size, checkpoint.root_hash) == (0, hashlib.sha256(b"").digest())
    assert (await _checkpoint(client, "/ledger/checkpoints/0")).size == 0
    _problem(await client.get("/ledger/entries", params={"start": 0}), 400, "index_out_of_range")
    _problem(
        await client.get("/ledger/proof/inclusion", params={"index": 0, "size": 0}),
        400,
        "index_out_of_range",
    )


async def test_checkpoints_entries_and_proofs(
    client: Any, session: AsyncSession, ctx: AppContext
) -> None:
    await seed(session, ctx, 9, batch=2)
    latest = await _checkpoint(client)
    assert latest.size == 9
    for size in (2, 4, 6, 8, 9):
        historic = await client.get(f"/ledger/checkpoints/{size}")
        assert "immutable" in historic.headers["cache-control"]
        assert (await _checkpoint(client, f"/ledger/checkpoints/{size}")).size == size
    _problem(await client.get("/ledger/checkpoints/3"), 404, "checkpoint_not_found")
    _problem(await client.get("/ledger/checkpoints/99"), 404, "checkpoint_not_found")

    page = await client.get("/ledger/entries", params={"start": 0, "end": 8})
    assert page.status_code == 200
    assert "immutable" in page.headers["cache-control"]
    body = page.json()
    assert (body["start"], body["end"], body["tree_size"]) == (0, 8, 9)
    leaves = []
    for expected_seq, row in enumerate(body["entries"]):
        leaf = base64.b64decode(row["leaf"])
        digest = hashlib.sha256(b"\x00" + leaf).digest()
        assert base64.b64decode(row["leaf_hash"]) == digest
        assert parse_entry(leaf).seq == row["seq"] == expected_seq
        leaves.append(digest)
    assert mth(leaves) == latest.root_hash
    partial = (await client.get("/ledger/entries", params={"start": 7, "end": 50})).json()
    assert [e["seq"] for e in partial["entries"]] == [7, 8] and partial["end"] == 8

    for size in range(1, 10):
        root = mth(leaves[:size])
        for index in range(size):
            response = await client.get(
                "/ledger/proof/inclusion", params={"index": index, "size": size}
            )
            assert response.status_code == 200
            proof = response.json()
            assert (proof["index"], proof["size"]) == (index, size)
            assert len(proof["hashes"]) <= 4
            verify_inclusion(
                leaves[index], index, size, [base64.b64decode(h) for h in proof["hashes"]], root
            )
        for first in range(1, size + 1):
            response = await client.get(
                "/ledger/proof/consistency", params={"from": first, "to": size}
            )
            assert response.status_code == 200
            proof = response.json()
            assert (proof["from"], proof["to"]) == (first, size)
            verify_consistency(
                first,
                size,
                mth(leaves[:first]),
                root,
                [base64.b64decode(h) for h in proof["hashes"]],
            )


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/ledger/proof/inclusion", {"index": 3, "size": 3}, "index_out_of_range"),
        ("/ledger/proof/inclusion", {"index": -1, "size": 3}, "index_out_of_range"),
        ("/ledger/proof/inclusion", {"index": 0, "size": 4}, "size_beyond_tree"),
        ("/ledger/proof/inclusion", {"index": 0, "size": 10**30}, "size_beyond_tree"),
        ("/ledger/proof/consistency", {"from": 0, "to": 2}, "invalid_range"),
        ("/ledger/proof/consistency", {"from": 3, "to": 2}, "invalid_range"),
        ("/ledger/proof/consistency", {"from": 1, "to": 4}, "size_beyond_tree"),
        ("/ledger/entries", {"start": -1}, "invalid_range"),
        ("/ledger/entries", {"start": 2, "end": 1}, "invalid_range"),
        ("/ledger/entries", {"start": 3}, "index_out_of_range"),
        ("/ledger/entries", {"start": 10**30}, "index_out_of_range"),
        ("/ledger/proof/inclusion", {"index": "x", "size": 3}, "validation_failed"),
        ("/ledger/proof/consistency", {"to": 3}, "validation_failed"),
    ],
)
async def test_bad_requests_get_their_code_and_change_nothing(
    client: Any,
    session: AsyncSession,
    ctx: AppContext,
    path: str,
    params: dict[str, Any],
    code: str,
) -> None:
    await seed(session, ctx, 3)
    before = (await client.get("/ledger/checkpoint")).text
    _problem(await client.get(path, params=params), 400, code)
    assert (await client.get("/ledger/checkpoint")).text == before


async def test_entry_pages_are_capped(client: Any, session: AsyncSession, ctx: AppContext) -> None:
    await seed(session, ctx, 1003, batch=1003)
    body = (await client.get("/ledger/entries", params={"start": 1, "end": 1002})).json()
    assert len(body["entries"]) == 1000
    assert (body["start"], body["end"]) == (1, 1000)
    assert len((await client.get("/ledger/entries")).json()["entries"]) == 1000
    proof = (await client.get("/ledger/proof/inclusion", params={"index": 5, "size": 1003})).json()
    assert len(proof["hashes"]) <= 10


async def test_public_endpoints_need_no_token_and_reveal_no_identity(
    client: Any, factory: Factory
) -> None:
    regulator = await factory.org("regulator", region="320000")
    base = await factory.org("training_base", region="320102")
    person, number = await factory.practitioner(by=base, name="张晓梅")
    manager = factory.id_number("320102")
    recorded = await client.post(
        "/api/v1/bans",
        json={
            "id_number": number,
            "kind": "lifetime",
            "reason_code": "sexual_offense",
            "decision_ref": "宁卫罚〔2026〕99号",
            "related_case": "(2026)苏0102刑初999号",
            "managers": [{"id_number": manager}],
        },
        headers=regulator.headers,
    )
    assert recorded.status_code == 201
    bogus = {"Authorization": "Bearer not-a-token"}
    texts = []
    for path, params in [
        ("/ledger/checkpoint", {}),
        ("/ledger/checkpoints/2", {}),
        ("/ledger/vkey", {}),
        ("/ledger/entries", {"start": 0}),
        ("/ledger/proof/inclusion", {"index": 0, "size": 2}),
        ("/ledger/proof/consistency", {"from": 1, "to": 2}),
    ]:
        for headers in ({}, bogus):
            response = await client.get(path, params=params, headers=headers)
            assert response.status_code == 200, (path, response.text)
            assert "max-age" in response.headers["cache-control"]
            texts.append(response.text)
            for row in response.json().get("entries", []) if path == "/ledger/entries" else []:
                texts.append(base64.b64decode(row["leaf"]).decode())
    public = "\n".join(texts)
    for secret in (
        number,
        manager,
        idnumber.mask(number),
        number[:6] + number[6:14],
        "张晓梅",
        str(person.id),
        "宁卫罚〔2026〕99号",
        "(2026)苏0102刑初999号",
    ):
        assert secret not in public
