"""ruleindex.RuleIndex gives the engine's verdicts (the import's fast rule evaluation)."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from workforce.rules.engine import load_ruleset
from workforce.training.aggregates import evaluate
from workforce.training.ruleindex import RuleIndex, Subject

RULESET = load_ruleset()
CATEGORIES = sorted({c for rule in RULESET.rules for c in rule.categories} | {"other"})
REGIONS = ["320102", "320505", "110101", "440103", "000000", "999999", "1"]
POSITIONS = [(), ("caregiver",), ("director",), ("caregiver", "director"), ("cook",)]

totals_strategy = st.dictionaries(
    st.tuples(
        st.sampled_from(CATEGORIES),
        st.integers(2018, 2032),
        st.sampled_from(["in_person", "online"]),
    ),
    st.integers(0, 2_000),
    max_size=12,
)


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(REGIONS),
    st.sampled_from(POSITIONS),
    st.integers(2018, 2032),
    totals_strategy,
)
def test_rule_index_agrees_with_the_engine(
    region: str, positions: tuple[str, ...], year: int, totals: dict[tuple[str, int, str], int]
) -> None:
    subject = Subject(uuid.uuid4(), region, positions)
    expected = {
        (r.rule_id, r.period_label): r.met for r in evaluate(RULESET, subject, year, totals)
    }
    index = RuleIndex(RULESET)
    assert index.met(subject, year, totals) == expected
    assert index.met(subject, year, totals) == expected  # cached bindings, same verdicts


def test_rule_index_refuses_what_the_engine_refuses() -> None:
    subject = Subject(uuid.uuid4(), "320102", ("caregiver",))
    bad = {("skills", 2025, "in_person"): -5}
    assert (
        RuleIndex(RULESET).met(subject, 2025, bad)
        == {}
        == {(r.rule_id, r.period_label): r.met for r in evaluate(RULESET, subject, 2025, bad)}
    )


CAPPED = """
version = "test"
description = "online caps"

[[rules]]
id = "cap-national"
family = "capped"
title = "全国测试规则"
categories = ["skills", "ethics"]
min_hours = 20
period = "calendar_year"
positions = "all"
region = ""
effective_from = 2020-01-01
online_cap_percent = 50
source_title = "测试"

[[rules]]
id = "cap-nanjing"
family = "capped"
title = "南京测试规则"
categories = ["ethics"]
min_hours = 10
period = "cycle"
cycles = [{start_year = 2021, end_year = 2025}]
positions = ["director"]
region = "3201"
effective_from = 2021-01-01
effective_until = 2025-12-31
online_cap_hours = 3
source_title = "测试"
"""


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(REGIONS),
    st.sampled_from(POSITIONS),
    st.integers(2018, 2032),
    totals_strategy,
)
def test_rule_index_agrees_with_the_engine_on_online_caps_and_cycles(
    region: str,
    positions: tuple[str, ...],
    year: int,
    totals: dict[tuple[str, int, str], int],
) -> None:
    ruleset = _capped()
    subject = Subject(uuid.uuid4(), region, positions)
    expected = {
        (r.rule_id, r.period_label): r.met for r in evaluate(ruleset, subject, year, totals)
    }
    assert RuleIndex(ruleset).met(subject, year, totals) == expected


_CAPPED_CACHE: list[object] = []


def _capped():  # type: ignore[no-untyped-def]
    if not _CAPPED_CACHE:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "capped.toml"
            path.write_text(CAPPED, encoding="utf-8")
            _CAPPED_CACHE.append(load_ruleset([path]))
    return _CAPPED_CACHE[0]
