"""The bulk registration path used by rosters, migrations and benchmarks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import Factory
from workforce.errors import Invalid
from workforce.practitioners.models import Practitioner, PractitionerLink
from workforce.practitioners.service import find_by_id_number, register_many

pytestmark = pytest.mark.anyio


async def test_register_many_skips_existing_and_links(factory: Factory, session, ctx) -> None:
    base = await factory.org("training_base")
    existing, number = await factory.practitioner(by=base)
    people = [(factory.id_number(), f"学员{i}", ["caregiver"]) for i in range(50)]
    created = await register_many(
        session, ctx, base.principal, [*people, (number, existing.name, [])]
    )
    await session.commit()
    assert created == 50
    assert await session.scalar(select(func.count()).select_from(Practitioner)) == 51
    links = await session.scalar(
        select(func.count())
        .select_from(PractitionerLink)
        .where(PractitionerLink.org_id == base.org.id)
    )
    assert links == 51
    found = await find_by_id_number(session, ctx, people[7][0])
    assert found is not None and found.name == "学员7"
    again = await register_many(session, ctx, base.principal, people)
    assert again == 0


async def test_register_many_refuses_invalid_before_writing(factory: Factory, session, ctx) -> None:
    base = await factory.org("training_base")
    good = factory.id_number()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(Invalid):
        await register_many(session, ctx, base.principal, [(good, "甲", []), (bad, "乙", [])])
    await session.rollback()
    assert await find_by_id_number(session, ctx, good) is None
