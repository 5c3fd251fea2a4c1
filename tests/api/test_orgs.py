"""Organisations: creation, validation, visibility."""

from __future__ import annotations

import pytest

from tests.factories import Factory
from workforce import synth

pytestmark = pytest.mark.anyio


async def test_admin_creates_institution_with_client(client, factory: Factory, rng) -> None:
    admin = await factory.org("admin", region=None)
    uscc = synth.random_uscc(rng, "320104")
    response = await client.post(
        "/api/v1/orgs",
        json={
            "kind": "institution",
            "name": "秦淮区阳光托育园",
            "region_code": "320104",
            "uscc": uscc,
            "ownership": "nonprofit",
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "institution" and body["level"] == "county" and body["uscc"] == uscc
    assert (
        body["client"]["client_id"].startswith("wf_") and len(body["client"]["client_secret"]) >= 32
    )
    token = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            **{k: body["client"][k] for k in ("client_id", "client_secret")},
        },
    )
    assert token.status_code == 200


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        ({"uscc": "91350100M000100Y44"}, "invalid_uscc"),
        ({"uscc": "ABC"}, "invalid_uscc"),
        ({"region_code": "990000"}, "invalid_region"),
        ({"uscc": None}, "uscc_required"),
    ],
)
async def test_invalid_org_input(client, factory: Factory, rng, patch, code) -> None:
    admin = await factory.org("admin", region=None)
    body = {
        "kind": "institution",
        "name": "测试托育园",
        "region_code": "320104",
        "uscc": synth.random_uscc(rng, "320104"),
    }
    body.update(patch)
    body = {k: v for k, v in body.items() if v is not None}
    response = await client.post("/api/v1/orgs", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert code in [r["code"] for r in response.json()["reasons"]]


async def test_duplicate_uscc_conflicts(client, factory: Factory, rng) -> None:
    admin = await factory.org("admin", region=None)
    body = {
        "kind": "institution",
        "name": "测试托育园",
        "region_code": "320104",
        "uscc": synth.random_uscc(rng, "320104"),
    }
    assert (await client.post("/api/v1/orgs", json=body, headers=admin.headers)).status_code == 201
    again = await client.post("/api/v1/orgs", json=body, headers=admin.headers)
    assert again.status_code == 409
    assert again.json()["type"] == "urn:workforce:uscc_taken"


async def test_regulator_creates_within_jurisdiction_only(client, factory: Factory, rng) -> None:
    city = await factory.org("regulator", region="320100")
    inside = {
        "kind": "training_base",
        "name": "南京实训基地",
        "region_code": "320115",
        "uscc": synth.random_uscc(rng, "320115"),
    }
    outside = {
        "kind": "training_base",
        "name": "苏州实训基地",
        "region_code": "320505",
        "uscc": synth.random_uscc(rng, "320505"),
    }
    assert (await client.post("/api/v1/orgs", json=inside, headers=city.headers)).status_code == 201
    refused = await client.post("/api/v1/orgs", json=outside, headers=city.headers)
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:workforce:out_of_jurisdiction"
    admin_kind = await client.post(
        "/api/v1/orgs", json={"kind": "admin", "name": "运维"}, headers=city.headers
    )
    assert admin_kind.status_code == 403


async def test_org_visibility(client, factory: Factory) -> None:
    province = await factory.org("regulator", region="320000")
    nanjing = await factory.org("regulator", region="320100")
    suzhou_inst = await factory.org("institution", region="320505")
    nanjing_inst = await factory.org("institution", region="320104")
    url = f"/api/v1/orgs/{suzhou_inst.org.id}"
    assert (await client.get(url, headers=province.headers)).status_code == 200
    assert (await client.get(url, headers=nanjing.headers)).status_code == 404
    assert (await client.get(url, headers=nanjing_inst.headers)).status_code == 404
    assert (await client.get(url, headers=suzhou_inst.headers)).status_code == 200
    listed = await client.get("/api/v1/orgs?kind=institution", headers=nanjing.headers)
    ids = {o["org_id"] for o in listed.json()["items"]}
    assert str(nanjing_inst.org.id) in ids and str(suzhou_inst.org.id) not in ids


async def test_training_base_cannot_create_orgs(client, factory: Factory) -> None:
    base = await factory.org("training_base")
    response = await client.post(
        "/api/v1/orgs", json={"kind": "admin", "name": "运维"}, headers=base.headers
    )
    assert response.status_code == 403
    assert response.json()["type"] == "urn:workforce:role_not_allowed"
