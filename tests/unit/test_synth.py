"""Synthetic data: valid, deterministic, realistic, and unique at scale."""

from __future__ import annotations

import re

import pytest

from workforce import regions, synth
from workforce.security import idnumber, uscc

CJK_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}")


def test_random_id_numbers_are_valid() -> None:
    rng = synth.seeded_rng(1)
    for _ in range(5000):
        number = synth.random_id_number(rng)
        assert idnumber.validate(number) == number
        assert regions.region_name(idnumber.region_code(number)) is not None
        assert 1965 <= idnumber.birth_date(number).year <= 2003


def test_random_id_number_options() -> None:
    rng = synth.seeded_rng(2)
    for _ in range(200):
        number = synth.random_id_number(rng, "320102", (1990, 1990), sex="male")
        assert number.startswith("3201021990")
        assert idnumber.sex(number) == "male"
        assert idnumber.validate(number)
    this_year = idnumber.today_in_china().year
    for _ in range(200):
        number = synth.random_id_number(rng, birth_year_range=(this_year, this_year))
        assert idnumber.validate(number)  # never born in the future


def test_random_id_number_refuses_bad_arguments() -> None:
    rng = synth.seeded_rng(3)
    with pytest.raises(regions.InvalidRegion):
        synth.random_id_number(rng, "990101")
    with pytest.raises(regions.InvalidRegion):
        synth.random_id_number(rng, "000000")
    with pytest.raises(ValueError, match="birth years"):
        synth.random_id_number(rng, birth_year_range=(2000, 1990))
    with pytest.raises(ValueError, match="birth years"):
        synth.random_id_number(rng, birth_year_range=(1899, 1990))


def test_mostly_female_workforce() -> None:
    rng = synth.seeded_rng(4)
    sexes = [idnumber.sex(synth.random_id_number(rng)) for _ in range(2000)]
    assert 0.85 < sexes.count("female") / len(sexes) < 0.95


def test_names_are_cjk() -> None:
    rng = synth.seeded_rng(5)
    names = [synth.random_name(rng) for _ in range(5000)]
    assert all(CJK_NAME.fullmatch(name) for name in names)
    surnames = [name[0] for name in names]
    assert surnames.count("王") > surnames.count("郭") > surnames.count("汤")
    assert len(set(names)) > 2000


def test_persons_are_coherent() -> None:
    rng = synth.seeded_rng(6)
    for _ in range(500):
        person = synth.random_person(rng, "320505")
        assert idnumber.sex(person.id_number) == person.sex
        assert idnumber.region_code(person.id_number) == "320505"
        assert CJK_NAME.fullmatch(person.name)


def test_random_uscc_is_valid() -> None:
    rng = synth.seeded_rng(7)
    for region in ("320102", "110105", "440305"):
        for _ in range(300):
            code = synth.random_uscc(rng, region)
            assert uscc.validate_uscc(code) == code
            assert code[2:8] == region
    with pytest.raises(regions.InvalidRegion):
        synth.random_uscc(rng, "99")


def test_determinism() -> None:
    def sample(seed: int) -> list[str]:
        rng = synth.seeded_rng(seed)
        people = [synth.random_person(rng) for _ in range(50)]
        return [
            *(f"{p.id_number} {p.name}" for p in people),
            *(synth.random_uscc(rng, "320102") for _ in range(10)),
            *synth.unique_id_numbers(rng, 100),
        ]

    assert sample(42) == sample(42)
    assert sample(42) != sample(43)


def test_unique_id_numbers_at_scale() -> None:
    numbers = list(synth.unique_id_numbers(synth.seeded_rng(8), 100_000))
    assert len(numbers) == 100_000
    assert len(set(numbers)) == 100_000
    assert all(idnumber.is_valid(number) for number in numbers)
    provinces = {number[:2] for number in numbers}
    assert len(provinces) == 34 - 3  # every province with listed counties (not 71, 81, 82)


def test_unique_id_numbers_exhausts_a_small_space_exactly() -> None:
    space = 2 * 365 * 999
    numbers = list(
        synth.unique_id_numbers(
            synth.seeded_rng(9),
            space,
            region_codes=["320102", "320104"],
            birth_year_range=(1990, 1990),
        )
    )
    assert len(set(numbers)) == space
    assert all(idnumber.is_valid(number) for number in numbers)
    with pytest.raises(ValueError, match="distinct numbers"):
        synth.unique_id_numbers(
            synth.seeded_rng(9),
            space + 1,
            region_codes=["320102", "320104"],
            birth_year_range=(1990, 1990),
        )


def test_unique_id_numbers_is_lazy() -> None:
    numbers = synth.unique_id_numbers(synth.seeded_rng(10), 10**9)
    first = [next(numbers) for _ in range(10)]
    assert all(idnumber.is_valid(number) for number in first)


def test_unique_id_numbers_refuses_the_national_code() -> None:
    with pytest.raises(regions.InvalidRegion):
        synth.unique_id_numbers(synth.seeded_rng(11), 10, region_codes=["000000"])
    with pytest.raises(ValueError, match="distinct numbers"):
        synth.unique_id_numbers(synth.seeded_rng(11), -1)
