"""Helpers of the certificate tests: accredited bases, courses, recorded hours, issued certificates.

Training data goes through the training domain's real services (accreditation, courses,
completions), so prerequisites are checked against hours recorded the way production records them.
"""

from __future__ import annotations

import base64
import gzip
import uuid
from datetime import timedelta
from typing import Any

import jwt
from litestar.testing import AsyncTestClient

from tests.factories import Actor, Factory
from workforce.security.idnumber import today_in_china
from workforce.training.schemas import AccreditationCreate, CourseCreate, TrainingRecordCreate
from workforce.training.service import accredit, create_course, day_hours, log_completion

DAY_TENTHS = 120
"""The daily cap of recorded hours (12.0), so hours are spread over several days."""

_COURSES: set[tuple[uuid.UUID, str]] = set()
EVENTS: list[dict[str, Any]] = []
"""``certificate_status_changed`` events captured by :func:`capture` (see ``capture_events``)."""


async def capture(session: Any, ctx: Any, **kwargs: Any) -> None:
    """A hook subscriber that records the events it receives."""
    del session, ctx
    EVENTS.append(kwargs)


async def setup(
    factory: Factory,
    *,
    certificate_types: tuple[str, ...] = (
        "caregiver_post",
        "director_post",
        "baoyushi",
        "1x_infant_care",
    ),
    categories: tuple[str, ...] = ("caregiver_round", "director_round", "skills", "ethics"),
    accredit_base: bool = True,
) -> tuple[Actor, Actor]:
    """A Nanjing city regulator and a training base in Xuanwu it accredited (three years back)."""
    regulator = await factory.org("regulator", region="320100")
    base = await factory.org("training_base", region="320102")
    if accredit_base:
        today = today_in_china()
        cmd = AccreditationCreate(
            level="city",
            valid_from=today - timedelta(days=3 * 365),
            valid_until=today + timedelta(days=365),
            categories=list(categories),
            certificate_types=list(certificate_types),
        )
        await accredit(factory.session, factory.ctx, regulator.principal, base.org.id, cmd)
        await factory.session.commit()
    return regulator, base


async def record_hours(
    factory: Factory,
    base: Actor,
    practitioner_id: uuid.UUID,
    category: str,
    tenths: int,
    *,
    days_ago: int = 1,
) -> None:
    """Record ``tenths`` hours of ``category`` for a practitioner, at most 12 a day, going back."""
    code = f"C-{category}"[:40]
    if (base.org.id, code) not in _COURSES:
        await create_course(
            factory.session,
            factory.ctx,
            base.principal,
            CourseCreate(code=code, title=f"{category} 课程", category=category, hours="12"),
        )
        await factory.session.commit()
        _COURSES.add((base.org.id, code))
    today = today_in_china()
    remaining = tenths
    day = days_ago
    while remaining > 0:
        chunk = min(DAY_TENTHS, remaining)
        completed = today - timedelta(days=day)
        room = DAY_TENTHS - await day_hours(factory.session, practitioner_id, completed)
        if room <= 0:
            day += 1
            continue
        chunk = min(chunk, room)
        cmd = TrainingRecordCreate(
            practitioner_id=practitioner_id,
            course_code=code,
            hours=f"{chunk // 10}.{chunk % 10}",
            completed_on=completed,
            external_ref=f"r-{uuid.uuid4().hex}",
        )
        await log_completion(factory.session, factory.ctx, base.principal, cmd)
        await factory.session.commit()
        remaining -= chunk
        day += 1


async def issue(
    client: AsyncTestClient[Any],
    by: Actor,
    practitioner_id: uuid.UUID,
    cert_type: str = "caregiver_post",
    level: str | None = None,
    **extra: Any,
) -> Any:
    """POST /api/v1/certificates with a passed assessment; returns the response."""
    body: dict[str, Any] = {
        "practitioner_id": str(practitioner_id),
        "type": cert_type,
        "assessment_passed": True,
        "assessment_ref": "KH-2026-0001",
    }
    if level is not None:
        body["level"] = level
    body.update(extra)
    return await client.post("/api/v1/certificates", json=body, headers=by.headers)


async def certified(
    client: AsyncTestClient[Any], factory: Factory, *, cert_type: str = "caregiver_post"
) -> tuple[Actor, Actor, Any, dict[str, Any]]:
    """A regulator, a base, a practitioner with 120 caregiver-round hours, and its certificate."""
    regulator, base = await setup(factory)
    person, _ = await factory.practitioner(by=base)
    await record_hours(factory, base, person.id, "caregiver_round", 1200)
    response = await issue(client, base, person.id, cert_type)
    assert response.status_code == 201, response.text
    return regulator, base, person, response.json()


def claims(token: str) -> dict[str, Any]:
    """The unverified claims of a JWT (for reading status pointers in tests)."""
    return jwt.decode(token, options={"verify_signature": False})


def status_paths(token: str) -> dict[str, tuple[str, int]]:
    """``purpose -> (status list path, index)`` of a certificate token."""
    found: dict[str, tuple[str, int]] = {}
    for entry in claims(token)["credentialStatus"]:
        url = entry["statusListCredential"]
        found[entry["statusPurpose"]] = (
            "/api/v1/status-lists/" + url.rsplit("/", 1)[1],
            int(entry["statusListIndex"]),
        )
    return found


def bit(list_token: str, index: int) -> bool:
    """The bit at ``index`` of a status-list token, decoded by hand (not with our own code)."""
    encoded = claims(list_token)["credentialSubject"]["encodedList"]
    assert encoded[0] == "u"
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(raw) * 8 >= 131_072
    return bool(raw[index // 8] & (0x80 >> (index % 8)))
