"""``workforce import FILE``: a roster import from the shell, with a progress bar.

Registered by the lead in ``workforce.cli`` (``main.add_command(import_roster)``). It runs the
very worker the HTTP upload runs (same checks, one transaction, same status record), so the
import can be followed with ``GET /api/v1/training-records/imports/{id}`` as well.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import click

_BAR = 1_000


async def _resolve_base(session: Any, client_id: str | None, org_id: str | None) -> Any:
    from sqlalchemy import select  # noqa: PLC0415 - keep ``workforce --help`` fast

    from workforce.orgs.models import ApiClient, Org  # noqa: PLC0415

    if client_id:
        stmt = select(Org).join(ApiClient, ApiClient.org_id == Org.id)
        org = await session.scalar(stmt.where(ApiClient.client_id == client_id))
    else:
        try:
            org = await session.get(Org, uuid.UUID(str(org_id)))
        except ValueError:
            org = None
    if org is None or org.kind != "training_base":
        raise click.ClickException("no training base with this client id / org id")
    return org


def _spool(file: Path, settings: Any, import_id: uuid.UUID) -> Any:
    """Copy the file into the import spool, mode 0600 (the worker deletes it when done)."""
    from workforce.training import imports  # noqa: PLC0415

    path = imports.upload_path(settings, import_id)
    writer = imports.SpoolWriter(path, settings.max_upload_bytes)
    try:
        with file.open("rb") as source:
            while block := source.read(1 << 20):
                writer.write(block)
    except BaseException:
        writer.discard()
        raise
    digest = writer.close()
    return imports.Spooled(path=path, size=writer.size, sha256=digest, filename=file.name)


async def _start(session: Any, ctx: Any, file: Path, actor: Any) -> tuple[uuid.UUID, Any]:
    """Check the base and the file, and record a ``running`` import (committed)."""
    from workforce.db import new_id  # noqa: PLC0415
    from workforce.training import imports  # noqa: PLC0415

    await imports.require_accredited(session, actor)
    await imports.reap_stale(session, ctx.settings)
    import_id = new_id()
    spooled = _spool(file, ctx.settings, import_id)
    try:
        imports.inspect_file(spooled)
        await imports.start_import(session, ctx, actor, import_id, spooled)
        await session.commit()
    except BaseException:
        imports.remove_files(ctx.settings, import_id)
        raise
    return import_id, spooled


async def _outcome(session: Any, ctx: Any, actor: Any, import_id: uuid.UUID) -> dict[str, Any]:
    from workforce.training import imports  # noqa: PLC0415

    row, errors, truncated = await imports.get_import(session, ctx, actor, import_id)
    failure = None
    if row.failure_code is not None:
        failure = {"code": row.failure_code, "detail": row.failure_detail}
    return {
        "id": str(row.id),
        "status": row.status,
        "total_rows": row.total_rows,
        "accepted": row.accepted,
        "rejected": row.rejected,
        "already_recorded": row.already_recorded,
        "registered": row.registered,
        "failure": failure,
        "errors": [{"line": e.line, "code": e.code, "detail": e.detail} for e in errors],
        "errors_truncated": truncated,
    }


async def _run(file: Path, client_id: str | None, org_id: str | None) -> dict[str, Any]:
    from sqlalchemy.ext.asyncio import async_sessionmaker  # noqa: PLC0415

    from workforce.context import AppContext  # noqa: PLC0415
    from workforce.db import make_engine  # noqa: PLC0415
    from workforce.runner import ensure_embedded_database  # noqa: PLC0415
    from workforce.security.principal import Principal  # noqa: PLC0415
    from workforce.settings import load_settings  # noqa: PLC0415
    from workforce.training import imports  # noqa: PLC0415

    settings = load_settings()
    ensure_embedded_database(settings)
    ctx = AppContext.open(settings)
    engine = make_engine(settings.effective_database_url)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with maker() as session:
            org = await _resolve_base(session, client_id, org_id)
            actor = Principal(
                client_id=client_id or "cli",
                org_id=org.id,
                role="training_base",
                region=org.region_code,
            )
            import_id, spooled = await _start(session, ctx, file, actor)
        label = f"导入 {file.name}"
        with click.progressbar(length=_BAR, label=label, file=sys.stderr) as bar:
            shown = 0

            def progress(done: int, total: int) -> None:
                nonlocal shown
                target = min(_BAR, _BAR * done // total) if total else 0
                if target > shown:
                    bar.update(target - shown)
                    shown = target

            await imports.run_import(
                engine,
                ctx,
                actor,
                import_id,
                file_format=spooled.file_format,
                encoding=spooled.encoding,
                progress=progress,
            )
            bar.update(_BAR - shown)
        async with maker() as session:
            return await _outcome(session, ctx, actor, import_id)
    finally:
        await engine.dispose()


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--base-client-id", "client_id", default=None, help="API client id of the base.")
@click.option("--org-id", default=None, help="Organisation id of the base.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as one JSON object.")
def import_roster(file: Path, client_id: str | None, org_id: str | None, as_json: bool) -> None:
    """Import a roster (CSV in UTF-8 or GB18030, or XLSX) for a training base.

    Columns: id_number, name, course_code, hours, completed_on, external_ref (or 身份证号,
    姓名, 课程代码, 学时, 完成日期, 外部编号). Valid rows are recorded together or not at all;
    refused rows are listed with their line numbers. Exits 1 when the import failed.
    """
    if bool(client_id) == bool(org_id):
        raise click.UsageError("give exactly one of --base-client-id and --org-id")
    from workforce.errors import DomainError  # noqa: PLC0415

    try:
        outcome = asyncio.run(_run(file, client_id, org_id))
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    if as_json:
        click.echo(json.dumps(outcome, ensure_ascii=False))
    else:
        click.echo(
            f"import {outcome['id']}: {outcome['status']} — {outcome['accepted']} recorded, "
            f"{outcome['already_recorded']} already recorded, {outcome['rejected']} refused, "
            f"{outcome['registered']} practitioners registered"
        )
        for error in outcome["errors"][:50]:
            click.echo(f"  line {error['line']}: {error['code']} — {error['detail']}")
        if outcome["failure"]:
            failure = outcome["failure"]
            click.echo(f"  failed: {failure['code']} — {failure['detail']}")
    if outcome["status"] != "done":
        sys.exit(1)
