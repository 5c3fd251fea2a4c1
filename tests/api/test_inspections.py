"""Random inspections (双随机、一公开): inspectors, published draws anyone can re-run, results."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Actor, Factory
from workforce.credit import draw
from workforce.credit.models import InspectionDraw, InspectionResult
from workforce.ledger.checkpoint import open_checkpoint
from workforce.ledger.note import Verifier
from workforce.security import idnumber

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]

DRAWS = "/api/v1/inspections/draws"
TODAY = idnumber.today_in_china()


def assert_problem(response: Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"urn:workforce:{code}"
    assert code in [r["code"] for r in body["reasons"]]


@pytest.fixture
async def world(factory: Factory) -> dict[str, Any]:
    nanjing = await factory.org("regulator", region="320100")
    suzhou = await factory.org("regulator", region="320500", name="苏州市卫生健康委员会")
    xuanwu = [
        await factory.org("institution", region="320102", name=f"南京市玄武区第{i}托育园")
        for i in range(5)
    ]
    qinhuai = [
        await factory.org(
            "institution", region="320104", name=f"南京市秦淮区第{i}托育园", ownership="nonprofit"
        )
        for i in range(3)
    ]
    elsewhere = await factory.org("institution", region="320505", name="苏州市虎丘区托育园")
    return {
        "nanjing": nanjing,
        "suzhou": suzhou,
        "xuanwu": xuanwu,
        "qinhuai": qinhuai,
        "elsewhere": elsewhere,
    }


async def _inspectors(client: Client, regulator: Actor, n: int = 4) -> list[str]:
    codes = []
    for i in range(n):
        code = f"NJ-{i:04d}"
        response = await client.post(
            "/api/v1/inspections/inspectors",
            json={"code": code, "name": f"执法人员{i}"},
            headers=regulator.headers,
        )
        assert response.status_code == 201, response.text
        codes.append(code)
    return codes


def parse_vkey(vkey: str) -> Verifier:
    """A C2SP vkey ``<name>+<hex key id>+<base64(0x01 || key)>`` (the base64 may hold '+')."""
    name, key_id, encoded = vkey.split("+", 2)
    raw = base64.b64decode(encoded)
    assert raw[0] == 1 and len(raw) == 33
    verifier = Verifier.from_public_key(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
    assert verifier.key_id == int(key_id, 16)
    return verifier


async def rerun(client: Client, published: dict[str, Any]) -> list[dict[str, Any]]:
    """What an outside verifier does, from public endpoints only: check the checkpoint's
    signature against the published verifier keys, derive the seed, run the algorithm."""
    verifiers = [parse_vkey(line) for line in (await client.get("/ledger/vkey")).text.split()]
    checkpoint = open_checkpoint(published["checkpoint"]["text"], verifiers)
    assert checkpoint.size == published["checkpoint"]["size"]
    assert base64.b64encode(checkpoint.root_hash).decode() == published["checkpoint"]["root_hash"]
    seed = draw.derive_seed(
        checkpoint.root_hash,
        checkpoint.size,
        published["period"],
        uuid.UUID(published["regulator_id"]),
    )
    assert seed.hex() == published["seed"]
    assert published["algorithm"] == draw.ALGORITHM
    result = draw.run_draw(
        seed,
        published["candidates"],
        published["sample_size"],
        published["inspector_candidates"],
        published["inspectors_per_institution"],
    )
    return [
        {"institution_id": s.institution_id, "inspectors": s.inspectors} for s in result.selected
    ]


def selection(published: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"institution_id": s["institution_id"], "inspectors": s["inspectors"]}
        for s in published["selected"]
    ]


async def test_draw_is_published_and_rerunnable(
    client: Client, world: dict[str, Any], session: AsyncSession
) -> None:
    nanjing = world["nanjing"]
    codes = await _inspectors(client, nanjing)
    response = await client.post(
        DRAWS, json={"period": "2026-Q3", "sample_size": 3}, headers=nanjing.headers
    )
    assert response.status_code == 201, response.text
    created = response.json()
    draw_id = created["draw_id"]

    public = await client.get(f"{DRAWS}/{draw_id}")  # no token: 一公开
    assert public.status_code == 200
    published = public.json()
    assert published == created
    nanjing_ids = sorted(str(o.org.id) for o in world["xuanwu"] + world["qinhuai"])
    assert published["candidates"] == nanjing_ids
    assert str(world["elsewhere"].org.id) not in published["candidates"]
    assert published["inspector_candidates"] == codes
    assert published["sample_size"] == 3
    assert published["inspectors_per_institution"] == 2
    assert published["filters"] == {
        "region_code": "320100",
        "ownership": None,
        "filing_status": None,
    }
    assert (
        published["checkpoint"]["size"] == 0
    )  # the empty ledger: its signed empty-tree checkpoint
    assert base64.b64decode(published["checkpoint"]["root_hash"]) == hashlib.sha256(b"").digest()
    selected = selection(published)
    assert await rerun(client, published) == selected
    assert len({s["institution_id"] for s in selected}) == 3
    assert all(len(set(s["inspectors"])) == 2 for s in selected)
    names = {str(o.org.id): o.org.name for o in world["xuanwu"] + world["qinhuai"]}
    assert all(s["institution_name"] == names[s["institution_id"]] for s in published["selected"])
    assert "执法人员" not in public.text  # inspectors are published by code only

    again = await client.post(
        DRAWS, json={"period": "2026-Q3", "sample_size": 3}, headers=nanjing.headers
    )
    assert_problem(again, 409, "draw_exists")
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(InspectionDraw)) == 1
    with pytest.raises(DBAPIError, match="append-only"):
        await session.execute(update(InspectionDraw).values(sample_size=1))
    await session.rollback()


async def test_filters_and_explicit_inspectors(client: Client, world: dict[str, Any]) -> None:
    nanjing = world["nanjing"]
    response = await client.post(
        DRAWS,
        json={
            "period": "2026-07",
            "sample_size": 10,
            "inspectors_per_institution": 3,
            "region_code": "320104",
            "ownership": "nonprofit",
            "inspectors": ["Z-9", "A-1", "M-5"],
        },
        headers=nanjing.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["candidates"] == sorted(str(o.org.id) for o in world["qinhuai"])
    assert body["sample_size"] == 3  # fewer candidates than asked for: everyone is drawn
    assert body["inspector_candidates"] == ["A-1", "M-5", "Z-9"]
    assert await rerun(client, body) == selection(body)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"region_code": "320505"}, 403, "out_of_jurisdiction"),
        ({"ownership": "for_profit", "region_code": "320104"}, 422, "no_candidates"),
        ({"inspectors": ["A-1"]}, 422, "not_enough_inspectors"),
        ({"inspectors": ["A-1", "A-1"]}, 422, "duplicate_inspectors"),
        ({"inspectors": []}, 422, "not_enough_inspectors"),
    ],
)
async def test_draw_refusals(
    client: Client,
    world: dict[str, Any],
    session: AsyncSession,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = await client.post(
        DRAWS, json={"period": "2026", "sample_size": 2, **body}, headers=world["nanjing"].headers
    )
    assert_problem(response, status, code)
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(InspectionDraw)) == 0


async def test_draw_guards(client: Client, world: dict[str, Any]) -> None:
    body = {"period": "2026", "sample_size": 2, "inspectors": ["A-1", "B-2"]}
    inst = world["xuanwu"][0]
    assert_problem(
        await client.post(DRAWS, json=body, headers=inst.headers), 403, "role_not_allowed"
    )
    assert (await client.post(DRAWS, json=body)).status_code == 401
    bad_period = await client.post(
        DRAWS, json={**body, "period": "Q3"}, headers=world["nanjing"].headers
    )
    assert bad_period.status_code == 400
    assert_problem(await client.get(f"{DRAWS}/{uuid.uuid4()}"), 404, "draw_not_found")
    assert (await client.get(DRAWS)).status_code == 401
    assert (
        await client.get("/api/v1/inspections/inspectors", headers=inst.headers)
    ).status_code == 403


async def test_results_become_credit_events(
    client: Client, world: dict[str, Any], session: AsyncSession
) -> None:
    nanjing = world["nanjing"]
    created = (
        await client.post(
            DRAWS,
            json={"period": "2026-H2", "sample_size": 2, "inspectors": ["A-1", "B-2"]},
            headers=nanjing.headers,
        )
    ).json()
    draw_id = created["draw_id"]
    first, second = (s["institution_id"] for s in created["selected"])
    url = f"{DRAWS}/{draw_id}/results"
    passed = await client.post(
        url,
        json={"institution_id": first, "result": "passed", "inspected_on": TODAY.isoformat()},
        headers=nanjing.headers,
    )
    assert passed.status_code == 201, passed.text
    event = passed.json()["event"]
    assert (event["type"], event["institution_id"], event["polarity"]) == (
        "passed_inspection",
        first,
        "positive",
    )
    failed = await client.post(
        url,
        json={
            "institution_id": second,
            "result": "failed",
            "inspected_on": TODAY.isoformat(),
            "severity": "grave",
        },
        headers=nanjing.headers,
    )
    assert failed.json()["event"]["type"] == "failed_inspection"

    again = await client.post(
        url,
        json={"institution_id": first, "result": "failed", "inspected_on": TODAY.isoformat()},
        headers=nanjing.headers,
    )
    assert_problem(again, 409, "result_already_recorded")
    not_drawn = next(
        str(o.org.id)
        for o in world["xuanwu"] + world["qinhuai"]
        if str(o.org.id) not in {first, second}
    )
    assert_problem(
        await client.post(
            url,
            json={
                "institution_id": not_drawn,
                "result": "passed",
                "inspected_on": TODAY.isoformat(),
            },
            headers=nanjing.headers,
        ),
        422,
        "not_drawn",
    )
    assert_problem(
        await client.post(
            url,
            json={
                "institution_id": first,
                "result": "passed",
                "inspected_on": (TODAY - timedelta(days=1)).isoformat(),
            },
            headers=nanjing.headers,
        ),
        422,
        "inspected_before_draw",
    )
    assert_problem(
        await client.post(
            url,
            json={
                "institution_id": first,
                "result": "passed",
                "inspected_on": (TODAY + timedelta(days=1)).isoformat(),
            },
            headers=nanjing.headers,
        ),
        422,
        "future_date",
    )
    assert_problem(
        await client.post(
            url,
            json={"institution_id": first, "result": "passed", "inspected_on": TODAY.isoformat()},
            headers=world["suzhou"].headers,
        ),
        403,
        "out_of_jurisdiction",
    )

    published = (await client.get(f"{DRAWS}/{draw_id}")).json()
    results = {s["institution_id"]: (s["result"], s["inspected_on"]) for s in published["selected"]}
    assert results == {first: ("passed", TODAY.isoformat()), second: ("failed", TODAY.isoformat())}

    summary = (await client.get(f"/api/v1/credit/institutions/{second}")).json()
    assert summary["inspections"] == [
        {
            "inspected_on": TODAY.isoformat(),
            "result": "failed",
            "status": "recorded",
            "draw_id": draw_id,
        }
    ]
    assert (summary["score"], summary["grade"]) == (75, "C")
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(InspectionResult)) == 2


async def test_inspector_list(client: Client, world: dict[str, Any]) -> None:
    nanjing, suzhou = world["nanjing"], world["suzhou"]
    await _inspectors(client, nanjing, 3)
    duplicate = await client.post(
        "/api/v1/inspections/inspectors",
        json={"code": "NJ-0000", "name": "重复"},
        headers=nanjing.headers,
    )
    assert_problem(duplicate, 409, "inspector_exists")
    listed = (await client.get("/api/v1/inspections/inspectors", headers=nanjing.headers)).json()
    assert [i["code"] for i in listed["items"]] == ["NJ-0000", "NJ-0001", "NJ-0002"]
    assert (await client.get("/api/v1/inspections/inspectors", headers=suzhou.headers)).json()[
        "items"
    ] == []
    retired_id = listed["items"][0]["inspector_id"]
    retire_url = f"/api/v1/inspections/inspectors/{retired_id}/retirement"
    assert_problem(
        await client.post(retire_url, headers=suzhou.headers), 404, "inspector_not_found"
    )
    retired = await client.post(retire_url, headers=nanjing.headers)
    assert retired.status_code == 200 and retired.json()["retired_at"]
    body = (
        await client.post(DRAWS, json={"period": "2027", "sample_size": 1}, headers=nanjing.headers)
    ).json()
    assert body["inspector_candidates"] == ["NJ-0001", "NJ-0002"]
    own = (await client.get(DRAWS, headers=nanjing.headers)).json()
    assert [d["draw_id"] for d in own["items"]] == [body["draw_id"]]
    assert (await client.get(DRAWS, headers=suzhou.headers)).json()["items"] == []


async def test_seed_follows_the_ledger(
    client: Client, world: dict[str, Any], factory: Factory
) -> None:
    nanjing = world["nanjing"]
    ban = await client.post(
        "/api/v1/bans",
        json={
            "id_number": factory.id_number("320102"),
            "kind": "lifetime",
            "reason_code": "child_abuse",
            "decision_ref": "宁卫禁字〔2026〕7号",
            "related_case": "（2026）苏0102刑初7号",
        },
        headers=nanjing.headers,
    )
    assert ban.status_code == 201, ban.text
    body = (
        await client.post(
            DRAWS,
            json={"period": "2026-Q4", "sample_size": 2, "inspectors": ["A-1", "B-2", "C-3"]},
            headers=nanjing.headers,
        )
    ).json()
    assert body["checkpoint"]["size"] == 1
    assert body["checkpoint"]["text"] == (await client.get("/ledger/checkpoint")).text
    assert await rerun(client, body) == selection(body)
