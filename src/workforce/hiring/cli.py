"""``workforce recheck`` and ``workforce webhooks dispatch``.

Register with ``main.add_command(recheck)`` and ``main.add_command(webhooks)`` in
``workforce/cli.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import TYPE_CHECKING

import click

from workforce.settings import load_settings

if TYPE_CHECKING:
    import datetime as dt


@click.command("recheck")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Evaluate as of this day (default: today in China).",
)
@click.option(
    "--lapse-year",
    type=int,
    default=None,
    help="Check this year's yearly training rules even if done before (default: last year, once).",
)
def recheck(day: dt.datetime | None, lapse_year: int | None) -> None:
    """Expire certificates, re-check every current employment, raise alerts (idempotent)."""
    from sqlalchemy.ext.asyncio import async_sessionmaker  # noqa: PLC0415 - commands import lazily

    from workforce.context import AppContext  # noqa: PLC0415 - commands import lazily
    from workforce.db import make_engine  # noqa: PLC0415 - commands import lazily
    from workforce.hiring.recheck import recheck_all  # noqa: PLC0415 - commands import lazily
    from workforce.security.idnumber import today_in_china  # noqa: PLC0415 - commands import lazily

    settings = load_settings()
    today = day.date() if day else today_in_china()

    async def _main() -> dict[str, object]:
        engine = make_engine(settings.effective_database_url)
        try:
            factory = async_sessionmaker(engine, expire_on_commit=False)
            summary = await recheck_all(
                factory, AppContext.open(settings), today, lapse_year=lapse_year
            )
        finally:
            await engine.dispose()
        out = dataclasses.asdict(summary)
        out["day"] = summary.day.isoformat()
        return out

    click.echo(json.dumps(asyncio.run(_main()), ensure_ascii=False))


@click.group("webhooks")
def webhooks() -> None:
    """Webhook deliveries (the outbox)."""


@webhooks.command("dispatch")
@click.option("--loop", is_flag=True, help="Keep dispatching until interrupted.")
@click.option(
    "--interval",
    type=float,
    default=2.0,
    show_default=True,
    help="Seconds between passes (--loop).",
)
@click.option("--limit", type=int, default=100, show_default=True, help="Deliveries per pass.")
def dispatch(loop: bool, interval: float, limit: int) -> None:
    """Deliver what is due in the webhook outbox (once, or with --loop until interrupted)."""
    from sqlalchemy.ext.asyncio import async_sessionmaker  # noqa: PLC0415 - commands import lazily

    from workforce.context import AppContext  # noqa: PLC0415 - commands import lazily
    from workforce.db import make_engine  # noqa: PLC0415 - commands import lazily
    from workforce.hiring.webhooks import Dispatcher  # noqa: PLC0415 - commands import lazily

    settings = load_settings()

    async def _main() -> dict[str, int]:
        engine = make_engine(settings.effective_database_url)
        try:
            dispatcher = Dispatcher(
                async_sessionmaker(engine, expire_on_commit=False), AppContext.open(settings)
            )
            if loop:
                await dispatcher.run_forever(interval)
            total: dict[str, int] = {}
            while True:
                summary = dataclasses.asdict(await dispatcher.run_once(limit))
                for key, value in summary.items():
                    total[key] = total.get(key, 0) + value
                if summary["claimed"] < limit:
                    return total
        finally:
            await engine.dispose()

    try:
        click.echo(json.dumps(asyncio.run(_main())))
    except KeyboardInterrupt:  # pragma: no cover - --loop ends this way
        click.echo("stopped")
