"""The pure grade evaluator and the versioned credit data."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from pathlib import Path

import pytest

from workforce.credit import grading
from workforce.credit.grading import GradeEvent

ON = date(2026, 6, 30)
TYPES = grading.default_event_types()
RULES = grading.default_grade_rules()
_ids = itertools.count(1)


def ev(
    type_: str,
    severity: int | str = 1,
    *,
    occurred_on: date = date(2026, 1, 15),
    status: grading.EventStatus = "recorded",
) -> GradeEvent:
    return GradeEvent(
        event_id=f"e{next(_ids):04d}",
        type=type_,
        severity=grading.severity_level(severity),
        occurred_on=occurred_on,
        status=status,
    )


def grade(*events: GradeEvent, banned: bool | None = None) -> grading.GradeResult:
    return grading.evaluate(events, RULES, TYPES, ON, banned=banned)


def test_packaged_data_is_consistent() -> None:
    grading.check_consistency(TYPES, RULES)
    codes = {t.code for t in TYPES.types}
    assert {
        "commendation",
        "skills_competition_award",
        "substantiated_complaint",
        "code_of_conduct_violation",
        "failed_inspection",
        "passed_inspection",
        "falsified_training_record",
        "administrative_penalty",
    } <= codes
    assert [b.grade for b in RULES.grades] == ["A", "B", "C", "D"]
    assert [b.label for b in RULES.grades] == ["守信", "基本守信", "警示（失信风险）", "失信"]
    assert RULES.band("D").joint_punishment
    assert not any(b.joint_punishment for b in RULES.grades[:-1])


def test_no_events_is_the_best_grade() -> None:
    result = grade()
    assert (result.grade, result.score, result.points) == ("A", 100, 0)
    assert result.joint_incentive and not result.joint_punishment
    assert result.decided_by == "score"
    assert result.explanation == ()


# Each threshold from both sides, with the packaged points (see grade_rules.toml).
BOUNDARIES = [
    ([("failed_inspection", "minor")], 95, "A"),
    ([("code_of_conduct_violation", "minor")], 94, "B"),
    ([("false_information", "serious")], 80, "B"),
    ([("substantiated_complaint", "grave"), ("code_of_conduct_violation", "minor")], 79, "C"),
    ([("false_information", "grave")], 60, "C"),
    (
        [
            ("failed_inspection", "grave"),
            ("substantiated_complaint", "serious"),
            ("administrative_penalty", "minor"),
        ],
        59,
        "D",
    ),
]


@pytest.mark.parametrize(("events", "score", "expected"), BOUNDARIES)
def test_grade_boundaries(events: list[tuple[str, str]], score: int, expected: str) -> None:
    result = grade(*(ev(t, s) for t, s in events))
    assert result.score == score
    assert result.grade == expected
    assert result.joint_punishment is (expected == "D")
    assert result.decided_by == "score"


def test_d_means_joint_punishment() -> None:
    result = grade(ev("false_information", "grave"), ev("substantiated_complaint", "grave"))
    assert result.score == 45
    assert result.grade == "D"
    assert result.label == "失信"
    assert result.joint_punishment is True
    assert result.joint_incentive is False


def test_contested_counts_overturned_withdrawn_corrected_do_not() -> None:
    contested = grade(ev("false_information", "serious", status="contested"))
    assert contested.score == 80
    upheld = grade(ev("false_information", "serious", status="upheld"))
    assert upheld.score == 80
    statuses: tuple[grading.EventStatus, ...] = ("overturned", "withdrawn", "corrected")
    for status in statuses:
        result = grade(ev("false_information", "serious", status=status))
        assert result.score == 100, status
        (item,) = result.explanation
        assert not item.counted
        assert item.why == status
        assert item.points == 0


def test_window_edges() -> None:
    start = grading.window_start(ON, RULES.window_months)
    assert start == date(2023, 7, 1)
    inside = grade(ev("false_information", "serious", occurred_on=start))
    assert inside.score == 80
    outside = grade(ev("false_information", "serious", occurred_on=start - timedelta(days=1)))
    assert outside.score == 100
    assert outside.explanation[0].why == "outside_window"
    later = grade(ev("false_information", "serious", occurred_on=ON + timedelta(days=1)))
    assert later.explanation[0].why == "after_evaluation_date"
    assert (inside.window_from, inside.window_to) == (start, ON)


def test_window_start_clamps_month_ends() -> None:
    assert grading.window_start(date(2024, 2, 29), 12) == date(2023, 3, 1)
    assert grading.window_start(date(2026, 3, 31), 1) == date(2026, 3, 1)
    assert grading.window_start(date(2026, 1, 15), 36) == date(2023, 1, 16)


def test_positive_points_are_capped() -> None:
    result = grade(
        *(ev("commendation", "grave") for _ in range(3)), ev("false_information", "grave")
    )
    assert result.positive_points_uncapped == 18
    assert result.positive_points == RULES.positive_cap == 10
    assert result.negative_points == 40
    assert result.score == 70
    assert result.points == -30
    assert result.grade == "C"


def test_ceiling_lowers_a_score_grade() -> None:
    # 100 - 30 + 10 = 80 would be B, but a serious falsified training record caps at C.
    result = grade(
        ev("falsified_training_record", "serious"),
        ev("commendation", "grave"),
        ev("skills_competition_award", "serious"),
    )
    assert result.score == 80
    assert result.grade == "C"
    assert result.decided_by == "ceiling"
    assert any(item.ceiling == "C" for item in result.explanation)


def test_grave_falsified_record_is_always_d() -> None:
    result = grade(ev("falsified_training_record", "grave"))
    assert result.score == 55
    assert result.grade == "D"
    assert result.joint_punishment


def test_ban_is_always_d() -> None:
    result = grade(ev("commendation", "grave"), banned=True)
    assert result.score == 106
    assert result.grade == "D"
    assert result.decided_by == "ledger_ban"
    assert result.joint_punishment is True
    assert result.banned is True
    assert grade(banned=False).grade == "A"


def test_explanation_names_rule_and_points_newest_first() -> None:
    older = ev("substantiated_complaint", "serious", occurred_on=date(2025, 1, 1))
    newer = ev("commendation", "minor", occurred_on=date(2026, 1, 1))
    result = grade(older, newer)
    assert [i.event_id for i in result.explanation] == [newer.event_id, older.event_id]
    complaint = result.explanation[1]
    assert complaint.rule == "points.substantiated_complaint.serious"
    assert complaint.points == -8
    assert complaint.type_name == "投诉属实"
    assert complaint.polarity == "negative"
    assert result.explanation[0].points == 2
    assert result.rules_version == RULES.version


@pytest.mark.parametrize(
    ("value", "level"), [(1, 1), (3, 3), ("minor", 1), ("serious", 2), ("grave", 3)]
)
def test_severity_level(value: int | str, level: int) -> None:
    assert grading.severity_level(value) == level
    assert grading.severity_name(level) == grading.SEVERITY_NAMES[level - 1]


@pytest.mark.parametrize("value", [0, 4, "major", True, ""])
def test_severity_level_refuses(value: int | str) -> None:
    with pytest.raises(grading.CreditDataError):
        grading.severity_level(value)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


BASE_RULES = """
version = "t1"
effective_from = 2026-01-01
window_months = 12
base_score = 10
positive_cap = 2
ban_grade = "D"
[[grades]]
grade = "A"
label = "a"
min_score = 8
[[grades]]
grade = "D"
label = "d"
min_score = 0
joint_punishment = true
[points.x]
minor = 1
serious = 2
grave = 3
"""


def test_custom_rule_table(tmp_path: Path) -> None:
    rules = grading.load_grade_rules(_write(tmp_path, BASE_RULES))
    x = grading.EventType(
        code="x",
        name="x",
        name_en="x",
        polarity="negative",
        subjects=("practitioner",),
        default_severity=1,
        note="",
    )
    types = grading.EventTypes(
        version="t",
        effective_from=date(2026, 1, 1),
        description="",
        digest="",
        types=(x,),
        by_code={"x": x},
    )
    at_8 = grading.evaluate([ev("x", "serious")], rules, types, ON)
    assert (at_8.score, at_8.grade) == (8, "A")
    at_7 = grading.evaluate([ev("x", "grave")], rules, types, ON)
    assert (at_7.score, at_7.grade) == (7, "D")
    floored = grading.evaluate([ev("x", "grave") for _ in range(5)], rules, types, ON)
    assert floored.score == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("min_score = 8", "min_score = 0"), "falling min_score"),
        (("joint_punishment = true", "joint_punishment = false"), "joint punishment"),
        (('ban_grade = "D"', 'ban_grade = "C"'), "ban_grade"),
        (("window_months = 12", "window_months = 0"), "window_months"),
        (("minor = 1", "minor = -1"), "must not be negative"),
        (("positive_cap = 2", "positive_cap = 2\nsurprise = 1"), "surprise"),
    ],
)
def test_rule_table_validation(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    with pytest.raises(grading.CreditDataError, match=message):
        grading.load_grade_rules(_write(tmp_path, BASE_RULES.replace(*change, 1)))


def test_consistency_check_names_missing_types(tmp_path: Path) -> None:
    rules = grading.load_grade_rules(_write(tmp_path, BASE_RULES))
    with pytest.raises(grading.CreditDataError, match="no points for event types"):
        grading.check_consistency(TYPES, rules)


def test_event_type_file_validation(tmp_path: Path) -> None:
    text = grading.DEFAULT_EVENT_TYPES_FILE.read_text(encoding="utf-8")
    duplicate = (
        text + '\n[[types]]\ncode = "commendation"\nname = "x"\nname_en = "x"\n'
        'polarity = "positive"\nsubjects = ["practitioner"]\ndefault_severity = "minor"\n'
    )
    path = tmp_path / "types.toml"
    path.write_text(duplicate, encoding="utf-8")
    with pytest.raises(grading.CreditDataError, match="duplicate"):
        grading.load_event_types(path)
    path.write_text(
        text.replace('polarity = "positive"', 'polarity = "neutral"', 1), encoding="utf-8"
    )
    with pytest.raises(grading.CreditDataError):
        grading.load_event_types(path)
