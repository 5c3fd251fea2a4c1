"""Which training rules practitioners meet, from their running totals (pure, no database).

:class:`RuleIndex` is the rules engine (:mod:`workforce.rules.engine`) reduced to its verdicts,
for many practitioners at a time; the roster reader process uses it too, so this module imports
only the standard library and the engine.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from workforce.rules.engine import RulesError, RuleSet, period_for, rules_in_force

Totals = dict[tuple[str, int, str], int]


@dataclass(frozen=True, slots=True)
class Subject:
    """What the aggregates need to know about a practitioner."""

    practitioner_id: uuid.UUID
    region_code: str
    positions: tuple[str, ...]


def rule_region(region_code: str) -> str:
    """A practitioner's region as the rules engine reads it (``000000``: national)."""
    return "" if region_code == "000000" else region_code


@dataclass(frozen=True, slots=True)
class _Binding:
    """A rule in force for some (region, positions, year), with its period resolved."""

    rule_id: str
    label: str
    cells: tuple[tuple[str, int], ...]
    """(category, year) pairs the rule sums: its categories × the years of its period."""
    online_cap: int | None
    min_tenths: int


class RuleIndex:
    """Which rules are met, for many practitioners: :func:`evaluate` reduced to its verdicts.

    The rules in force and their periods depend only on (region, positions, year): they are
    resolved once per distinct triple with the engine's own :func:`rules_in_force` and
    :func:`period_for`, then each verdict is the engine's sum (categories × period years ×
    modes, online hours capped) compared with the rule's minimum. A property test keeps
    :meth:`met` equal to ``{r.rule_id: r.met for r in evaluate(...)}`` (with its labels).
    """

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._bindings: dict[tuple[str, tuple[str, ...], int], tuple[_Binding, ...] | None] = {}
        self.counted = frozenset(category for rule in ruleset.rules for category in rule.categories)
        """Categories some rule counts (changes to others flip nothing)."""

    def flips(
        self, subject: Subject, before: Totals | None, deltas: Totals
    ) -> list[tuple[tuple[str, str, str], int]]:
        """``((region, rule_id, period_label), ±1)`` for each rule the changes make met (+1)
        or unmet (-1) for one practitioner whose totals were ``before`` (None: none)."""
        counted = self.counted
        after = dict(before) if before else {}
        for key, delta in deltas.items():
            after[key] = after.get(key, 0) + delta
        # A cycle rule is seen from every changed year of its cycle: count each flip once.
        flips: dict[tuple[str, str, str], int] = {}
        met = self.met
        for year in {key[1] for key in deltas if key[0] in counted}:
            # Nothing recorded before: every rule was unmet (rules require more than 0 h).
            old = met(subject, year, before) if before else {}
            for rule_label, now in met(subject, year, after).items():
                if old.get(rule_label, False) != now:
                    flips[(subject.region_code, *rule_label)] = 1 if now else -1
        return list(flips.items())

    def _resolve(
        self, region_code: str, positions: tuple[str, ...], year: int
    ) -> tuple[_Binding, ...] | None:
        key = (region_code, positions, year)
        try:
            return self._bindings[key]
        except KeyError:
            pass
        found: tuple[_Binding, ...] | None
        try:
            bindings = []
            for rule in rules_in_force(
                self.ruleset, rule_region(region_code), positions, dt.date(year, 12, 31)
            ):
                if rule.period == "cycle" and not any(
                    c.start_year <= year <= c.end_year for c in rule.cycles
                ):
                    continue
                start, end, label = period_for(rule, year)
                cells = tuple(
                    (category, period_year)
                    for period_year in range(start.year, end.year + 1)
                    for category in rule.categories
                )
                bindings.append(_Binding(rule.id, label, cells, rule.online_cap(), rule.min_tenths))
            found = tuple(bindings)
        except (RulesError, ValueError):
            found = None  # as evaluate(): no rules for an unusable region or year
        if len(self._bindings) > _RULE_INDEX_SIZE:
            self._bindings.clear()
        self._bindings[key] = found
        return found

    def met(
        self, subject: Subject, year: int, totals: Mapping[tuple[str, int, str], int]
    ) -> dict[tuple[str, str], bool]:
        """``(rule_id, period_label) → met`` of the rules binding ``subject`` in ``year``."""
        bindings = self._resolve(subject.region_code, subject.positions, year)
        if not bindings:
            return {}
        in_person: dict[tuple[str, int], int] = {}
        online: dict[tuple[str, int], int] = {}
        for (category, total_year, mode), tenths in totals.items():
            if type(tenths) is not int or tenths < 0:
                return {}  # evaluate() refuses such totals (and then counts nothing)
            if mode == "in_person":
                in_person[(category, total_year)] = tenths
            elif mode == "online":
                online[(category, total_year)] = tenths
            else:
                return {}
        out: dict[tuple[str, str], bool] = {}
        in_person_get, online_get = in_person.get, online.get
        for b in bindings:
            earned = counted_online = 0
            for cell in b.cells:
                earned += in_person_get(cell, 0)
                counted_online += online_get(cell, 0)
            if b.online_cap is not None and counted_online > b.online_cap:
                counted_online = b.online_cap
            out[(b.rule_id, b.label)] = earned + counted_online >= b.min_tenths
        return out


_RULE_INDEX_SIZE = 50_000
