"""The policy catalog: certificate types, positions, prerequisites and position checks."""

from __future__ import annotations

import re
import textwrap
from datetime import date
from typing import TYPE_CHECKING

import pytest

from workforce.errors import Reason
from workforce.policy import (
    Catalog,
    CatalogError,
    HeldCert,
    LevelRequiredError,
    PrerequisiteFacts,
    UnknownCertificateTypeError,
    UnknownLevelError,
    UnknownPositionError,
    evaluate_position,
    evaluate_prerequisites,
    load_catalog,
    records_needed_since,
    valid_until,
)
from workforce.policy.catalog import DEFAULT_CERTIFICATE_TYPES, DEFAULT_POSITIONS, add_months
from workforce.rules import RecordHours, RuleResult, RuleSet, evaluate, load_ruleset, parse_hours
from workforce.rules.engine import EN_DASH

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

NANJING = "320102"
BEIJING = "110101"
AS_OF = date(2026, 5, 1)
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_ruleset()


def codes(reasons: list[Reason]) -> list[str]:
    return [reason.code for reason in reasons]


def assessed(
    *,
    rule_results: Sequence[RuleResult] = (),
    records: Sequence[RecordHours] = (),
    held: Sequence[HeldCert] = (),
) -> PrerequisiteFacts:
    return PrerequisiteFacts(
        as_of=AS_OF,
        rule_results=rule_results,
        records=records,
        held=held,
        assessment_passed=True,
        assessment_ref="KH-2026-001",
    )


def skills(day: date, hours: str) -> RecordHours:
    return RecordHours(category="skills", completed_on=day, hours_tenths=parse_hours(hours))


def round_results(
    ruleset: RuleSet, category: str, hours: str, region: str = NANJING
) -> list[RuleResult]:
    records = [
        RecordHours(
            category=category, completed_on=date(2026, 2, 1), hours_tenths=parse_hours(hours)
        )
    ]
    return evaluate(ruleset, region, None, AS_OF.year, records)


# --------------------------------------------------------------------------- the data


def test_default_catalog_loads(catalog: Catalog) -> None:
    assert catalog.version == "2026.1+2026.1"
    assert catalog.certificate_types_effective_from == date(2026, 1, 1)
    assert [t.code for t in catalog.certificate_types] == [
        "baoyushi",
        "yuyingyuan",
        "director_post",
        "caregiver_post",
        "1x_infant_care",
    ]
    baoyushi = catalog.certificate_type("baoyushi")
    assert baoyushi.name == "保育师"
    assert [(level.code, level.name[:2]) for level in baoyushi.levels] == [
        ("5", "五级"),
        ("4", "四级"),
        ("3", "三级"),
        ("2", "二级"),
        ("1", "一级"),
    ]
    assert [level.code for level in catalog.certificate_type("yuyingyuan").levels] == [
        "5",
        "4",
        "3",
    ]
    assert [
        (level.code, level.name) for level in catalog.certificate_type("1x_infant_care").levels
    ] == [("junior", "初级"), ("intermediate", "中级"), ("senior", "高级")]
    assert catalog.certificate_type("director_post").name == "托育机构负责人岗位培训合格证"
    assert catalog.certificate_type("caregiver_post").levels == ()
    assert catalog.certificate_type("1x_infant_care").issuers == ("training_base",)
    assert [p.code for p in catalog.positions] == [
        "caregiver",
        "director",
        "health_worker",
        "cook",
        "security",
        "other",
    ]
    assert catalog.position("director").name == "负责人"
    assert catalog.universal == ("not_banned", "no_credit_joint_punishment")


def test_default_prerequisites_and_codes(catalog: Catalog) -> None:
    caregiver_post = catalog.certificate_type("caregiver_post").prerequisites_for(None)
    assert [(p.kind, p.rule_family, p.code) for p in caregiver_post] == [
        ("hours", "caregiver_round", "caregiver_round_hours_short"),
        ("assessment", None, "assessment_not_passed"),
    ]
    director_post = catalog.certificate_type("director_post").prerequisites_for(None)
    assert director_post[0].code == "director_round_hours_short"
    level3 = catalog.certificate_type("baoyushi").prerequisites_for("3")
    assert [(p.kind, p.code) for p in level3] == [
        ("assessment", "assessment_not_passed"),
        ("holds", "lower_level_not_held"),
    ]
    assert level3[1].accepted_levels == ("4", "3", "2", "1")
    level5 = catalog.certificate_type("baoyushi").prerequisites_for("5")
    assert (level5[1].code, level5[1].categories, level5[1].within_months) == (
        "skills_hours_short",
        ("skills",),
        24,
    )


def test_catalog_and_rules_agree(catalog: Catalog, ruleset: RuleSet) -> None:
    families = {rule.family for rule in ruleset.rules}
    for cert_type in catalog.certificate_types:
        for level in cert_type.levels or (None,):
            for prerequisite in cert_type.prerequisites_for(level.code if level else None):
                assert prerequisite.rule_family is None or prerequisite.rule_family in families
    positions = {position.code for position in catalog.positions}
    for rule in ruleset.rules:
        assert rule.positions == "all" or set(rule.positions) <= positions


def test_lookups_raise_typed_errors(catalog: Catalog) -> None:
    with pytest.raises(UnknownCertificateTypeError, match="'nurse'") as info:
        catalog.certificate_type("nurse")
    assert info.value.code == "unknown_certificate_type"
    assert isinstance(info.value, LookupError)
    with pytest.raises(UnknownPositionError, match="'teacher'") as position:
        catalog.position("teacher")
    assert position.value.code == "unknown_position"
    baoyushi = catalog.certificate_type("baoyushi")
    with pytest.raises(LevelRequiredError, match=r"needs a level \(5, 4, 3, 2, 1\)"):
        baoyushi.level(None)
    with pytest.raises(UnknownLevelError, match="no level '6'"):
        baoyushi.level("6")
    with pytest.raises(UnknownLevelError, match="has no levels"):
        catalog.certificate_type("director_post").level("1")
    with pytest.raises(LevelRequiredError):
        evaluate_prerequisites(baoyushi, None, assessed())


def test_validity(catalog: Catalog) -> None:
    director_post = catalog.certificate_type("director_post")
    assert director_post.validity_months_for(None) == 36
    assert valid_until(director_post, None, date(2026, 3, 15)) == date(2029, 3, 14)
    assert valid_until(director_post, None, date(2024, 2, 29)) == date(2027, 2, 27)
    assert valid_until(catalog.certificate_type("baoyushi"), "4", date(2026, 3, 15)) is None


def test_add_months() -> None:
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)
    assert add_months(date(2026, 12, 1), 1) == date(2027, 1, 1)


# --------------------------------------------------------------------------- prerequisites


@pytest.mark.parametrize(("hours", "met"), [("119.9", False), ("120", True)])
def test_caregiver_round_boundary(
    catalog: Catalog, ruleset: RuleSet, hours: str, met: bool
) -> None:
    facts = assessed(rule_results=round_results(ruleset, "caregiver_round", hours))
    reasons = evaluate_prerequisites(catalog.certificate_type("caregiver_post"), None, facts)
    if met:
        assert reasons == []
    else:
        assert reasons == [
            Reason(
                "caregiver_round_hours_short",
                f"caregiver round 2026{EN_DASH}2030: 120.0 hours required, 119.9 earned",
            )
        ]


@pytest.mark.parametrize(("hours", "met"), [("59.9", False), ("60.0", True)])
def test_director_round_boundary(catalog: Catalog, ruleset: RuleSet, hours: str, met: bool) -> None:
    facts = assessed(rule_results=round_results(ruleset, "director_round", hours))
    reasons = evaluate_prerequisites(catalog.certificate_type("director_post"), None, facts)
    assert codes(reasons) == ([] if met else ["director_round_hours_short"])
    if not met:
        assert (
            reasons[0].detail
            == f"director round 2026{EN_DASH}2030: 60.0 hours required, 59.9 earned"
        )


def test_round_without_a_rule_in_force(catalog: Catalog, ruleset: RuleSet) -> None:
    facts = assessed(rule_results=round_results(ruleset, "caregiver_round", "500", BEIJING))
    reasons = evaluate_prerequisites(catalog.certificate_type("caregiver_post"), None, facts)
    assert codes(reasons) == ["hours_rule_not_in_force"]
    assert "caregiver_round" in reasons[0].detail


@pytest.mark.parametrize(("hours", "met"), [("119.9", False), ("120.0", True)])
def test_skills_hours_boundary(catalog: Catalog, hours: str, met: bool) -> None:
    facts = assessed(records=[skills(date(2025, 1, 1), hours)])
    reasons = evaluate_prerequisites(catalog.certificate_type("baoyushi"), "5", facts)
    assert codes(reasons) == ([] if met else ["skills_hours_short"])
    if not met:
        assert reasons[0].detail == (
            "skills hours in the 24 months to 2026-05-01: 120.0 hours required, 119.9 earned"
        )


@pytest.mark.parametrize(
    ("day", "counts"),
    [
        (date(2024, 5, 1), False),  # 24 months before as_of: outside
        (date(2024, 5, 2), True),  # first day of the window
        (date(2026, 5, 1), True),  # as_of itself
        (date(2026, 5, 2), False),  # after as_of
    ],
)
def test_skills_window_edges(catalog: Catalog, day: date, counts: bool) -> None:
    facts = assessed(records=[skills(day, "120"), skills(AS_OF, "0")])
    reasons = evaluate_prerequisites(catalog.certificate_type("yuyingyuan"), "5", facts)
    assert codes(reasons) == ([] if counts else ["skills_hours_short"])
    assert records_needed_since(catalog.certificate_type("yuyingyuan"), "5", AS_OF) == date(
        2024, 5, 2
    )


def test_other_categories_do_not_count_toward_skills(catalog: Catalog) -> None:
    records = [RecordHours(category="ethics", completed_on=date(2026, 1, 1), hours_tenths=5000)]
    reasons = evaluate_prerequisites(
        catalog.certificate_type("baoyushi"), "5", assessed(records=records)
    )
    assert codes(reasons) == ["skills_hours_short"]


def test_records_needed_since(catalog: Catalog) -> None:
    assert records_needed_since(catalog.certificate_type("director_post"), None, AS_OF) is None
    assert records_needed_since(catalog.certificate_type("baoyushi"), "4", AS_OF) is None


def test_assessment(catalog: Catalog) -> None:
    cert = catalog.certificate_type("1x_infant_care")
    assert evaluate_prerequisites(cert, "junior", assessed()) == []
    not_passed = evaluate_prerequisites(cert, "junior", PrerequisiteFacts(as_of=AS_OF))
    assert codes(not_passed) == ["assessment_not_passed"]
    no_ref = PrerequisiteFacts(as_of=AS_OF, assessment_passed=True, assessment_ref=" ")
    assert codes(evaluate_prerequisites(cert, "senior", no_ref)) == ["assessment_ref_missing"]


@pytest.mark.parametrize(
    ("held", "ok"),
    [
        ([HeldCert(cert_type="baoyushi", level="4")], True),
        ([HeldCert(cert_type="baoyushi", level="2")], True),  # a higher level also qualifies
        ([HeldCert(cert_type="baoyushi", level="5")], False),
        ([HeldCert(cert_type="baoyushi", level="4", status="revoked")], False),
        ([HeldCert(cert_type="baoyushi", level="4", status="expired")], False),
        ([HeldCert(cert_type="yuyingyuan", level="4")], False),
        (
            [
                HeldCert(cert_type="baoyushi", level="4", status="suspended"),
                HeldCert(cert_type="baoyushi", level="3"),
            ],
            True,
        ),
        ([], False),
    ],
)
def test_lower_level_held(catalog: Catalog, held: list[HeldCert], ok: bool) -> None:
    reasons = evaluate_prerequisites(catalog.certificate_type("baoyushi"), "3", assessed(held=held))
    assert codes(reasons) == ([] if ok else ["lower_level_not_held"])


def test_lower_level_detail_names_the_state(catalog: Catalog) -> None:
    held = [HeldCert(cert_type="baoyushi", level="4", status="revoked")]
    (reason,) = evaluate_prerequisites(
        catalog.certificate_type("baoyushi"), "3", assessed(held=held)
    )
    assert reason.detail == (
        "a valid baoyushi (level 4 or above) certificate is required; "
        "held: baoyushi level 4 (revoked)"
    )


def test_every_unmet_prerequisite_is_reported(catalog: Catalog, ruleset: RuleSet) -> None:
    facts = PrerequisiteFacts(
        as_of=AS_OF, rule_results=round_results(ruleset, "caregiver_round", "1")
    )
    reasons = evaluate_prerequisites(catalog.certificate_type("caregiver_post"), None, facts)
    assert codes(reasons) == ["caregiver_round_hours_short", "assessment_not_passed"]
    four = evaluate_prerequisites(
        catalog.certificate_type("baoyushi"), "4", PrerequisiteFacts(as_of=AS_OF)
    )
    assert codes(four) == ["assessment_not_passed", "lower_level_not_held"]
    for reason in [*reasons, *four]:
        assert not CJK.search(reason.detail), reason.detail


# --------------------------------------------------------------------------- positions


def held(cert_type: str, level: str | None = None, status: str = "valid") -> HeldCert:
    return HeldCert(cert_type=cert_type, level=level, status=status)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("position", "certs", "expected"),
    [
        ("caregiver", [held("baoyushi", "4")], []),
        ("caregiver", [held("yuyingyuan", "5")], []),
        ("caregiver", [held("caregiver_post")], []),
        ("caregiver", [], ["no_valid_certificate"]),
        ("caregiver", [held("director_post")], ["no_valid_certificate"]),
        ("caregiver", [held("baoyushi", "4", "revoked")], ["certificate_revoked"]),
        (
            "caregiver",
            [held("baoyushi", "4", "revoked"), held("caregiver_post", None, "revoked")],
            ["certificate_revoked"],
        ),
        ("caregiver", [held("caregiver_post", None, "suspended")], ["certificate_suspended"]),
        ("caregiver", [held("yuyingyuan", "3", "expired")], ["certificate_expired"]),
        (
            "caregiver",
            [held("baoyushi", "4", "revoked"), held("caregiver_post", None, "expired")],
            ["no_valid_certificate"],
        ),
        (
            "caregiver",
            [held("baoyushi", "4", "revoked"), held("caregiver_post")],
            [],
        ),
        (
            "caregiver",
            [held("director_post", None, "revoked"), held("baoyushi", "5", "expired")],
            ["certificate_expired"],  # the irrelevant revoked certificate is ignored
        ),
        ("director", [held("director_post")], []),
        ("director", [held("baoyushi", "1")], ["no_valid_certificate"]),
        ("director", [held("director_post", None, "suspended")], ["certificate_suspended"]),
        ("health_worker", [], []),
        ("cook", [], []),
        ("security", [held("baoyushi", "5", "revoked")], []),
        ("other", [], []),
    ],
)
def test_position_codes(
    catalog: Catalog, position: str, certs: list[HeldCert], expected: list[str]
) -> None:
    reasons = evaluate_position(catalog.position(position), certs)
    assert codes(reasons) == expected
    for reason in reasons:
        assert reason.detail.startswith(f"position {position} ")
        assert not CJK.search(reason.detail)


def test_position_detail(catalog: Catalog) -> None:
    (reason,) = evaluate_position(catalog.position("caregiver"), [])
    assert reason.detail == (
        "position caregiver requires a valid certificate of baoyushi, yuyingyuan, "
        "caregiver_post; none held"
    )
    (revoked,) = evaluate_position(
        catalog.position("director"), [held("director_post", None, "revoked")]
    )
    assert revoked.detail == (
        "position director accepts director_post; every one held is revoked: "
        "director_post (revoked)"
    )


# --------------------------------------------------------------------------- custom files


TYPES = """
version = "t1"
effective_from = 2026-01-01

[[certificate_types]]
code = "baoyushi"
name = "保育师"
issuers = ["training_base"]
validity_months = 60

[[certificate_types.levels]]
code = "5"
name = "五级"

[[certificate_types.levels]]
code = "4"
name = "四级"
validity_years = 2

[[certificate_types.levels]]
code = "3"
name = "三级"
prerequisites = [{ kind = "holds", type = "baoyushi", level = "4", code = "needs_level_4" }]
"""

POSITIONS = """
version = "p1"
effective_from = 2026-02-01
universal = ["not_banned"]

[[positions]]
code = "senior_caregiver"
name = "高级保育人员"
requires_any_certificate = [{ type = "baoyushi", min_level = "4" }]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, types: str = TYPES, positions: str = POSITIONS) -> Catalog:
    return load_catalog(
        write(tmp_path, "types.toml", types), write(tmp_path, "positions.toml", positions)
    )


def test_custom_catalog(tmp_path: Path) -> None:
    catalog = load(tmp_path)
    assert catalog.version == "t1+p1"
    assert catalog.positions_effective_from == date(2026, 2, 1)
    assert catalog.universal == ("not_banned",)
    baoyushi = catalog.certificate_type("baoyushi")
    assert baoyushi.validity_months_for("5") == 60
    assert baoyushi.validity_months_for("4") == 24
    facts = PrerequisiteFacts(as_of=AS_OF)
    assert codes(evaluate_prerequisites(baoyushi, "3", facts)) == ["needs_level_4"]
    assert evaluate_prerequisites(baoyushi, "5", facts) == []


@pytest.mark.parametrize(
    ("certs", "expected"),
    [
        ([held("baoyushi", "4")], []),
        ([held("baoyushi", "3")], []),
        ([held("baoyushi", "5")], ["no_valid_certificate"]),  # below min_level
        ([held("baoyushi", "5"), held("baoyushi", "4", "expired")], ["certificate_expired"]),
    ],
)
def test_min_level(tmp_path: Path, certs: list[HeldCert], expected: list[str]) -> None:
    position = load(tmp_path).position("senior_caregiver")
    assert codes(evaluate_position(position, certs)) == expected


@pytest.mark.parametrize(
    ("types", "positions", "message"),
    [
        (
            TYPES.replace('issuers = ["training_base"]', 'issuers = ["training_base"]\nsort = 1'),
            POSITIONS,
            "unknown field `sort`",
        ),
        (
            TYPES.replace('code = "needs_level_4"', 'code = "needs_level_4", why = "x"'),
            POSITIONS,
            "unknown field `why`",
        ),
        (
            TYPES.replace('issuers = ["training_base"]', 'issuers = ["school"]'),
            POSITIONS,
            "issuers",
        ),
        (
            TYPES.replace('issuers = ["training_base"]', "issuers = []"),
            POSITIONS,
            "issuers must be",
        ),
        (
            TYPES + TYPES[TYPES.index("[[certificate_types]]") :],
            POSITIONS,
            "duplicate certificate type 'baoyushi'",
        ),
        (TYPES.replace('code = "4"', 'code = "5"'), POSITIONS, "duplicate level of 'baoyushi' '5'"),
        (TYPES.replace('level = "4", code', 'level = "9", code'), POSITIONS, "has no level '9'"),
        (
            TYPES.replace('type = "baoyushi", level = "4"', 'type = "nurse", level = "4"'),
            POSITIONS,
            "unknown certificate type 'nurse'",
        ),
        (
            TYPES.replace("validity_years = 2", "validity_years = 2\nvalidity_months = 3"),
            POSITIONS,
            "not both",
        ),
        (
            TYPES.replace("validity_months = 60", "validity_months = 0"),
            POSITIONS,
            "validity must be positive",
        ),
        (TYPES.replace('name = "五级"', 'name = " "'), POSITIONS, "name is empty"),
        (TYPES.replace('code = "baoyushi"', 'code = "Bao Yu"'), POSITIONS, "must match"),
        (TYPES.replace('version = "t1"', 'version = ""'), POSITIONS, "version is empty"),
        (
            TYPES.replace("effective_from = 2026-01-01\n", ""),
            POSITIONS,
            "missing required field `effective_from`",
        ),
        (
            TYPES,
            POSITIONS.replace('min_level = "4"', 'min_level = "9"'),
            "position 'senior_caregiver': certificate type 'baoyushi' has no level '9'",
        ),
        (
            TYPES,
            POSITIONS.replace('type = "baoyushi"', 'type = "nurse"'),
            "unknown certificate type 'nurse'",
        ),
        (
            TYPES,
            POSITIONS.replace('["not_banned"]', '["not_banned", "is_nice"]'),
            "unknown universal requirement",
        ),
        (
            TYPES,
            POSITIONS.replace('["not_banned"]', '["not_banned", "not_banned"]'),
            "duplicate universal",
        ),
        (
            TYPES,
            POSITIONS + POSITIONS[POSITIONS.index("[[positions]]") :],
            "duplicate position 'senior_caregiver'",
        ),
        (
            TYPES,
            POSITIONS.replace('name = "高级保育人员"', 'name = "x"\nlevel = 1'),
            "unknown field `level`",
        ),
    ],
)
def test_invalid_files_are_rejected(
    tmp_path: Path, types: str, positions: str, message: str
) -> None:
    with pytest.raises(CatalogError, match=re.escape(message)):
        load(tmp_path, types, positions)


PREREQ_TYPES = """
version = "t1"
effective_from = 2026-01-01

[[certificate_types]]
code = "post"
name = "岗位培训合格证"
issuers = ["regulator"]
prerequisites = [{prereq}]
"""


@pytest.mark.parametrize(
    ("prereq", "message"),
    [
        ('{ kind = "hours" }', "hours needs rule_family, or categories and min_hours"),
        ('{ kind = "hours", categories = ["skills"] }', "hours needs rule_family"),
        (
            '{ kind = "hours", rule_family = "caregiver_round", min_hours = 3 }',
            "keys not allowed here: min_hours",
        ),
        (
            '{ kind = "hours", categories = ["skills"], min_hours = "2.25" }',
            "min_hours: hours have at most one decimal",
        ),
        (
            '{ kind = "hours", categories = ["skills"], min_hours = 0 }',
            "min_hours must be more than 0",
        ),
        (
            '{ kind = "hours", categories = ["skills"], min_hours = 1, within_months = 0 }',
            "within_months must be positive",
        ),
        ('{ kind = "hours", rule_family = "Round" }', "rule family code 'Round' must match"),
        ('{ kind = "hours", rule_family = "r", type = "post" }', "keys not allowed here: type"),
        ('{ kind = "assessment", level = "1" }', "keys not allowed here: level"),
        ('{ kind = "holds" }', "holds needs a type"),
        (
            '{ kind = "holds", type = "post", level = "1" }',
            "certificate type 'post' has no level '1'",
        ),
        (
            '{ kind = "holds", type = "post", categories = ["skills"] }',
            "keys not allowed here: categories",
        ),
        ('{ kind = "position" }', "kind"),
        ('{ kind = "assessment", code = "Not OK" }', "reason code 'Not OK' must match"),
    ],
)
def test_invalid_prerequisites_are_rejected(tmp_path: Path, prereq: str, message: str) -> None:
    types = PREREQ_TYPES.replace("{prereq}", prereq)
    with pytest.raises(CatalogError, match=re.escape(message)):
        load(
            tmp_path, types, POSITIONS.replace("baoyushi", "post").replace(', min_level = "4"', "")
        )


def test_prerequisite_errors_name_their_place(tmp_path: Path) -> None:
    types = PREREQ_TYPES.replace("{prereq}", '{ kind = "assessment" }, { kind = "holds" }')
    positions = POSITIONS.replace("baoyushi", "post").replace(', min_level = "4"', "")
    with pytest.raises(CatalogError, match=r"certificate type 'post': prerequisite 2 \(holds\)"):
        load(tmp_path, types, positions)


def test_holds_any_level_of_a_type_without_levels(tmp_path: Path) -> None:
    types = PREREQ_TYPES.replace("{prereq}", '{ kind = "holds", type = "post" }')
    positions = POSITIONS.replace("baoyushi", "post").replace(', min_level = "4"', "")
    post = load(tmp_path, types, positions).certificate_type("post")
    facts = PrerequisiteFacts(as_of=AS_OF, held=[HeldCert(cert_type="post")])
    assert evaluate_prerequisites(post, None, facts) == []
    assert codes(evaluate_prerequisites(post, None, PrerequisiteFacts(as_of=AS_OF))) == [
        "lower_level_not_held"
    ]


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "nope.toml")
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(DEFAULT_CERTIFICATE_TYPES, tmp_path / "nope.toml")
    assert load_catalog(DEFAULT_CERTIFICATE_TYPES, DEFAULT_POSITIONS) == load_catalog()
