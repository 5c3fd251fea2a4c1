"""The regional workforce report, built from running aggregates (never from the records).

* practitioners: one ``GROUP BY region_code, positions`` over ``practitioners``;
* hours per category: ``training_region_hours`` (one row per region × category × year × mode);
* compliant share per rule: ``training_rule_met`` (one row per region × rule × period) over the
  practitioners each rule applies to, found from the rule set in force for every region code.

Figures are given for the whole region and for each region of the next level down (province →
cities, city → counties; a county has no breakdown).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from workforce import regions
from workforce.context import AppContext
from workforce.db import utcnow
from workforce.errors import OUT_OF_JURISDICTION, Forbidden, Invalid
from workforce.practitioners.models import Practitioner
from workforce.rules.engine import Rule, RulesError, RuleSet, period_for, rules_in_force
from workforce.security.principal import Principal
from workforce.training import aggregates
from workforce.training.models import RegionHours, RuleMetCount
from workforce.training.schemas import (
    CategoryHours,
    RegionFigures,
    RuleFigure,
    WorkforceReport,
)
from workforce.training.service import check_year


def sub_region(level: regions.Level, code: str) -> str:
    """The region of the next level down under which ``code`` falls."""
    match level:
        case "national":
            return code[:2] + "0000"
        case "province":
            return code[:4] + "00"
        case _:
            return code


def region_label(code: str) -> str:
    """A region's full Chinese name (falls back to the code)."""
    try:
        return regions.full_name(code)
    except regions.InvalidRegion:
        return code


@dataclass
class _Acc:
    practitioners: int = 0
    hours: dict[str, list[int]] = field(default_factory=dict)
    applicable: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    met: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _check_region(actor: Principal, requested: str | None) -> str:
    region = requested or actor.region or regions.NATIONAL
    try:
        regions.validate_region_code(region)
    except regions.InvalidRegion as exc:
        raise Invalid(exc.message, code="invalid_region") from None
    if not regions.covers(actor.region or "", region):
        raise Forbidden("the region is outside your jurisdiction", code=OUT_OF_JURISDICTION)
    return region


async def workforce_report(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    region: str | None,
    year: int,
) -> WorkforceReport:
    """Counts and rates of a regulator's region (its jurisdiction by default) for a year."""
    check_year(year)
    code = _check_region(actor, region)
    level = regions.level_of(code)
    prefix = regions.jurisdiction_prefix(code)
    ruleset = ctx.rules
    whole = _Acc()
    subs: dict[str, _Acc] = defaultdict(_Acc)

    def targets(region_code: str) -> Iterable[_Acc]:
        yield whole
        if level != "county":
            yield subs[sub_region(level, region_code)]

    in_play: dict[str, tuple[Rule, str]] = {}
    rules_cache: dict[tuple[str, str], list[tuple[Rule, str]]] = {}
    p = Practitioner
    positions_text = cast(p.positions, String)
    counts = await session.execute(
        select(p.region_code, positions_text, func.count())
        .where(p.region_code.startswith(prefix))
        .group_by(p.region_code, positions_text)
    )
    for region_code, positions, n in counts:
        key = (region_code, positions or "[]")
        if key not in rules_cache:
            rules_cache[key] = _rules_for(ruleset, region_code, positions, year)
        for acc in targets(region_code):
            acc.practitioners += n
            for rule, label in rules_cache[key]:
                acc.applicable[rule.id] += n
                in_play[rule.id] = (rule, label)

    h = RegionHours
    hours = await session.execute(
        select(h.region_code, h.category, h.mode, h.hours_tenths, h.records).where(
            h.year == year, h.region_code.startswith(prefix)
        )
    )
    for region_code, category, mode, tenths, records in hours:
        for acc in targets(region_code):
            slot = acc.hours.setdefault(category, [0, 0, 0])
            slot[0] += tenths
            slot[1] += tenths if mode == "online" else 0
            slot[2] += records

    source: Literal["running", "recomputed"] = "running"
    if await aggregates.is_current(session, ctx):
        m = RuleMetCount
        met_rows = [
            tuple(row)
            for row in await session.execute(
                select(m.region_code, m.rule_id, m.period_label, m.met).where(
                    m.region_code.startswith(prefix), m.rule_id.in_(list(in_play))
                )
            )
        ]
    else:
        source = "recomputed"
        recomputed = await aggregates.count_rules_met(session, ruleset, prefix)
        met_rows = [(r, rule, label, n) for (r, rule, label), n in recomputed.items()]
    for region_code, rule_id, label, met in met_rows:
        wanted = in_play.get(rule_id)
        if wanted is None or wanted[1] != label:
            continue
        for acc in targets(region_code):
            acc.met[rule_id] += met

    order = [rule for rule in ruleset.rules if rule.id in in_play]
    return WorkforceReport(
        region_code=code,
        region_name=region_label(code),
        year=year,
        ruleset_version=ruleset.version,
        rule_counts=source,
        totals=_figures(code, whole, order, in_play),
        sub_regions=[_figures(sub, acc, order, in_play) for sub, acc in sorted(subs.items())],
        generated_at=utcnow(),
    )


def _rules_for(
    ruleset: RuleSet, region_code: str, positions_json: str | None, year: int
) -> list[tuple[Rule, str]]:
    try:
        positions = json.loads(positions_json or "[]")
        chosen = rules_in_force(
            ruleset, aggregates.rule_region(region_code), positions, date(year, 12, 31)
        )
    except (RulesError, ValueError, TypeError):
        return []
    out: list[tuple[Rule, str]] = []
    for rule in chosen:
        try:
            out.append((rule, period_for(rule, year)[2]))
        except RulesError:
            continue
    return out


def _figures(
    code: str, acc: _Acc, order: list[Rule], in_play: dict[str, tuple[Rule, str]]
) -> RegionFigures:
    rules = []
    for rule in order:
        applicable = acc.applicable.get(rule.id, 0)
        if not applicable:
            continue
        met = min(acc.met.get(rule.id, 0), applicable)
        rules.append(
            RuleFigure(
                rule_id=rule.id,
                title=rule.title,
                period=in_play[rule.id][1],
                required_hours=rule.min_tenths / 10,
                applicable=applicable,
                met=met,
                share=round(met / applicable, 4),
            )
        )
    return RegionFigures(
        region_code=code,
        region_name=region_label(code),
        practitioners=acc.practitioners,
        hours=[
            CategoryHours(category=c, hours=v[0] / 10, online_hours=v[1] / 10, records=v[2])
            for c, v in sorted(acc.hours.items())
        ],
        rules=rules,
    )
