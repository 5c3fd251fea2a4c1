"""Public catalog routes: certificate types and positions in force."""

from __future__ import annotations

import pytest

from tests.factories import Factory

pytestmark = pytest.mark.anyio


async def test_certificate_types_are_public_versioned_data(client) -> None:
    response = await client.get("/api/v1/certificate-types")
    assert response.status_code == 200, response.text
    assert "max-age" in response.headers["cache-control"]
    body = response.json()
    assert body["version"] and body["effective_from"]
    types = {t["code"]: t for t in body["items"]}
    assert {"baoyushi", "yuyingyuan", "director_post", "caregiver_post", "1x_infant_care"} <= set(
        types
    )
    baoyushi = types["baoyushi"]
    assert baoyushi["name"] == "保育师"
    assert [lv["code"] for lv in baoyushi["levels"]] == ["5", "4", "3", "2", "1"]
    assert set(baoyushi["issuers"]) == {"training_base", "regulator"}
    level5 = baoyushi["levels"][0]
    assert level5["prerequisites"] == [
        {
            "kind": "hours",
            "code": "skills_hours_short",
            "categories": ["skills"],
            "min_hours": 120.0,
            "within_months": 24,
        }
    ]
    level4 = baoyushi["levels"][1]["prerequisites"][0]
    assert level4["kind"] == "holds" and level4["type"] == "baoyushi" and level4["level"] == "5"
    assert baoyushi["prerequisites"] == [{"kind": "assessment", "code": "assessment_not_passed"}]
    caregiver_post = types["caregiver_post"]
    assert caregiver_post["validity_months"] == 36 and caregiver_post["levels"] == []
    assert {
        "kind": "hours",
        "code": "caregiver_round_hours_short",
        "rule_family": "caregiver_round",
    } in caregiver_post["prerequisites"]
    assert types["1x_infant_care"]["issuers"] == ["training_base"]


async def test_positions_are_public_versioned_data(client) -> None:
    response = await client.get("/api/v1/positions")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["universal_requirements"] == ["not_banned", "no_credit_joint_punishment"]
    positions = {p["code"]: p for p in body["items"]}
    assert positions["director"]["name"] == "负责人"
    assert positions["director"]["required_certificates"] == [
        {"type": "director_post", "min_level": None, "accepted_levels": []}
    ]
    caregiver_types = {r["type"] for r in positions["caregiver"]["required_certificates"]}
    assert caregiver_types == {"baoyushi", "yuyingyuan", "caregiver_post"}
    assert positions["cook"]["required_certificates"] == [] and positions["cook"]["note"]


async def test_catalog_ignores_tokens_and_has_openapi_entries(client, factory: Factory) -> None:
    inst = await factory.org("institution")
    assert (await client.get("/api/v1/positions", headers=inst.headers)).status_code == 200
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/certificate-types" in schema["paths"] and "/api/v1/positions" in schema["paths"]
    assert not schema["paths"]["/api/v1/positions"]["get"].get("security")
