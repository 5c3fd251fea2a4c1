"""Property-based run over the whole OpenAPI document with a valid token for each role.

Schemathesis generates requests from the documented schema (valid and invalid); the service must
never answer 5xx and every documented response must match its schema.
"""

from __future__ import annotations

import asyncio
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.ext.asyncio import async_sessionmaker

from tests.factories import Factory
from workforce.context import AppContext
from workforce.db import make_engine

MAX_EXAMPLES = int(os.environ.get("WORKFORCE_SCHEMATHESIS_EXAMPLES", "10"))


@pytest.fixture
def role_headers(database_url: str, ctx: AppContext, rng) -> dict[str, dict[str, str]]:
    """A real token for each role, on the test database."""

    async def build() -> dict[str, dict[str, str]]:
        engine = make_engine(database_url)
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            factory = Factory(session, ctx, rng)
            actors = {
                "admin": await factory.org("admin", region=None),
                "regulator": await factory.org("regulator", region="320000"),
                "training_base": await factory.org("training_base"),
                "institution": await factory.org("institution"),
            }
            await factory.practitioner(by=actors["training_base"])
        await engine.dispose()
        return {role: actor.headers for role, actor in actors.items()}

    return asyncio.run(build())


@pytest.fixture
def api_schema(app: Litestar):
    return schemathesis.openapi.from_asgi("/schema/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms(case, role_headers) -> None:
    for headers in (*role_headers.values(), {}):
        case.call_and_validate(
            headers=headers, checks=[not_a_server_error, response_schema_conformance]
        )
