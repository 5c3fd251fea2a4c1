"""Helpers shared by the training API tests (accredited bases, courses, uploads)."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date
from typing import Any

from tests.factories import Actor, Factory

CATEGORIES = ["skills", "ethics", "caregiver_round", "director_round"]
HEADER = ["id_number", "name", "course_code", "hours", "completed_on", "external_ref"]
CHINESE_HEADER = ["身份证号", "姓名", "课程代码", "学时", "完成日期", "外部编号"]


async def accredited_base(
    client: Any,
    factory: Factory,
    region: str = "320102",
    *,
    categories: list[str] | None = None,
    valid_from: date = date(2020, 1, 1),
    valid_until: date = date(2030, 12, 31),
    regulator: Actor | None = None,
) -> tuple[Actor, Actor]:
    """A training base accredited (through the API) by a city regulator; returns (base, regulator)."""
    regulator = regulator or await factory.org("regulator", region=region[:4] + "00")
    base = await factory.org("training_base", region=region)
    response = await client.post(
        f"/api/v1/training-bases/{base.org.id}/accreditation",
        json={
            "level": "city",
            "valid_from": valid_from.isoformat(),
            "valid_until": valid_until.isoformat(),
            "categories": categories or CATEGORIES,
            "certificate_types": ["caregiver_post"],
        },
        headers=regulator.headers,
    )
    assert response.status_code == 201, response.text
    return base, regulator


async def add_course(
    client: Any,
    actor: Actor,
    code: str,
    category: str = "skills",
    hours: float | str = 12,
    mode: str = "in_person",
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/courses",
        json={
            "code": code,
            "title": f"课程{code}",
            "category": category,
            "hours": hours,
            "delivery_mode": mode,
        },
        headers=actor.headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def log(
    client: Any,
    base: Actor,
    practitioner_id: Any,
    course_code: str,
    hours: float | str,
    completed_on: date,
    ref: str,
) -> Any:
    return await client.post(
        "/api/v1/training-records",
        json={
            "practitioner_id": str(practitioner_id),
            "course_code": course_code,
            "hours": hours,
            "completed_on": completed_on.isoformat(),
            "external_ref": ref,
        },
        headers=base.headers,
    )


def csv_bytes(
    rows: list[list[Any]], header: list[str] | None = None, encoding: str = "utf-8"
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


async def upload(client: Any, base: Actor, content: bytes, filename: str = "roster.csv") -> Any:
    return await client.post(
        "/api/v1/training-records/imports",
        files={"file": (filename, content, "application/octet-stream")},
        headers=base.headers,
    )


async def wait_import(
    client: Any, base: Actor, import_id: str, limit_s: float = 60
) -> dict[str, Any]:
    """Poll an import until it is no longer running."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while True:
        response = await client.get(
            f"/api/v1/training-records/imports/{import_id}", headers=base.headers
        )
        assert response.status_code == 200, response.text
        body = dict(response.json())
        if body["status"] != "running":
            return body
        assert loop.time() < deadline, f"import still running after {limit_s}s"
        await asyncio.sleep(0.05)


async def import_rows(
    client: Any, base: Actor, content: bytes, filename: str = "roster.csv"
) -> dict[str, Any]:
    response = await upload(client, base, content, filename)
    assert response.status_code == 202, response.text
    return await wait_import(client, base, response.json()["id"])
