"""Training-hour rules: versioned data and a pure evaluator.

Rules are data, read from TOML files (the packaged ``default.toml`` and any extra directory a
deployment configures). Each rule requires a minimum number of class hours in some course
categories over a period, for some positions, in a region, between two dates.

Semantics, in the order the evaluator applies them:

* **Hours** are class hours with at most one decimal, held as integer tenths
  (``hours_tenths``) so that sums are exact: ``parse_hours("2.5") == 25``.
* **Region.** A rule's ``region`` is a GB/T 2260 prefix: ``""`` national, ``"32"`` Jiangsu,
  ``"3201"`` Nanjing, ``"320102"`` one district. It applies to every practitioner whose region
  code starts with it (``"320100"`` is read as ``"3201"``, ``"320000"`` as ``"32"``).
* **Families.** Rules that replace one another share a ``family`` (``yearly_skills``,
  ``caregiver_round``, ...). Among the rules of a family in force for a practitioner, the one
  with the most specific (longest) region wins: Nanjing beats Jiangsu beats national.
* **Versions.** Versions of a family in one region have non-overlapping effective ranges
  (``effective_from`` .. ``effective_until``, both inclusive); the loader rejects overlaps.
* **In force.** ``evaluate(..., year)`` uses the rules in force on 31 December of ``year``
  (the last day of the year being evaluated, so a version that starts during the year governs
  that whole year), or on ``on_date`` when one is given.
* **Positions.** After the region choice, a rule applies only if it names ``"all"`` positions
  or one of the practitioner's. ``positions=None`` skips this filter (certificate
  prerequisites look at a family whatever the holder's current positions).
* **Periods.** A ``calendar_year`` rule counts the hours completed in the year evaluated; a
  ``cycle`` rule counts the hours completed in the whole named cycle (e.g. 2026 to 2030) that
  contains the year. A rule whose cycles do not contain the year (possible only with an explicit
  ``on_date`` outside it) is left out of the results.
* **Online caps.** ``online_cap_tenths`` and/or ``online_cap_percent`` (of the required hours)
  limit how many online hours count toward the rule; when both are set the smaller cap applies.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Final, Literal, TypeAlias

import msgspec

Mode = Literal["in_person", "online"]
"""How a course was delivered."""
PeriodKind = Literal["calendar_year", "cycle"]
"""How a rule's period is defined."""
ALL_POSITIONS: Final = "all"
"""The ``positions`` value of a rule that applies to every practitioner."""

MODES: Final[tuple[Mode, ...]] = ("in_person", "online")
EN_DASH: Final = "\u2013"
"""Joins the years of a cycle label (``2026\u20132030``)."""
DEFAULT_RULES_DIR: Final = Path(__file__).parent
"""Directory of the packaged rule files."""
MAX_HOURS_TENTHS: Final = 999_999
"""Largest hour value :func:`parse_hours` accepts (99,999.9 hours)."""
MIN_YEAR: Final = 1900
MAX_YEAR: Final = 9999

_CODE_RE: Final = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
_ID_RE: Final = re.compile(r"[a-z0-9][a-z0-9_.-]*", re.ASCII)
_HOURS_RE: Final = re.compile(r"[0-9]{1,5}(?:\.[0-9])?", re.ASCII)
_REGION_RE: Final = re.compile(r"(?:[0-9]{2}){0,3}", re.ASCII)


class RulesError(ValueError):
    """A rule file, a rule set or an input to the evaluator is invalid."""

    code = "rules_invalid"


class HoursError(RulesError):
    """A class-hour value is not a non-negative number with at most one decimal."""

    code = "invalid_hours"


# --------------------------------------------------------------------------- hours


def parse_hours(value: str | int | float | Decimal) -> int:
    """Parse class hours into integer tenths.

    Strings must look like ``12`` or ``12.5`` (surrounding spaces allowed); numbers must be
    finite, non-negative and have at most one decimal.

    Args:
        value: The hours as text (a CSV cell, a form field) or a number (a JSON value).

    Returns:
        The hours in tenths, e.g. ``25`` for ``"2.5"``.

    Raises:
        HoursError: The value is negative, not finite, has more than one decimal, is larger
            than 99,999.9 or is not a number at all.
    """
    if isinstance(value, bool):
        raise HoursError("hours must be a number, not a boolean")
    if isinstance(value, str):
        return _parse_hours_text(value)
    if isinstance(value, int):
        return _decimal_to_tenths(Decimal(value))
    if isinstance(value, float):
        # repr() is the shortest decimal that round-trips, so 0.1 reads as Decimal("0.1").
        return _decimal_to_tenths(Decimal(repr(value)))
    if isinstance(value, Decimal):
        return _decimal_to_tenths(value)
    raise HoursError(f"hours must be text or a number, not {type(value).__name__}")


def _parse_hours_text(value: str) -> int:
    text = value.strip()
    if _HOURS_RE.fullmatch(text):
        whole, _, fraction = text.partition(".")
        return int(whole) * 10 + int(fraction or "0")
    shown = repr(text[:20] + ("..." if len(text) > 20 else ""))
    if not text:
        raise HoursError("hours are empty")
    if text.startswith("-"):
        raise HoursError(f"hours must not be negative: {shown}")
    if text.lower().lstrip("+") in {"nan", "inf", "infinity"}:
        raise HoursError(f"hours must be a finite number: {shown}")
    if re.fullmatch(r"[0-9]+\.[0-9]{2,}", text, re.ASCII):
        raise HoursError(f"hours have at most one decimal: {shown}")
    if re.fullmatch(r"[0-9]+(?:\.[0-9])?", text, re.ASCII):
        raise HoursError(f"hours must not exceed {format_hours(MAX_HOURS_TENTHS)}: {shown}")
    raise HoursError(f"hours must look like 12 or 12.5: {shown}")


def _decimal_to_tenths(number: Decimal) -> int:
    if not number.is_finite():
        raise HoursError("hours must be a finite number")
    if number < 0:
        raise HoursError("hours must not be negative")
    if number * 10 > MAX_HOURS_TENTHS:
        raise HoursError(f"hours must not exceed {format_hours(MAX_HOURS_TENTHS)}")
    tenths = number * 10
    if tenths != tenths.to_integral_value():
        raise HoursError("hours have at most one decimal")
    return int(tenths)


def format_hours(tenths: int) -> str:
    """Render tenths as hours with exactly one decimal: ``25 -> "2.5"``, ``720 -> "72.0"``."""
    sign = "-" if tenths < 0 else ""
    whole, fraction = divmod(abs(tenths), 10)
    return f"{sign}{whole}.{fraction}"


def hours_to_float(tenths: int) -> float:
    """Hours as a float for JSON (the nearest double; ``repr`` shows one decimal at most)."""
    return tenths / 10


def hours_to_decimal(tenths: int) -> Decimal:
    """Hours as an exact :class:`~decimal.Decimal` with one decimal place."""
    return Decimal(tenths).scaleb(-1)


# --------------------------------------------------------------------------- structs


class Cycle(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A named planning cycle, whole calendar years ``start_year``..``end_year``."""

    start_year: int
    end_year: int
    label: str = ""
    """Shown to users; defaults to start and end year joined by an en dash (U+2013)."""


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """One validated training-hour rule (a version of a family in a region)."""

    id: str
    """Stable identifier, unique across the rule set (``nj-yearly-skills-2021``)."""
    family: str
    """Rules that replace one another share a family (``yearly_skills``)."""
    title: str
    """Simplified Chinese title."""
    categories: tuple[str, ...]
    """Course categories whose hours count toward the rule."""
    min_tenths: int
    """Minimum hours in the period, in tenths."""
    period: PeriodKind
    cycles: tuple[Cycle, ...] = ()
    """The named cycles of a ``cycle`` rule, in order, covering its effective years."""
    positions: Literal["all"] | tuple[str, ...]
    """Position codes the rule applies to, or ``"all"``."""
    region: str
    """GB/T 2260 prefix in its shortest form; ``""`` is national."""
    effective_from: date
    effective_until: date | None = None
    """Last day in force (inclusive); ``None`` is open-ended."""
    online_cap_tenths: int | None = None
    """At most this many online hours (tenths) count toward the rule."""
    online_cap_percent: int | None = None
    """At most this percentage of the required hours may be online."""
    source_title: str
    """The document the rule comes from."""
    source_issuer: str | None = None
    source_number: str | None = None
    """The document number (文号), only when known for certain."""
    source_note: str | None = None
    """What is known and what is not about the source (e.g. an unverified number)."""

    def in_force_on(self, day: date) -> bool:
        """Whether ``day`` falls within the effective range."""
        return self.effective_from <= day and (
            self.effective_until is None or day <= self.effective_until
        )

    def applies_to_region(self, region: str) -> bool:
        """Whether the rule covers ``region``, a canonical prefix (see :func:`canonical_region`)."""
        return region.startswith(self.region)

    def applies_to_positions(self, positions: Collection[str] | None) -> bool:
        """Whether the rule covers one of ``positions`` (``None``: any)."""
        if positions is None or self.positions == ALL_POSITIONS:
            return True
        return any(code in positions for code in self.positions)

    def online_cap(self) -> int | None:
        """The effective online cap in tenths, or ``None`` when online hours count in full."""
        caps = []
        if self.online_cap_tenths is not None:
            caps.append(self.online_cap_tenths)
        if self.online_cap_percent is not None:
            caps.append(self.min_tenths * self.online_cap_percent // 100)
        return min(caps) if caps else None


class RuleSet(msgspec.Struct, frozen=True, kw_only=True):
    """All rules loaded from a list of files, validated together."""

    version: str
    """The files' ``version`` strings joined with ``+``, in load order."""
    digest: str
    """SHA-256 over the files' names and bytes: identifies exactly the rules used."""
    rules: tuple[Rule, ...]

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id.

        Raises:
            RulesError: No such rule.
        """
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise RulesError(f"unknown rule id {rule_id!r}")


class RecordHours(msgspec.Struct, frozen=True, kw_only=True):
    """One completed course, as the evaluator sees it."""

    category: str
    completed_on: date
    hours_tenths: int
    mode: Mode = "in_person"


class RuleResult(msgspec.Struct, frozen=True, kw_only=True):
    """How one practitioner stands against one rule for one period."""

    rule_id: str
    family: str
    title: str
    period_label: str
    period_start: date
    period_end: date
    required_tenths: int
    earned_tenths: int
    """Hours that count: in-person hours plus online hours up to the rule's cap."""
    met: bool
    online_excluded_tenths: int = 0
    """Online hours left out because of the cap."""

    @property
    def shortfall_tenths(self) -> int:
        """Hours still missing (0 when met)."""
        return max(0, self.required_tenths - self.earned_tenths)


YearTotals: TypeAlias = Mapping[tuple[str, int], int]
"""Hours in tenths by ``(category, year)``, all delivery modes together."""
ModeTotals: TypeAlias = Mapping[tuple[str, int, str], int]
"""Hours in tenths by ``(category, year, mode)``."""


# --------------------------------------------------------------------------- loading


class _RuleSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    id: str
    family: str
    title: str
    categories: list[str]
    min_hours: int | float | str
    period: PeriodKind
    cycles: list[Cycle] = []
    positions: Literal["all"] | list[str]
    region: str
    effective_from: date
    effective_until: date | None = None
    online_cap_hours: int | float | str | None = None
    online_cap_percent: int | None = None
    source_title: str
    source_issuer: str | None = None
    source_number: str | None = None
    source_note: str | None = None


class _RuleFile(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    version: str
    description: str = ""
    rules: list[_RuleSpec] = []


def load_ruleset(paths: Path | str | Iterable[Path | str] | None = None) -> RuleSet:
    """Load and validate rule files.

    A directory stands for all its ``*.toml`` files in name order. Layer a deployment's extra
    rules over the packaged ones with ``load_ruleset([DEFAULT_RULES_DIR, settings.rules_dir])``.

    Args:
        paths: A file, a directory, or several of them; ``None`` for :data:`DEFAULT_RULES_DIR`.

    Returns:
        The validated rule set.

    Raises:
        RulesError: A path is missing, a file is malformed (unknown keys included), a rule is
            invalid, two rules share an id, or two versions of a family in one region overlap.
    """
    files = _rule_files(paths)
    if not files:
        raise RulesError("no rule files found")
    digest = hashlib.sha256()
    versions: list[str] = []
    rules: list[Rule] = []
    for file in files:
        raw = file.read_bytes()
        digest.update(f"{file.name}\0{len(raw)}\0".encode())
        digest.update(raw)
        spec = _decode_file(file, raw)
        versions.append(spec.version)
        rules.extend(_build_rule(file.name, rule_spec) for rule_spec in spec.rules)
    _check_unique_ids(rules)
    _check_versions_disjoint(rules)
    return RuleSet(version="+".join(versions), digest=digest.hexdigest(), rules=tuple(rules))


def _rule_files(paths: Path | str | Iterable[Path | str] | None) -> list[Path]:
    if paths is None:
        items: list[Path] = [DEFAULT_RULES_DIR]
    elif isinstance(paths, str | Path):
        items = [Path(paths)]
    else:
        items = [Path(item) for item in paths]
    files: list[Path] = []
    for item in items:
        if item.is_dir():
            files.extend(sorted(item.glob("*.toml")))
        elif item.is_file():
            files.append(item)
        else:
            raise RulesError(f"rule path does not exist: {item}")
    unique: dict[Path, Path] = {}
    for file in files:
        unique.setdefault(file.resolve(), file)
    return list(unique.values())


def _decode_file(file: Path, raw: bytes) -> _RuleFile:
    try:
        spec = msgspec.toml.decode(raw, type=_RuleFile)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise RulesError(f"{file.name}: {exc}") from exc
    if not spec.version.strip():
        raise RulesError(f"{file.name}: version is empty")
    return spec


def _build_rule(file_name: str, spec: _RuleSpec) -> Rule:
    where = f"{file_name}: rule {spec.id!r}"
    try:
        rule = Rule(
            id=_check_pattern(spec.id, _ID_RE, "id"),
            family=_check_pattern(spec.family, _CODE_RE, "family"),
            title=_check_text(spec.title, "title"),
            categories=_check_codes(spec.categories, "categories"),
            min_tenths=_positive_hours(spec.min_hours, "min_hours"),
            period=spec.period,
            cycles=_check_cycles(spec),
            positions=_check_positions(spec.positions),
            region=_check_rule_region(spec.region),
            effective_from=spec.effective_from,
            effective_until=_check_until(spec),
            online_cap_tenths=_optional_hours(spec.online_cap_hours, "online_cap_hours"),
            online_cap_percent=_check_percent(spec.online_cap_percent),
            source_title=_check_text(spec.source_title, "source_title"),
            source_issuer=spec.source_issuer,
            source_number=spec.source_number,
            source_note=spec.source_note,
        )
    except RulesError as exc:
        raise RulesError(f"{where}: {exc}") from exc
    return rule


def _check_pattern(value: str, pattern: re.Pattern[str], field: str) -> str:
    if not pattern.fullmatch(value):
        raise RulesError(f"{field} {value!r} must match {pattern.pattern}")
    return value


def _check_text(value: str, field: str) -> str:
    if not value.strip():
        raise RulesError(f"{field} is empty")
    return value


def _check_codes(values: list[str], field: str) -> tuple[str, ...]:
    if not values:
        raise RulesError(f"{field} is empty")
    if len(set(values)) != len(values):
        raise RulesError(f"{field} has duplicates: {values}")
    return tuple(_check_pattern(value, _CODE_RE, field) for value in values)


def _positive_hours(value: int | float | str, field: str) -> int:
    tenths = _hours_field(value, field)
    if tenths == 0:
        raise RulesError(f"{field} must be more than 0")
    return tenths


def _optional_hours(value: int | float | str | None, field: str) -> int | None:
    return None if value is None else _hours_field(value, field)


def _hours_field(value: int | float | str, field: str) -> int:
    try:
        return parse_hours(value)
    except HoursError as exc:
        raise RulesError(f"{field}: {exc}") from exc


def _check_percent(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= 100:
        raise RulesError(f"online_cap_percent must be within 0..100, got {value}")
    return value


def _check_positions(value: Literal["all"] | list[str]) -> Literal["all"] | tuple[str, ...]:
    if value == ALL_POSITIONS:
        return ALL_POSITIONS
    return _check_codes(list(value), "positions")


def _check_rule_region(value: str) -> str:
    try:
        return canonical_region(value)
    except RulesError as exc:
        raise RulesError(f"region: {exc}") from exc


def _check_until(spec: _RuleSpec) -> date | None:
    until = spec.effective_until
    if until is not None and until < spec.effective_from:
        raise RulesError(
            f"effective_until {until.isoformat()} is before "
            f"effective_from {spec.effective_from.isoformat()}"
        )
    return until


def _check_cycles(spec: _RuleSpec) -> tuple[Cycle, ...]:
    if spec.period == "calendar_year":
        if spec.cycles:
            raise RulesError("a calendar_year rule takes no cycles")
        return ()
    if not spec.cycles:
        raise RulesError("a cycle rule needs at least one cycle")
    cycles: list[Cycle] = []
    for cycle in sorted(spec.cycles, key=lambda item: item.start_year):
        if not MIN_YEAR <= cycle.start_year <= cycle.end_year <= MAX_YEAR:
            raise RulesError(f"cycle {cycle.start_year}..{cycle.end_year} is not a year range")
        if cycles and cycle.start_year <= cycles[-1].end_year:
            raise RulesError(f"cycles {cycles[-1].label} and {cycle.start_year} overlap")
        label = cycle.label or f"{cycle.start_year}{EN_DASH}{cycle.end_year}"
        cycles.append(msgspec.structs.replace(cycle, label=label))
    _check_cycles_cover(spec, cycles)
    return tuple(cycles)


def _check_cycles_cover(spec: _RuleSpec, cycles: list[Cycle]) -> None:
    if spec.effective_until is None:
        raise RulesError("a cycle rule needs effective_until (no later than its last cycle)")
    for year in range(spec.effective_from.year, spec.effective_until.year + 1):
        if not any(cycle.start_year <= year <= cycle.end_year for cycle in cycles):
            raise RulesError(f"no cycle contains {year}, a year the rule is in force")


def _check_unique_ids(rules: list[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RulesError(f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)


def _check_versions_disjoint(rules: list[Rule]) -> None:
    groups: dict[tuple[str, str], list[Rule]] = {}
    for rule in rules:
        groups.setdefault((rule.family, rule.region), []).append(rule)
    for (family, region), versions in groups.items():
        versions.sort(key=lambda rule: rule.effective_from)
        for before, after in itertools.pairwise(versions):
            if before.effective_until is None or before.effective_until >= after.effective_from:
                raise RulesError(
                    f"rules {before.id!r} and {after.id!r} (family {family!r}, region "
                    f"{region or 'national'!r}) have overlapping effective ranges"
                )


# --------------------------------------------------------------------------- selection


def canonical_region(code: str) -> str:
    """The shortest GB/T 2260 prefix naming the same area.

    ``"320100"`` and ``"3201"`` give ``"3201"``; ``"320000"`` gives ``"32"``; ``""`` is national.

    Raises:
        RulesError: Not 0, 2, 4 or 6 digits, or a province part of ``00``.
    """
    if not _REGION_RE.fullmatch(code):
        raise RulesError(f"region code {code!r} must be 2, 4 or 6 digits")
    if code[:2] == "00":
        raise RulesError(f"region code {code!r} has no province")
    while code.endswith("00"):
        code = code[:-2]
    return code


def rules_in_force(
    ruleset: RuleSet,
    region_code: str,
    positions: Collection[str] | None,
    on_date: date,
) -> list[Rule]:
    """The rules that bind a practitioner on a date.

    Per family, the in-force rule with the most specific region covering ``region_code``
    wins; then rules for none of ``positions`` are dropped.

    Args:
        ruleset: The loaded rules.
        region_code: The practitioner's GB/T 2260 code (2, 4 or 6 digits).
        positions: The practitioner's position codes; ``None`` keeps every position.
        on_date: The day that decides which versions are in force.

    Returns:
        The rules, in rule-set order.

    Raises:
        RulesError: ``region_code`` is malformed.
    """
    region = canonical_region(region_code)
    chosen: dict[str, Rule] = {}
    for rule in ruleset.rules:
        if not (rule.applies_to_region(region) and rule.in_force_on(on_date)):
            continue
        current = chosen.get(rule.family)
        if current is None or len(rule.region) > len(current.region):
            chosen[rule.family] = rule
    winners = {rule.id for rule in chosen.values() if rule.applies_to_positions(positions)}
    return [rule for rule in ruleset.rules if rule.id in winners]


def period_for(rule: Rule, year: int) -> tuple[date, date, str]:
    """The period of ``rule`` that contains ``year``.

    Returns:
        ``(first day, last day, label)``: the calendar year (``"2026"``) or the cycle
        containing it (``"2026\u20132030"``).

    Raises:
        RulesError: The rule's cycles do not contain ``year``, or ``year`` is out of range.
    """
    _check_year(year)
    if rule.period == "calendar_year":
        return date(year, 1, 1), date(year, 12, 31), str(year)
    for cycle in rule.cycles:
        if cycle.start_year <= year <= cycle.end_year:
            return date(cycle.start_year, 1, 1), date(cycle.end_year, 12, 31), cycle.label
    raise RulesError(f"rule {rule.id!r} has no cycle containing {year}")


def _check_year(year: int) -> None:
    if isinstance(year, bool) or not MIN_YEAR <= year <= MAX_YEAR:
        raise RulesError(f"year must be within {MIN_YEAR}..{MAX_YEAR}, got {year!r}")


# --------------------------------------------------------------------------- evaluation


def totals_from_records(records: Iterable[RecordHours]) -> dict[tuple[str, int, str], int]:
    """Aggregate records into the ``(category, year, mode) -> tenths`` form.

    Raises:
        RulesError: A record has negative hours or an unknown mode.
    """
    totals: dict[tuple[str, int, str], int] = {}
    for record in records:
        if record.hours_tenths < 0:
            raise RulesError(f"record hours must not be negative: {record.hours_tenths}")
        if record.mode not in MODES:
            raise RulesError(f"unknown delivery mode {record.mode!r}")
        key = (record.category, record.completed_on.year, record.mode)
        totals[key] = totals.get(key, 0) + record.hours_tenths
    return totals


def evaluate(
    ruleset: RuleSet,
    region_code: str,
    positions: Collection[str] | None,
    year: int,
    records: Iterable[RecordHours],
    *,
    on_date: date | None = None,
) -> list[RuleResult]:
    """Evaluate a practitioner's completed courses against the rules for ``year``.

    The rules used are those in force on 31 December of ``year``, or on ``on_date`` if given
    (see the module docstring). Records outside a rule's period or categories are ignored.

    Args:
        ruleset: The loaded rules.
        region_code: The practitioner's GB/T 2260 code.
        positions: The practitioner's position codes (``None``: ignore positions).
        year: The calendar year evaluated.
        records: The practitioner's completed courses (any years; the period picks).
        on_date: Overrides the day that decides which rule versions are in force.

    Returns:
        One result per applicable rule, in rule-set order.

    Raises:
        RulesError: Malformed region, year or records.
    """
    return evaluate_totals(
        ruleset, region_code, positions, year, totals_from_records(records), on_date=on_date
    )


def evaluate_totals(
    ruleset: RuleSet,
    region_code: str,
    positions: Collection[str] | None,
    year: int,
    totals: YearTotals | ModeTotals,
    *,
    on_date: date | None = None,
) -> list[RuleResult]:
    """Evaluate pre-aggregated hours, e.g. running totals kept per category and year.

    ``totals`` is keyed either by ``(category, year)`` or by ``(category, year, mode)``. A
    cycle rule sums the years of its cycle. Rules with an online cap need the mode-keyed form.

    Args:
        ruleset: The loaded rules.
        region_code: The practitioner's GB/T 2260 code.
        positions: The practitioner's position codes (``None``: ignore positions).
        year: The calendar year evaluated.
        totals: Hours in tenths.
        on_date: Overrides the day that decides which rule versions are in force.

    Returns:
        One result per applicable rule, in rule-set order.

    Raises:
        RulesError: Malformed region, year or totals, or year-only totals for a capped rule.
    """
    _check_year(year)
    buckets, has_modes = _buckets(totals)
    in_force = rules_in_force(ruleset, region_code, positions, on_date or date(year, 12, 31))
    results: list[RuleResult] = []
    for rule in in_force:
        if rule.period == "cycle" and not any(
            cycle.start_year <= year <= cycle.end_year for cycle in rule.cycles
        ):
            continue
        if rule.online_cap() is not None and not has_modes and buckets:
            raise RulesError(
                f"rule {rule.id!r} caps online hours: totals must be keyed by "
                "(category, year, mode)"
            )
        results.append(_evaluate_rule(rule, year, buckets))
    return results


_Bucket: TypeAlias = dict[str, int]
"""Tenths by mode (``in_person``, ``online``, or ``any`` for year-only totals)."""


def _buckets(totals: YearTotals | ModeTotals) -> tuple[dict[tuple[str, int], _Bucket], bool]:
    buckets: dict[tuple[str, int], _Bucket] = {}
    sizes: set[int] = set()
    for key, tenths in totals.items():
        sizes.add(len(key))
        category, year, mode = _split_key(key)
        if isinstance(tenths, bool) or not isinstance(tenths, int) or tenths < 0:
            raise RulesError(f"total for {key!r} must be a non-negative int, got {tenths!r}")
        bucket = buckets.setdefault((category, year), {})
        bucket[mode] = bucket.get(mode, 0) + tenths
    if len(sizes) > 1:
        raise RulesError("totals mix (category, year) and (category, year, mode) keys")
    return buckets, sizes == {3}


def _split_key(key: tuple[str, int] | tuple[str, int, str]) -> tuple[str, int, str]:
    if len(key) == 2:
        return key[0], key[1], "any"
    if len(key) == 3 and key[2] in MODES:
        return key[0], key[1], key[2]
    raise RulesError(f"totals key {key!r} is not (category, year) or (category, year, mode)")


def _evaluate_rule(rule: Rule, year: int, buckets: Mapping[tuple[str, int], _Bucket]) -> RuleResult:
    start, end, label = period_for(rule, year)
    counted = {"in_person": 0, "online": 0, "any": 0}
    for period_year in range(start.year, end.year + 1):
        for category in rule.categories:
            for mode, tenths in buckets.get((category, period_year), {}).items():
                counted[mode] += tenths
    online = counted["online"]
    cap = rule.online_cap()
    online_counted = online if cap is None else min(online, cap)
    earned = counted["in_person"] + counted["any"] + online_counted
    return RuleResult(
        rule_id=rule.id,
        family=rule.family,
        title=rule.title,
        period_label=label,
        period_start=start,
        period_end=end,
        required_tenths=rule.min_tenths,
        earned_tenths=earned,
        met=earned >= rule.min_tenths,
        online_excluded_tenths=online - online_counted,
    )
