"""``workforce demo``: a small, realistic data set and working credentials for every role."""

from __future__ import annotations

import json
import os
import random
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click
import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from workforce import synth
from workforce.context import AppContext
from workforce.orgs.models import Org
from workforce.orgs.schemas import OrgCreate
from workforce.orgs.service import create_org
from workforce.practitioners.schemas import PractitionerCreate
from workforce.practitioners.service import register
from workforce.runner import ensure_embedded_database, run_in_session
from workforce.security.principal import Principal
from workforce.settings import load_settings

ORGS: list[dict[str, Any]] = [
    {"key": "admin", "kind": "admin", "name": "托育从业人员登记系统运维中心"},
    {
        "key": "province",
        "kind": "regulator",
        "name": "江苏省卫生健康委员会",
        "region_code": "320000",
    },
    {
        "key": "nanjing",
        "kind": "regulator",
        "name": "南京市卫生健康委员会",
        "region_code": "320100",
    },
    {"key": "suzhou", "kind": "regulator", "name": "苏州市卫生健康委员会", "region_code": "320500"},
    {
        "key": "base_nj",
        "kind": "training_base",
        "name": "南京市托育服务实训基地",
        "region_code": "320104",
    },
    {
        "key": "base_sz",
        "kind": "training_base",
        "name": "苏州市姑苏区托育人才实训基地",
        "region_code": "320508",
    },
    {
        "key": "inst_xw",
        "kind": "institution",
        "name": "南京市玄武区小橘灯托育园",
        "region_code": "320102",
        "ownership": "nonprofit",
    },
    {
        "key": "inst_jy",
        "kind": "institution",
        "name": "南京市建邺区禾苗托育中心",
        "region_code": "320105",
        "ownership": "for_profit",
    },
    {
        "key": "inst_gs",
        "kind": "institution",
        "name": "苏州市姑苏区童心托育园",
        "region_code": "320508",
        "ownership": "nonprofit",
    },
]

COURSES = [
    ("SK-01", "婴幼儿生活照料与回应性照护实务", "skills"),
    ("ET-01", "托育从业人员职业道德与儿童权益保护", "ethics"),
    ("CR-01", "保育人员岗位轮训：安全防护与卫生保健", "caregiver_round"),
    ("DR-01", "托育机构负责人岗位轮训：机构管理与风险防控", "director_round"),
]

# Birth regions of the demo people: several provinces, as a real workforce has.
BIRTH_REGIONS = ["320102", "320106", "320505", "340104", "370102", "410105", "510104", "330106"]


def _credentials_file(ctx: AppContext) -> Path:
    return ctx.settings.var_dir / "demo-credentials.json"


async def load_demo(session: AsyncSession, ctx: AppContext, seed: int = 2026) -> dict[str, Any]:
    """Create the demo organisations and practitioners; return the credentials by key."""
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not secrets
    out: dict[str, Any] = {}
    principals: dict[str, Principal] = {}
    for spec in ORGS:
        data = {k: v for k, v in spec.items() if k != "key"}
        if spec["kind"] in ("training_base", "institution"):
            data["uscc"] = synth.random_uscc(rng, spec["region_code"])
        org, creds = await create_org(session, ctx, None, msgspec.convert(data, OrgCreate))
        principals[spec["key"]] = Principal(
            client_id=creds.client_id,
            org_id=org.id,
            role=org.kind,  # type: ignore[arg-type]
            region=org.region_code,
        )
        out[spec["key"]] = {
            "role": org.kind,
            "name": org.name,
            "org_id": str(org.id),
            "region_code": org.region_code,
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        }
    people = []
    for i in range(24):
        person = synth.random_person(rng, region_code=rng.choice(BIRTH_REGIONS))
        by = principals["base_nj" if i % 3 else "base_sz"]
        positions = ["director"] if i % 8 == 0 else ["caregiver"]
        row, _ = await register(
            session,
            ctx,
            by,
            PractitionerCreate(id_number=person.id_number, name=person.name, positions=positions),
        )
        people.append(
            {"practitioner_id": str(row.id), "name": row.name, "id_number": person.id_number}
        )
    out["practitioners"] = people
    await session.flush()
    await _load_activity(session, ctx, principals, people)
    return out


async def _load_activity(
    session: AsyncSession,
    ctx: AppContext,
    principals: dict[str, Principal],
    people: list[dict[str, Any]],
) -> None:
    """Accreditations, courses, a year of training, certificates, hires, a ban, credit events."""
    from workforce.certificates.schemas import CertificateCreate  # noqa: PLC0415
    from workforce.certificates.service import issue_certificate  # noqa: PLC0415
    from workforce.credit.schemas import CreditEventCreate  # noqa: PLC0415
    from workforce.credit.service import record_event  # noqa: PLC0415
    from workforce.hiring.employment import hire  # noqa: PLC0415
    from workforce.hiring.schemas import EmploymentCreate  # noqa: PLC0415
    from workforce.ledger.schemas import BanCreate, ManagerBan  # noqa: PLC0415
    from workforce.ledger.service import record_bans  # noqa: PLC0415
    from workforce.training.schemas import (  # noqa: PLC0415
        AccreditationCreate,
        CourseCreate,
        TrainingRecordCreate,
    )
    from workforce.training.service import accredit, create_course, log_completion  # noqa: PLC0415

    today = date.today()
    year = today.year
    scope = {
        "level": "city",
        "valid_from": date(year - 2, 1, 1),
        "valid_until": date(year + 2, 12, 31),
        "categories": ["skills", "ethics", "caregiver_round", "director_round"],
        "certificate_types": ["caregiver_post", "director_post", "baoyushi", "yuyingyuan"],
    }
    for base, regulator in (("base_nj", "nanjing"), ("base_sz", "suzhou")):
        await accredit(
            session, ctx, principals[regulator], principals[base].org_id,
            msgspec.convert(scope, AccreditationCreate),
        )
        for code, title, category in COURSES:
            await create_course(
                session, ctx, principals[base],
                CourseCreate(code=code, title=title, category=category, hours=8),
            )
    # A year of training: 9 skills days, 5 ethics days and 15 caregiver-round days (8 h each)
    # for most caregivers; a few fall short, as in real life.
    days = [date(year, 1, 5) + timedelta(days=7 * i) for i in range(40)]
    days = [d for d in days if d < today]
    plan = [("SK-01", 9), ("ET-01", 5), ("CR-01", 15)]
    certified: list[dict[str, Any]] = []
    for i, person in enumerate(people):
        trainer = principals["base_nj" if i % 3 else "base_sz"]
        short = i % 5 == 4
        day_iter = iter(days)
        for code, sessions in plan:
            for n in range(sessions - (2 if short else 0)):
                await log_completion(
                    session, ctx, trainer,
                    TrainingRecordCreate(
                        practitioner_id=uuid.UUID(person["practitioner_id"]),
                        course_code=code, hours=8, completed_on=next(day_iter),
                        external_ref=f"DEMO-{i:03d}-{code}-{n:02d}",
                    ),
                )
        if not short and i % 8:
            await issue_certificate(
                session, ctx, trainer,
                CertificateCreate(
                    practitioner_id=uuid.UUID(person["practitioner_id"]),
                    type="caregiver_post",
                    assessment_passed=True,
                    assessment_ref=f"KH-{year}-{i:04d}",
                ),
            )
            certified.append(person)
    institutions = ["inst_xw", "inst_jy", "inst_gs"]
    for n, person in enumerate(certified[:9]):
        await hire(
            session, ctx, principals[institutions[n % 3]],
            EmploymentCreate(id_number=person["id_number"], position="caregiver"),
            idempotency_key=None, route="demo",
        )
    # A lifetime ban for child abuse (终身禁入) of one of the hired caregivers and of the
    # institution's director answerable for the case: their employer is alerted.
    banned, manager = certified[0], people[8]  # people[8]: a director registered in Nanjing
    await record_bans(
        session, ctx, principals["nanjing"],
        BanCreate(
            id_number=banned["id_number"], kind="lifetime", reason_code="child_abuse",
            decision_ref=f"宁卫禁字〔{year}〕1号", related_case=f"（{year}）苏0102刑初1号",
            managers=[ManagerBan(id_number=manager["id_number"])],
        ),
    )
    await record_event(
        session, ctx, principals["nanjing"],
        CreditEventCreate(
            institution_id=principals["inst_jy"].org_id, type="commendation",
            occurred_on=today - timedelta(days=40),
        ),
    )
    await record_event(
        session, ctx, principals["suzhou"],
        CreditEventCreate(
            institution_id=principals["inst_gs"].org_id, type="failed_inspection",
            occurred_on=today - timedelta(days=20),
        ),
    )
    await session.flush()


def _print(creds: dict[str, Any]) -> None:
    labels = {
        "admin": "运维管理员 (admin)",
        "province": "省级监管部门 (regulator)",
        "nanjing": "市级监管部门 (regulator)",
        "suzhou": "市级监管部门 (regulator)",
        "base_nj": "实训基地 (training_base)",
        "base_sz": "实训基地 (training_base)",
        "inst_xw": "托育机构 (institution)",
        "inst_jy": "托育机构 (institution)",
        "inst_gs": "托育机构 (institution)",
    }
    click.echo("演示数据凭据（仅用于本地演示）：")
    for key, label in labels.items():
        c = creds[key]
        click.echo(f"\n[{label}] {c['name']}  地区 {c['region_code'] or '-'}")
        click.echo(f"  client_id={c['client_id']}")
        click.echo(f"  client_secret={c['client_secret']}")
    sample = creds["practitioners"][1]
    click.echo(f"\n演示从业人员示例：{sample['name']}，身份证号 {sample['id_number']}（合成数据）")
    click.echo(
        "\n获取令牌：curl -s -X POST http://127.0.0.1:8000/api/v1/auth/token "
        "-d grant_type=client_credentials -d client_id=… -d client_secret=…"
    )


@click.command()
@click.option("--if-empty", is_flag=True, help="Load only into an empty database; else reprint.")
@click.option("--json", "as_json", is_flag=True, help="Print the credentials as one JSON object.")
@click.option("--seed", default=2026, show_default=True, type=int)
def demo(if_empty: bool, as_json: bool, seed: int) -> None:
    """Load a small realistic data set and print working credentials for each role."""
    settings = load_settings()
    ensure_embedded_database(settings)

    async def go(session: AsyncSession, ctx: AppContext) -> dict[str, Any] | None:
        count = await session.scalar(select(func.count()).select_from(Org))
        if if_empty and count:
            return None
        return await load_demo(session, ctx, seed)

    creds = run_in_session(settings, go)
    path = settings.var_dir / "demo-credentials.json"
    if creds is None:
        if not path.exists():
            click.echo("数据库已有数据，未加载演示数据。")
            return
        creds = json.loads(path.read_text())
        click.echo("数据库已有数据，未重复加载；以下为首次加载时保存的演示凭据。")
    else:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(creds, handle, ensure_ascii=False, indent=2)
    if as_json:
        click.echo(json.dumps(creds, ensure_ascii=False))
    else:
        _print(creds)
