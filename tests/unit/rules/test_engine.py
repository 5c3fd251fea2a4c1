"""The training-hour rules engine: hours arithmetic, loading, selection and evaluation."""

from __future__ import annotations

import math
import textwrap
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workforce.rules import (
    DEFAULT_RULES_DIR,
    HoursError,
    RecordHours,
    RuleResult,
    RulesError,
    RuleSet,
    canonical_region,
    evaluate,
    evaluate_totals,
    format_hours,
    hours_to_decimal,
    hours_to_float,
    load_ruleset,
    parse_hours,
    period_for,
    rules_in_force,
    totals_from_records,
)
from workforce.rules.engine import EN_DASH

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

NANJING = "320102"  # 玄武区
SUZHOU = "320505"  # 虎丘区
BEIJING = "110101"  # 东城区


@pytest.fixture(scope="module")
def default() -> RuleSet:
    return load_ruleset()


def rec(category: str, day: date, hours: str, mode: str = "in_person") -> RecordHours:
    return RecordHours(
        category=category,
        completed_on=day,
        hours_tenths=parse_hours(hours),
        mode=mode,  # type: ignore[arg-type]
    )


def by_family(results: Iterable[RuleResult]) -> dict[str, RuleResult]:
    return {result.family: result for result in results}


def rule_entry(
    rule_id: str,
    *,
    family: str = "yearly_skills",
    region: str = "3201",
    min_hours: str = "72",
    effective_from: str = "2021-01-01",
    effective_until: str | None = None,
    extra: str = "",
    categories: str = '["skills"]',
    positions: str = '"all"',
    period: str = 'period = "calendar_year"',
) -> str:
    until = f"effective_until = {effective_until}\n" if effective_until else ""
    return (
        textwrap.dedent(
            f"""
            [[rules]]
            id = "{rule_id}"
            family = "{family}"
            title = "测试规则 {rule_id}"
            categories = {categories}
            min_hours = {min_hours}
            {period}
            positions = {positions}
            region = "{region}"
            effective_from = {effective_from}
            source_title = "测试文件"
            """
        )
        + until
        + extra
    )


def write_rules(directory: Path, name: str, *entries: str, version: str = "t1") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f'version = "{version}"\n' + "".join(entries), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- hours


@pytest.mark.parametrize(
    ("value", "tenths"),
    [
        ("0", 0),
        ("2", 20),
        ("2.5", 25),
        (" 72.0 ", 720),
        ("119.9", 1199),
        ("99999.9", 999_999),
        (72, 720),
        (2.5, 25),
        (0.1, 1),
        (Decimal("2.5"), 25),
        (Decimal("2.50"), 25),
    ],
)
def test_parse_hours_accepts(value: str | int | float | Decimal, tenths: int) -> None:
    assert parse_hours(value) == tenths


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2.55", "at most one decimal"),
        ("2.50", "at most one decimal"),
        ("-1", "negative"),
        ("-0.5", "negative"),
        ("NaN", "finite"),
        ("nan", "finite"),
        ("inf", "finite"),
        ("-inf", "negative"),
        ("", "empty"),
        ("   ", "empty"),
        ("abc", "look like"),
        ("1e3", "look like"),
        ("+1", "look like"),
        (".5", "look like"),
        ("5.", "look like"),
        ("1,5", "look like"),
        ("\uff11\uff12", "look like"),  # full-width digits
        ("100000", "exceed"),
        (math.nan, "finite"),
        (math.inf, "finite"),
        (-1, "negative"),
        (-0.1, "negative"),
        (2.55, "at most one decimal"),
        (1e16, "exceed"),
        (Decimal("NaN"), "finite"),
        (Decimal("-2"), "negative"),
        (Decimal("0.05"), "at most one decimal"),
        (True, "boolean"),
    ],
)
def test_parse_hours_rejects(value: object, message: str) -> None:
    with pytest.raises(HoursError, match=message):
        parse_hours(value)  # type: ignore[arg-type]


def test_parse_hours_rejects_non_numbers() -> None:
    with pytest.raises(HoursError, match="not NoneType"):
        parse_hours(None)  # type: ignore[arg-type]
    assert issubclass(HoursError, RulesError)
    assert issubclass(RulesError, ValueError)


def test_format_and_convert_hours() -> None:
    assert format_hours(25) == "2.5"
    assert format_hours(720) == "72.0"
    assert format_hours(0) == "0.0"
    assert format_hours(-5) == "-0.5"
    assert hours_to_float(25) == 2.5
    assert repr(hours_to_float(3)) == "0.3"
    assert hours_to_decimal(720) == Decimal("72.0")
    assert str(hours_to_decimal(1199)) == "119.9"


@given(st.integers(min_value=0, max_value=999_999))
def test_hours_round_trip(tenths: int) -> None:
    assert parse_hours(format_hours(tenths)) == tenths
    assert parse_hours(hours_to_float(tenths)) == tenths
    assert parse_hours(hours_to_decimal(tenths)) == tenths


def test_sums_are_exact(default: RuleSet) -> None:
    assert sum(parse_hours("0.1") for _ in range(720)) == parse_hours("72.0")
    records = [rec("skills", date(2026, 3, 1), "0.1")] * 720
    skills = by_family(evaluate(default, NANJING, ["caregiver"], 2026, records))["yearly_skills"]
    assert skills.earned_tenths == 720
    assert skills.met


# --------------------------------------------------------------------------- defaults


def test_default_ruleset_loads(default: RuleSet) -> None:
    assert default.version == "2026.1"
    assert len(default.digest) == 64
    assert {rule.family for rule in default.rules} == {
        "yearly_skills",
        "yearly_ethics",
        "director_round",
        "caregiver_round",
    }
    skills = default.rule("nj-yearly-skills-2021")
    assert (skills.region, skills.min_tenths, skills.positions) == ("3201", 720, "all")
    round_ = default.rule("js-caregiver-round-2026-2030")
    assert (round_.region, round_.min_tenths, round_.positions) == ("32", 1200, ("caregiver",))
    assert default.rule("js-director-round-2021-2025").min_tenths == 600
    for rule in default.rules:
        assert rule.source_title
        assert rule.source_note  # each default rule says what is known of its source
        assert rule.source_number is None  # no unverified document number
    with pytest.raises(RulesError, match="unknown rule id"):
        default.rule("nope")


def test_loading_the_directory_equals_the_default(default: RuleSet) -> None:
    assert load_ruleset(DEFAULT_RULES_DIR) == default
    assert load_ruleset([DEFAULT_RULES_DIR, DEFAULT_RULES_DIR / "default.toml"]) == default


# --------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize(("hours", "met"), [("71.9", False), ("72.0", True), ("72", True)])
def test_yearly_skills_boundary(default: RuleSet, hours: str, met: bool) -> None:
    records = [rec("skills", date(2026, 6, 1), hours)]
    result = by_family(evaluate(default, NANJING, ["caregiver"], 2026, records))["yearly_skills"]
    assert result.met is met
    assert result.required_tenths == 720
    assert result.earned_tenths == parse_hours(hours)
    assert result.shortfall_tenths == (0 if met else 1)


def test_yearly_ethics_boundary(default: RuleSet) -> None:
    short = [rec("ethics", date(2026, 6, 1), "39.9")]
    enough = [*short, rec("ethics", date(2026, 7, 1), "0.1")]
    assert not by_family(evaluate(default, NANJING, [], 2026, short))["yearly_ethics"].met
    assert by_family(evaluate(default, NANJING, [], 2026, enough))["yearly_ethics"].met


def test_year_ends_split_records(default: RuleSet) -> None:
    records = [
        rec("skills", date(2025, 12, 31), "72"),
        rec("skills", date(2026, 1, 1), "10"),
    ]
    y2025 = by_family(evaluate(default, NANJING, [], 2025, records))["yearly_skills"]
    y2026 = by_family(evaluate(default, NANJING, [], 2026, records))["yearly_skills"]
    assert (y2025.period_label, y2025.earned_tenths, y2025.met) == ("2025", 720, True)
    assert (y2026.period_label, y2026.earned_tenths, y2026.met) == ("2026", 100, False)
    assert (y2026.period_start, y2026.period_end) == (date(2026, 1, 1), date(2026, 12, 31))


def test_other_categories_do_not_count(default: RuleSet) -> None:
    records = [rec("ethics", date(2026, 6, 1), "72"), rec("caregiver_round", date(2026, 6, 1), "9")]
    result = by_family(evaluate(default, NANJING, [], 2026, records))["yearly_skills"]
    assert result.earned_tenths == 0


def test_cycle_ends_split_cycles(default: RuleSet) -> None:
    records = [
        rec("caregiver_round", date(2025, 12, 31), "120"),
        rec("caregiver_round", date(2026, 1, 1), "119.9"),
    ]
    old = by_family(evaluate(default, SUZHOU, ["caregiver"], 2023, records))["caregiver_round"]
    new = by_family(evaluate(default, SUZHOU, ["caregiver"], 2026, records))["caregiver_round"]
    assert (old.rule_id, old.period_label) == ("js-caregiver-round-2021-2025", f"2021{EN_DASH}2025")
    assert (old.period_start, old.period_end) == (date(2021, 1, 1), date(2025, 12, 31))
    assert (old.earned_tenths, old.met) == (1200, True)
    assert (new.rule_id, new.period_label) == ("js-caregiver-round-2026-2030", f"2026{EN_DASH}2030")
    assert (new.earned_tenths, new.met) == (1199, False)


def test_cycle_sums_its_years(default: RuleSet) -> None:
    records = [
        rec("director_round", date(2026, 5, 1), "30"),
        rec("director_round", date(2028, 5, 1), "30"),
        rec("director_round", date(2031, 1, 1), "99"),
    ]
    for year in (2026, 2027, 2030):
        result = by_family(evaluate(default, NANJING, ["director"], year, records))
        assert result["director_round"].earned_tenths == 600
        assert result["director_round"].met


def test_period_for(default: RuleSet) -> None:
    skills = default.rule("nj-yearly-skills-2021")
    assert period_for(skills, 2024) == (date(2024, 1, 1), date(2024, 12, 31), "2024")
    round_ = default.rule("js-caregiver-round-2021-2025")
    assert period_for(round_, 2021) == (date(2021, 1, 1), date(2025, 12, 31), f"2021{EN_DASH}2025")
    assert period_for(round_, 2025)[2] == f"2021{EN_DASH}2025"
    with pytest.raises(RulesError, match="no cycle containing 2026"):
        period_for(round_, 2026)
    with pytest.raises(RulesError, match="year must be within"):
        period_for(skills, 10_000)


# --------------------------------------------------------------------------- regions


@pytest.mark.parametrize(
    ("code", "canonical"),
    [("320102", "320102"), ("320100", "3201"), ("3201", "3201"), ("320000", "32"), ("", "")],
)
def test_canonical_region(code: str, canonical: str) -> None:
    assert canonical_region(code) == canonical


@pytest.mark.parametrize("code", ["3", "32010", "3201021", "32a102", "001234", "\uff13\uff12"])
def test_canonical_region_rejects(code: str) -> None:
    with pytest.raises(RulesError, match="region code"):
        canonical_region(code)


@pytest.fixture
def layered(tmp_path: Path) -> RuleSet:
    """Defaults plus a national and a Jiangsu version of yearly_skills and a national round."""
    extra = tmp_path / "extra"
    write_rules(
        extra,
        "national.toml",
        rule_entry("cn-yearly-skills", region="", min_hours="24"),
        rule_entry(
            "cn-caregiver-round",
            family="caregiver_round",
            region="",
            min_hours="90",
            categories='["caregiver_round"]',
            positions='["caregiver"]',
            effective_until="2030-12-31",
            period='period = "cycle"\ncycles = [{ start_year = 2021, end_year = 2030 }]',
        ),
        version="cn-1",
    )
    write_rules(extra, "jiangsu.toml", rule_entry("js-yearly-skills", region="32", min_hours="48"))
    return load_ruleset([DEFAULT_RULES_DIR, extra])


@pytest.mark.parametrize(
    ("region", "rule_id", "required"),
    [
        (NANJING, "nj-yearly-skills-2021", 720),
        ("320100", "nj-yearly-skills-2021", 720),
        (SUZHOU, "js-yearly-skills", 480),
        ("320000", "js-yearly-skills", 480),
        (BEIJING, "cn-yearly-skills", 240),
    ],
)
def test_most_specific_region_wins(
    layered: RuleSet, region: str, rule_id: str, required: int
) -> None:
    results = by_family(evaluate(layered, region, ["caregiver"], 2026, []))
    assert results["yearly_skills"].rule_id == rule_id
    assert results["yearly_skills"].required_tenths == required


def test_region_override_per_family(layered: RuleSet) -> None:
    suzhou = by_family(evaluate(layered, SUZHOU, ["caregiver"], 2026, []))
    assert suzhou["caregiver_round"].rule_id == "js-caregiver-round-2026-2030"
    assert "yearly_ethics" not in suzhou  # Nanjing's ethics rule stays in Nanjing
    beijing = by_family(evaluate(layered, BEIJING, ["caregiver"], 2026, []))
    assert beijing["caregiver_round"].rule_id == "cn-caregiver-round"
    assert beijing["caregiver_round"].period_label == f"2021{EN_DASH}2030"
    assert layered.version == "2026.1+t1+cn-1"


def test_suzhou_gets_jiangsu_rounds_only(default: RuleSet) -> None:
    results = evaluate(default, SUZHOU, ["caregiver", "director"], 2026, [])
    assert [result.rule_id for result in results] == [
        "js-director-round-2026-2030",
        "js-caregiver-round-2026-2030",
    ]
    assert evaluate(default, BEIJING, ["caregiver"], 2026, []) == []


def test_malformed_region_is_refused(default: RuleSet) -> None:
    with pytest.raises(RulesError, match="region code"):
        evaluate(default, "32-01", ["caregiver"], 2026, [])


# --------------------------------------------------------------------------- positions


def test_directors_do_not_get_the_caregiver_round(default: RuleSet) -> None:
    director = by_family(evaluate(default, NANJING, ["director"], 2026, []))
    assert set(director) == {"yearly_skills", "yearly_ethics", "director_round"}
    caregiver = by_family(evaluate(default, NANJING, ["caregiver"], 2026, []))
    assert set(caregiver) == {"yearly_skills", "yearly_ethics", "caregiver_round"}
    both = by_family(evaluate(default, NANJING, ["director", "caregiver"], 2026, []))
    assert set(both) == {"yearly_skills", "yearly_ethics", "director_round", "caregiver_round"}
    cook = by_family(evaluate(default, NANJING, ["cook"], 2026, []))
    assert set(cook) == {"yearly_skills", "yearly_ethics"}
    nobody = by_family(evaluate(default, NANJING, None, 2026, []))
    assert set(nobody) == set(both)


def test_region_is_chosen_before_positions(tmp_path: Path) -> None:
    ruleset = load_ruleset(
        write_rules(
            tmp_path,
            "rules.toml",
            rule_entry("js-skills", region="32", positions='["caregiver"]'),
            rule_entry("nj-skills", region="3201", positions='["director"]'),
        )
    )
    # Nanjing replaced the family; its version does not cover caregivers.
    assert rules_in_force(ruleset, NANJING, ["caregiver"], date(2026, 1, 1)) == []
    assert [
        rule.id for rule in rules_in_force(ruleset, SUZHOU, ["caregiver"], date(2026, 1, 1))
    ] == ["js-skills"]


# --------------------------------------------------------------------------- effective dates


@pytest.fixture
def versioned(tmp_path: Path) -> RuleSet:
    return load_ruleset(
        write_rules(
            tmp_path,
            "rules.toml",
            rule_entry("skills-v1", min_hours="72", effective_until="2026-12-31"),
            rule_entry("skills-v2", min_hours="80", effective_from="2027-01-01"),
            rule_entry("ethics-mid", family="yearly_ethics", effective_from="2026-07-01"),
        )
    )


def test_a_later_version_does_not_apply_earlier(versioned: RuleSet) -> None:
    y2026 = by_family(evaluate(versioned, NANJING, [], 2026, []))
    y2027 = by_family(evaluate(versioned, NANJING, [], 2027, []))
    assert (y2026["yearly_skills"].rule_id, y2026["yearly_skills"].required_tenths) == (
        "skills-v1",
        720,
    )
    assert (y2027["yearly_skills"].rule_id, y2027["yearly_skills"].required_tenths) == (
        "skills-v2",
        800,
    )


def test_the_end_of_the_year_decides_unless_on_date(versioned: RuleSet) -> None:
    y2026 = by_family(evaluate(versioned, NANJING, [], 2026, []))
    assert "yearly_ethics" in y2026  # in force from 2026-07-01, so on 2026-12-31
    early = by_family(evaluate(versioned, NANJING, [], 2026, [], on_date=date(2026, 6, 30)))
    assert "yearly_ethics" not in early
    later = by_family(evaluate(versioned, NANJING, [], 2026, [], on_date=date(2027, 1, 1)))
    assert later["yearly_skills"].rule_id == "skills-v2"
    assert later["yearly_skills"].period_label == "2026"


def test_on_date_outside_a_cycle_leaves_the_rule_out(default: RuleSet) -> None:
    results = evaluate(default, SUZHOU, ["caregiver"], 2025, [], on_date=date(2026, 6, 1))
    assert results == []  # the 2026-2030 version has no period containing 2025


def test_rules_in_force_on_dates(default: RuleSet) -> None:
    def ids(day: date) -> list[str]:
        return [rule.id for rule in rules_in_force(default, NANJING, ["caregiver"], day)]

    assert ids(date(2020, 12, 31)) == []
    assert ids(date(2025, 12, 31)) == [
        "nj-yearly-skills-2021",
        "nj-yearly-ethics-2021",
        "js-caregiver-round-2021-2025",
    ]
    assert ids(date(2026, 1, 1))[-1] == "js-caregiver-round-2026-2030"
    assert ids(date(2031, 1, 1)) == ["nj-yearly-skills-2021", "nj-yearly-ethics-2021"]


# --------------------------------------------------------------------------- online caps


@pytest.fixture
def capped(tmp_path: Path) -> RuleSet:
    return load_ruleset(
        write_rules(
            tmp_path,
            "rules.toml",
            rule_entry("skills-hours-cap", extra="online_cap_hours = 24\n"),
            rule_entry(
                "ethics-percent-cap",
                family="yearly_ethics",
                categories='["ethics"]',
                min_hours="40",
                extra="online_cap_percent = 25\n",
            ),
            rule_entry(
                "round-both-caps",
                family="caregiver_round",
                categories='["caregiver_round"]',
                min_hours="120",
                extra="online_cap_hours = 40\nonline_cap_percent = 25\n",
            ),
        )
    )


def test_online_hours_cap(capped: RuleSet) -> None:
    day = date(2026, 3, 1)
    records = [rec("skills", day, "50"), rec("skills", day, "30", "online")]
    result = by_family(evaluate(capped, NANJING, [], 2026, records))["yearly_skills"]
    assert (result.earned_tenths, result.online_excluded_tenths, result.met) == (740, 60, True)
    short = [rec("skills", day, "47.9"), rec("skills", day, "30", "online")]
    result = by_family(evaluate(capped, NANJING, [], 2026, short))["yearly_skills"]
    assert (result.earned_tenths, result.met) == (719, False)


def test_online_percent_cap(capped: RuleSet) -> None:
    day = date(2026, 3, 1)
    records = [rec("ethics", day, "30"), rec("ethics", day, "10.1", "online")]
    result = by_family(evaluate(capped, NANJING, [], 2026, records))["yearly_ethics"]
    assert (result.earned_tenths, result.online_excluded_tenths, result.met) == (400, 1, True)
    only_online = [rec("ethics", day, "40", "online")]
    result = by_family(evaluate(capped, NANJING, [], 2026, only_online))["yearly_ethics"]
    assert (result.earned_tenths, result.met) == (100, False)


def test_the_smaller_cap_applies(capped: RuleSet) -> None:
    assert capped.rule("round-both-caps").online_cap() == 300  # 25% of 120 < 40
    assert capped.rule("skills-hours-cap").online_cap() == 240
    assert capped.rule("ethics-percent-cap").online_cap() == 100


def test_online_caps_in_totals_form(capped: RuleSet) -> None:
    totals = {("skills", 2026, "in_person"): 500, ("skills", 2026, "online"): 300}
    result = by_family(evaluate_totals(capped, NANJING, [], 2026, totals))["yearly_skills"]
    assert (result.earned_tenths, result.online_excluded_tenths) == (740, 60)
    with pytest.raises(RulesError, match="caps online hours"):
        evaluate_totals(capped, NANJING, [], 2026, {("skills", 2026): 800})


def test_uncapped_rules_count_online_in_full(default: RuleSet) -> None:
    records = [rec("skills", date(2026, 3, 1), "72", "online")]
    assert by_family(evaluate(default, NANJING, [], 2026, records))["yearly_skills"].met


# --------------------------------------------------------------------------- totals form


def test_totals_form_sums_the_cycle(default: RuleSet) -> None:
    totals = {
        ("caregiver_round", 2025): 1000,
        ("caregiver_round", 2026): 600,
        ("caregiver_round", 2030): 599,
        ("caregiver_round", 2031): 5000,
        ("skills", 2026): 720,
    }
    results = by_family(evaluate_totals(default, NANJING, ["caregiver"], 2027, totals))
    assert results["caregiver_round"].earned_tenths == 1199
    assert not results["caregiver_round"].met
    assert results["yearly_skills"].earned_tenths == 0  # 2027 has no skills hours


@pytest.mark.parametrize(
    ("totals", "message"),
    [
        ({("skills", 2026): -1}, "non-negative int"),
        ({("skills", 2026): 1.5}, "non-negative int"),
        ({("skills", 2026): True}, "non-negative int"),
        ({("skills", 2026, "video"): 1}, "is not"),
        ({("skills",): 1}, "is not"),
        ({("skills", 2026): 1, ("ethics", 2026, "online"): 1}, "mix"),
    ],
)
def test_totals_are_validated(default: RuleSet, totals: object, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        evaluate_totals(default, NANJING, [], 2026, totals)  # type: ignore[arg-type]


def test_records_are_validated(default: RuleSet) -> None:
    bad = RecordHours(category="skills", completed_on=date(2026, 1, 1), hours_tenths=-1)
    with pytest.raises(RulesError, match="negative"):
        evaluate(default, NANJING, [], 2026, [bad])
    with pytest.raises(RulesError, match="year must be within"):
        evaluate(default, NANJING, [], 1800, [])


def test_totals_from_records() -> None:
    day = date(2026, 2, 1)
    records = [
        rec("skills", day, "1.5"),
        rec("skills", day, "2.5"),
        rec("skills", day, "1", "online"),
    ]
    assert totals_from_records(records) == {
        ("skills", 2026, "in_person"): 40,
        ("skills", 2026, "online"): 10,
    }


record_strategy = st.builds(
    RecordHours,
    category=st.sampled_from(["skills", "ethics", "director_round", "caregiver_round", "other"]),
    completed_on=st.dates(min_value=date(2020, 1, 1), max_value=date(2032, 12, 31)),
    hours_tenths=st.integers(min_value=0, max_value=1000),
    mode=st.sampled_from(["in_person", "online"]),
)


@given(
    records=st.lists(record_strategy, max_size=40),
    year=st.integers(min_value=2021, max_value=2030),
    region=st.sampled_from([NANJING, SUZHOU, BEIJING]),
    positions=st.sampled_from([[], ["caregiver"], ["director"], None]),
)
def test_records_and_year_totals_agree(
    records: list[RecordHours],
    year: int,
    region: str,
    positions: list[str] | None,
) -> None:
    ruleset = load_ruleset()  # no caps: year-only totals are enough
    totals: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.category, record.completed_on.year)
        totals[key] = totals.get(key, 0) + record.hours_tenths
    assert evaluate(ruleset, region, positions, year, records) == evaluate_totals(
        ruleset, region, positions, year, totals
    )


# --------------------------------------------------------------------------- loading


def test_unknown_keys_are_rejected(tmp_path: Path) -> None:
    path = write_rules(tmp_path, "a.toml", rule_entry("a", extra="min_hour = 3\n"))
    with pytest.raises(RulesError, match=r"a.toml: Object contains unknown field `min_hour`"):
        load_ruleset(path)
    top = tmp_path / "b.toml"
    top.write_text('version = "1"\nauthor = "x"\n', encoding="utf-8")
    with pytest.raises(RulesError, match="unknown field `author`"):
        load_ruleset(top)


def test_duplicate_ids_are_rejected_across_files(tmp_path: Path) -> None:
    write_rules(tmp_path, "a.toml", rule_entry("same", region="32"))
    write_rules(tmp_path, "b.toml", rule_entry("same", region="3205"))
    with pytest.raises(RulesError, match="duplicate rule id 'same'"):
        load_ruleset(tmp_path)


@pytest.mark.parametrize(
    ("first_until", "second_from"),
    [(None, "2027-01-01"), ("2027-01-01", "2027-01-01"), ("2027-06-30", "2027-01-01")],
)
def test_overlapping_versions_are_rejected(
    tmp_path: Path, first_until: str | None, second_from: str
) -> None:
    path = write_rules(
        tmp_path,
        "a.toml",
        rule_entry("v1", effective_until=first_until),
        rule_entry("v2", effective_from=second_from),
    )
    with pytest.raises(RulesError, match=r"'v1' and 'v2'.*overlapping"):
        load_ruleset(path)


def test_an_extra_file_cannot_overlap_a_default_version(tmp_path: Path) -> None:
    write_rules(tmp_path, "nj.toml", rule_entry("nj-skills-2027", effective_from="2027-01-01"))
    with pytest.raises(RulesError, match="overlapping"):
        load_ruleset([DEFAULT_RULES_DIR, tmp_path])


def test_same_family_in_other_regions_may_overlap(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        "a.toml",
        rule_entry("nj", region="3201"),
        rule_entry("sz", region="320500"),
        rule_entry("js", region="32"),
    )
    assert [rule.region for rule in load_ruleset(path).rules] == ["3201", "3205", "32"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (rule_entry("x", min_hours='"72.05"'), "min_hours: hours have at most one decimal"),
        (rule_entry("x", min_hours="0"), "min_hours must be more than 0"),
        (rule_entry("x", min_hours="-1"), "negative"),
        (rule_entry("x", region="3"), "region: region code"),
        (rule_entry("X y"), "id 'X y' must match"),
        (rule_entry("x", family="Yearly"), "family 'Yearly' must match"),
        (rule_entry("x", categories="[]"), "categories is empty"),
        (rule_entry("x", categories='["skills", "skills"]'), "duplicates"),
        (rule_entry("x", positions="[]"), "positions is empty"),
        (rule_entry("x", positions='"everyone"'), r"positions"),
        (rule_entry("x", effective_until="2020-12-31"), "is before effective_from"),
        (rule_entry("x", extra="online_cap_percent = 101\n"), "within 0..100"),
        (rule_entry("x", extra='online_cap_hours = "2.25"\n'), "online_cap_hours"),
        (
            rule_entry("x", extra="cycles = [{ start_year = 2021, end_year = 2025 }]\n"),
            "calendar_year rule takes no cycles",
        ),
        (rule_entry("x", period='period = "cycle"'), "needs at least one cycle"),
        (
            rule_entry(
                "x",
                period='period = "cycle"\ncycles = [{ start_year = 2021, end_year = 2025 }]',
            ),
            "needs effective_until",
        ),
        (
            rule_entry(
                "x",
                effective_until="2026-12-31",
                period='period = "cycle"\ncycles = [{ start_year = 2021, end_year = 2025 }]',
            ),
            "no cycle contains 2026",
        ),
        (
            rule_entry(
                "x",
                effective_until="2030-12-31",
                period=(
                    'period = "cycle"\ncycles = [{ start_year = 2021, end_year = 2026 }, '
                    "{ start_year = 2026, end_year = 2030 }]"
                ),
            ),
            "overlap",
        ),
        (
            rule_entry(
                "x",
                effective_until="2025-12-31",
                period='period = "cycle"\ncycles = [{ start_year = 2025, end_year = 2021 }]',
            ),
            "not a year range",
        ),
        (rule_entry("x", period='period = "monthly"'), "period"),
    ],
)
def test_invalid_rules_are_rejected(tmp_path: Path, entry: str, message: str) -> None:
    path = write_rules(tmp_path, "bad.toml", entry)
    with pytest.raises(RulesError, match=message):
        load_ruleset(path)


def test_cycle_labels_default_and_can_be_named(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        "a.toml",
        rule_entry(
            "x",
            effective_until="2030-12-31",
            period=(
                'period = "cycle"\ncycles = [{ start_year = 2026, end_year = 2030, '
                'label = "十五五" }, { start_year = 2021, end_year = 2025 }]'
            ),
        ),
    )
    cycles = load_ruleset(path).rule("x").cycles
    assert [cycle.label for cycle in cycles] == [f"2021{EN_DASH}2025", "十五五"]


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="does not exist"):
        load_ruleset(tmp_path / "missing")
    with pytest.raises(RulesError, match="no rule files"):
        load_ruleset(tmp_path)  # an empty directory
    (tmp_path / "empty.toml").write_text('version = " "\n', encoding="utf-8")
    with pytest.raises(RulesError, match="version is empty"):
        load_ruleset(tmp_path)
    (tmp_path / "empty.toml").write_text("version = \n", encoding="utf-8")
    with pytest.raises(RulesError, match=r"empty.toml: "):
        load_ruleset(tmp_path)


def test_directories_load_in_name_order_and_the_digest_tracks_content(tmp_path: Path) -> None:
    write_rules(tmp_path, "b.toml", rule_entry("b", region="3205"), version="b1")
    write_rules(tmp_path, "a.toml", rule_entry("a", region="3201"), version="a1")
    first = load_ruleset(tmp_path)
    assert first.version == "a1+b1"
    assert [rule.id for rule in first.rules] == ["a", "b"]
    write_rules(tmp_path, "b.toml", rule_entry("b", region="3205", min_hours="73"), version="b1")
    second = load_ruleset(tmp_path)
    assert second.version == first.version
    assert second.digest != first.digest
