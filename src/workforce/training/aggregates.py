"""Running aggregates of training hours, updated in the same transaction as every insert/void.

Three tables follow the (non-voided) records exactly:

* ``training_totals`` (practitioner × category × year × mode → tenths): one practitioner's
  compliance is one indexed read;
* ``training_region_hours`` (practitioner region × category × year × mode → tenths, records):
  the hours part of the regional report without touching the records;
* ``training_rule_met`` (practitioner region × rule × period → count): how many practitioners
  meet each rule. A practitioner counts for a rule when, at their last change, the rule applied
  to them (region and positions) and they met it. The counts follow one rule set, whose digest
  is kept in ``training_aggregate_state``; when the rule set in force changes they are rebuilt
  from ``training_totals`` (:func:`ensure_current`).

Upserts use ``INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x`` (SQLite and PostgreSQL).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Table, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from workforce.context import AppContext
from workforce.practitioners.models import Practitioner
from workforce.rules.engine import (
    RuleResult,
    RulesError,
    RuleSet,
    evaluate_totals,
)
from workforce.training.bulk import Bulk
from workforce.training.models import AggregateState, RuleMetCount, TrainingTotal
from workforce.training.ruleindex import RuleIndex, Subject, Totals, rule_region

__all__ = ["rule_region"]  # still read here (certificates.service, reports): its old home

log = logging.getLogger("workforce.training")

DIGEST_KEY = "ruleset_digest"
TRAINING_LOCK_KEY = 0x7766_7472
"""PostgreSQL advisory lock of training writes: imports exclusive, single writes shared."""
BATCH = 5_000
"""Rows per bulk statement (well under the bind-parameter limits of both databases)."""


class Change(NamedTuple):
    """Hours added (positive: a new record) or removed (negative: a void)."""

    practitioner_id: Any
    """:class:`uuid.UUID` or a native id (see :class:`Bulk`)."""
    category: str
    year: int
    mode: str
    tenths: int
    records: int


def subject_of(person: Practitioner) -> Subject:
    """The aggregate subject of a practitioner row."""
    return Subject(person.id, person.region_code, tuple(person.positions or ()))


def evaluate(
    ruleset: RuleSet, subject: Subject, year: int, totals: Mapping[tuple[str, int, str], int]
) -> list[RuleResult]:
    """The practitioner's results for ``year`` (no rules for an unusable region code)."""
    try:
        return evaluate_totals(
            ruleset, rule_region(subject.region_code), subject.positions, year, totals
        )
    except RulesError:
        log.warning("cannot evaluate rules for region %s", subject.region_code)
        return []


def dialect_insert(session: AsyncSession, table: Table) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def lock_training_writes(session: AsyncSession, *, exclusive: bool) -> None:
    """PostgreSQL: serialize imports against single training writes (no-op on SQLite).

    An import takes the lock exclusively for its whole transaction, a single write shares
    it: single writes wait while an import runs (as on SQLite, whose write lock does the
    same), the daily-hours cap stays exact and the two can never deadlock.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    await session.execute(text(f"SELECT {fn}(:k)"), {"k": TRAINING_LOCK_KEY})


async def load_totals(bulk: Bulk, practitioner_ids: Iterable[Any]) -> dict[Any, Totals]:
    """The running totals of several practitioners (bulk read), keyed by native id."""
    out: dict[Any, Totals] = {}
    rows = await bulk.select_in(
        "SELECT practitioner_id, category, year, mode, hours_tenths FROM training_totals "
        "WHERE practitioner_id {in_}",
        (),
        [bulk.uuid(pid) for pid in practitioner_ids],
        "uuid",
    )
    for pid, category, year, mode, tenths in rows:
        out.setdefault(pid, {})[(category, year, mode)] = tenths
    return out


async def apply_changes(
    session: AsyncSession,
    ctx: AppContext,
    subjects: Mapping[Any, Subject],
    changes: Iterable[Change],
    *,
    rule_counts: bool = True,
    bulk: Bulk | None = None,
    before: Mapping[Any, Totals] | None = None,
) -> None:
    """Fold record inserts and voids into every running aggregate (caller's transaction).

    Practitioner ids may be :class:`uuid.UUID` or already native (see :class:`Bulk`);
    ``subjects`` must be keyed the same way as the changes.

    ``rule_counts=False`` leaves ``training_rule_met`` alone: for a write that found the
    counts following another rule set (:func:`is_current`); the next rebuild recomputes them
    from ``training_totals``, which is always kept. ``before``: the practitioners' totals
    before these changes when the caller already read them (a missing id: no totals yet).
    """
    bulk = bulk or Bulk(session)
    deltas = Deltas()
    native_subjects: dict[Any, Subject] = {}
    for raw_pid, category, year, mode, tenths, records in changes:
        pid = bulk.uuid(raw_pid)
        subject = native_subjects.get(pid)
        if subject is None:
            subject = native_subjects[pid] = subjects[raw_pid]
        deltas.add(pid, subject.region_code, category, year, mode, tenths, records)
    await apply_deltas(
        session,
        ctx,
        native_subjects,
        deltas,
        rule_counts=rule_counts,
        bulk=bulk,
        before=before,
    )


@dataclass(slots=True)
class Deltas:
    """Changes to the running aggregates, summed per key (native practitioner ids)."""

    by_person: dict[Any, Totals] = field(default_factory=dict)
    """practitioner → (category, year, mode) → tenths."""
    by_region: dict[tuple[str, str, int, str], list[int]] = field(default_factory=dict)
    """(region, category, year, mode) → [tenths, records]."""

    def add(
        self,
        pid: Any,
        region_code: str,
        category: str,
        year: int,
        mode: str,
        tenths: int,
        records: int,
    ) -> None:
        """Count one record (``records`` 1) or one void (-1) of ``tenths``."""
        person = self.by_person.get(pid)
        if person is None:
            person = self.by_person[pid] = {}
        key = (category, year, mode)
        person[key] = person.get(key, 0) + tenths
        acc = self.by_region.get((region_code, category, year, mode))
        if acc is None:
            self.by_region[(region_code, category, year, mode)] = [tenths, records]
        else:
            acc[0] += tenths
            acc[1] += records


async def apply_deltas(
    session: AsyncSession,
    ctx: AppContext,
    subjects: Mapping[Any, Subject],
    deltas: Deltas,
    *,
    rule_counts: bool = True,
    bulk: Bulk | None = None,
    before: Mapping[Any, Totals] | None = None,
    rules: RuleIndex | None = None,
    met: Mapping[tuple[str, str, str], int] | None = None,
) -> None:
    """:func:`apply_changes` for changes already summed (keys native, see :class:`Bulk`).

    ``met``: the rule-met count changes when the caller already made them (with ``before``).
    """
    bulk = bulk or Bulk(session)
    by_person = deltas.by_person
    if not by_person:
        return
    if not rule_counts:
        met_deltas: Mapping[tuple[str, str, str], int] = {}
    elif met is not None:
        met_deltas = met
    else:
        met_deltas = await _met_deltas(
            bulk, rules or RuleIndex(ctx.rules), subjects, by_person, before
        )
    await bulk.upsert_add(
        "training_totals",
        ("practitioner_id", "category", "year", "mode"),
        ("hours_tenths",),
        [(pid, c, y, m, d) for pid, person in by_person.items() for (c, y, m), d in person.items()],
    )
    await bulk.upsert_add(
        "training_region_hours",
        ("region_code", "category", "year", "mode"),
        ("hours_tenths", "records"),
        [(r, c, y, m, v[0], v[1]) for (r, c, y, m), v in deltas.by_region.items()],
    )
    await bulk.upsert_add(
        "training_rule_met",
        ("region_code", "rule_id", "period_label"),
        ("met",),
        [(r, rule, label, d) for (r, rule, label), d in met_deltas.items() if d],
    )


async def _met_deltas(
    bulk: Bulk,
    rules: RuleIndex,
    subjects: Mapping[Any, Subject],
    by_person: Mapping[Any, Totals],
    known: Mapping[Any, Totals] | None = None,
) -> dict[tuple[str, str, str], int]:
    """How the rule-met counts change: evaluate each changed year before and after."""
    counted = rules.counted
    relevant = [
        pid for pid, deltas in by_person.items() if any(key[0] in counted for key in deltas)
    ]
    out: dict[tuple[str, str, str], int] = defaultdict(int)
    if not relevant:
        return out
    before_all = known if known is not None else await load_totals(bulk, relevant)
    for pid in relevant:
        for flip, delta in rules.flips(subjects[pid], before_all.get(pid), by_person[pid]):
            out[flip] += delta
    return out


async def is_current(session: AsyncSession, ctx: AppContext) -> bool:
    """Whether ``training_rule_met`` follows the rule set in force (one primary-key read)."""
    stored = await session.scalar(
        select(AggregateState.value).where(AggregateState.key == DIGEST_KEY)
    )
    return stored == ctx.rules.digest


async def make_current(session: AsyncSession, ctx: AppContext) -> bool:
    """For a single write: bring the rule-met counts up to date when that is safe now.

    SQLite: the write transaction excludes every other writer, so rebuild if needed.
    PostgreSQL: rebuild only if no other training write is in flight (a non-blocking try of
    the exclusive lock); otherwise return False and leave the counts to the next rebuild.
    """
    if await is_current(session, ctx):
        return True
    if session.get_bind().dialect.name == "postgresql":
        got = await session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": TRAINING_LOCK_KEY}
        )
        if not got:
            return False
    await ensure_current(session, ctx)
    return True


async def ensure_current(session: AsyncSession, ctx: AppContext) -> None:
    """Rebuild the rule-met counts if they follow another rule set than the one in force.

    The caller holds the exclusive training lock (:func:`lock_training_writes`) in a write
    transaction; a no-op (one primary-key read) normally.
    """
    if await is_current(session, ctx):
        return
    ruleset = ctx.rules
    log.info(
        "rule set %s is new to the aggregates: rebuilding the rule-met counts", ruleset.version
    )
    await session.execute(delete(RuleMetCount))
    counts = await count_rules_met(session, ruleset, "")
    await Bulk(session).upsert_add(
        "training_rule_met",
        ("region_code", "rule_id", "period_label"),
        ("met",),
        [(r, rule, label, n) for (r, rule, label), n in counts.items()],
    )
    stmt = dialect_insert(session, AggregateState.__table__)  # type: ignore[arg-type]
    stmt = stmt.values(key=DIGEST_KEY, value=ruleset.digest).on_conflict_do_update(
        index_elements=["key"], set_={"value": ruleset.digest}
    )
    await session.execute(stmt)


async def count_rules_met(
    session: AsyncSession, ruleset: RuleSet, region_prefix: str
) -> dict[tuple[str, str, str], int]:
    """Count, from ``training_totals``, the practitioners meeting each rule in each period.

    The exact (slow) computation the running counts are kept equal to: streams the totals of
    every practitioner whose region starts with ``region_prefix``, one practitioner at a time.
    Returns ``(region_code, rule_id, period_label) → count``.
    """
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    t, p = TrainingTotal, Practitioner
    stmt = (
        select(
            t.practitioner_id,
            t.category,
            t.year,
            t.mode,
            t.hours_tenths,
            p.region_code,
            p.positions,
        )
        .join(p, p.id == t.practitioner_id)
        .order_by(t.practitioner_id)
        .execution_options(yield_per=BATCH)
    )
    if region_prefix:
        stmt = stmt.where(p.region_code.startswith(region_prefix))
    current: uuid.UUID | None = None
    subject: Subject | None = None
    totals: Totals = {}

    def flush() -> None:
        if subject is None:
            return
        met: set[tuple[str, str]] = set()
        for year in {key[1] for key in totals}:
            for result in evaluate(ruleset, subject, year, totals):
                if result.met:
                    met.add((result.rule_id, result.period_label))
        for rule_id, label in met:
            counts[(subject.region_code, rule_id, label)] += 1

    result = await session.stream(stmt)
    async for pid, category, year, mode, tenths, region, positions in result:
        if pid != current:
            flush()
            current, totals = pid, {}
            subject = Subject(pid, region, tuple(positions or ()))
        totals[(category, year, mode)] = tenths
    flush()
    return counts
