"""The ``workforce`` command line: serve, migrate, organisations, keys, ledger, certificates."""

from __future__ import annotations

import json
import sys

import click

from workforce.runner import ensure_embedded_database, run_in_session
from workforce.settings import load_settings


@click.group()
def main() -> None:
    """托育从业人员培训、认证与信用登记系统 — the childcare workforce registry."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--access-log/--no-access-log", default=True, show_default=True)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def serve(host: str, port: int, workers: int, access_log: bool, log_level: str) -> None:
    """Serve the API (migrating the embedded database first).

    With --workers N > 1 each worker accepts on its own SO_REUSEPORT socket, so the kernel
    spreads connections over all of them (see workforce.serving).
    """
    from workforce.serving import serve as run_server

    settings = load_settings()
    ensure_embedded_database(settings)
    try:
        run_server(host, port, workers, access_log=access_log, log_level=log_level)
    except OSError as exc:
        msg = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        raise click.ClickException(msg) from None


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations to WORKFORCE_DATABASE_URL (default: the embedded SQLite file)."""
    from workforce.migrate import upgrade

    settings = load_settings()
    if settings.is_embedded_database:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url, revision)
    click.echo(f"database at {revision}")


@main.group()
def orgs() -> None:
    """Organisations and their API clients."""


@orgs.command("create")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(["regulator", "training_base", "institution", "admin"]),
)
@click.option("--name", required=True)
@click.option("--region", "region_code", default=None, help="GB/T 2260 region code (6 digits).")
@click.option("--uscc", default=None, help="Unified social credit code (GB 32100).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def orgs_create(
    kind: str, name: str, region_code: str | None, uscc: str | None, as_json: bool
) -> None:
    """Create an organisation and one API client; prints org_id, client_id and client_secret."""
    import msgspec

    from workforce.errors import DomainError
    from workforce.orgs.schemas import OrgCreate
    from workforce.orgs.service import create_org

    settings = load_settings()
    ensure_embedded_database(settings)
    try:
        cmd = msgspec.convert(
            {"kind": kind, "name": name, "region_code": region_code, "uscc": uscc}, OrgCreate
        )
        org, creds = run_in_session(settings, lambda s, c: create_org(s, c, None, cmd))
    except (DomainError, msgspec.ValidationError) as exc:
        if isinstance(exc, DomainError):
            details = dict.fromkeys([exc.detail, *(r.detail for r in exc.reasons)])
            raise click.ClickException(": ".join(details)) from None
        raise click.ClickException(str(exc)) from None
    out = {
        "org_id": str(org.id),
        "kind": org.kind,
        "name": org.name,
        "region_code": org.region_code,
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
    }
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        for key, value in out.items():
            click.echo(f"{key}: {value}")


@main.group()
def keys() -> None:
    """Signing keys."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Create a new signing key; old keys stay published for verification."""
    from workforce.security.keys import Keyring

    settings = load_settings()
    ring = Keyring.open(settings.effective_keys_dir)
    key = ring.rotate()
    click.echo(f"new signing key {key.kid}; {len(ring.keys)} keys published")


def _attach_domain_commands() -> None:
    from workforce.certificates.cli import cert
    from workforce.demo import demo
    from workforce.hiring.cli import recheck, webhooks
    from workforce.ledger.cli import ledger
    from workforce.training.cli import import_roster

    for command in (demo, ledger, cert, import_roster, recheck, webhooks):
        main.add_command(command)


_attach_domain_commands()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
