"""GB 11643-1999 citizen ID numbers: published and hand-checked vectors, each error class."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workforce.security import idnumber
from workforce.security.idnumber import InvalidIdNumber

TODAY = dt.date(2025, 6, 1)

# The textbook example of GB 11643 (Beijing Chaoyang, 1949-12-31, female, check X).
TEXTBOOK = "11010519491231002X"
# Check characters worked out by hand from the weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2:
# 320102199001011232 -> weighted sum 153, 153 mod 11 = 10, (12 - 10) mod 11 = 2.
VALID = [
    TEXTBOOK,
    "320102199001011232",
    "320102198503152428",
    "110101197001010016",
    "440304199512310083",
    "510107198808086668",
    "320583199202291525",  # 29 February of a leap year
    "32050619950712109X",
    "32050619950712117X",
]
# County codes abolished before 2002 stay valid in the numbers issued with them.
# Full-width digits and x, as typed with a Chinese input method (U+FF10.. = ASCII + 0xFEE0).
FULL_WIDTH = "".join(chr(ord(char) + 0xFEE0) for char in TEXTBOOK.lower())
# Arabic-Indic digits are Unicode digits, but not ASCII ones.
ARABIC_INDIC = "".join(chr(0x660 + int(char)) for char in TEXTBOOK[:17]) + "X"
PRE_2002_COUNTY = [
    "320122198005201421",  # 江浦县, merged into 浦口区 in 2002
    "110224197511110033",  # 大兴县, a district since 2001
]


def complete(body17: str) -> str:
    return body17 + idnumber.check_char(body17)


def test_weights_are_iso_7064_mod_11_2() -> None:
    assert idnumber.WEIGHTS == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@pytest.mark.parametrize("number", VALID + PRE_2002_COUNTY)
def test_valid_numbers(number: str) -> None:
    assert idnumber.validate(number, today=TODAY) == number
    assert idnumber.check_char(number[:17]) == number[17]
    assert idnumber.is_valid(number, today=TODAY)


def test_textbook_example_fields() -> None:
    assert idnumber.check_char(TEXTBOOK[:17]) == "X"
    assert idnumber.birth_date(TEXTBOOK) == dt.date(1949, 12, 31)
    assert idnumber.sex(TEXTBOOK) == "female"
    assert idnumber.region_code(TEXTBOOK) == "110105"
    assert idnumber.mask(TEXTBOOK) == "110105********002X"


def test_sex_from_the_parity_of_the_17th_digit() -> None:
    assert idnumber.sex("110101197001010016") == "male"
    assert idnumber.sex("320102199001011232") == "male"
    assert idnumber.sex("320102198503152428") == "female"


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002x",
        " 11010519491231002X ",
        "110105 19491231 002x",
        FULL_WIDTH,
    ],
)
def test_normalization_of_x_spaces_and_full_width(raw: str) -> None:
    assert idnumber.normalize(raw) == TEXTBOOK
    assert idnumber.validate(raw, today=TODAY) == TEXTBOOK


def test_mask() -> None:
    assert idnumber.mask("320102199001011232") == "320102********1232"
    assert idnumber.mask("32050619950712109x") == "320506********109X"
    with pytest.raises(InvalidIdNumber) as info:
        idnumber.mask("3201021990")
    assert info.value.code == idnumber.CODE_LENGTH


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "11010519491231002",  # 17
        "11010519491231002X1",  # 19
        "110105491231002",  # a first-generation 15-digit number
        "1101051949123100XX",  # X before the last position
        "11010519491231002A",
        "11010519491231002Y",
        ARABIC_INDIC,
    ],
)
def test_length_and_charset(raw: str) -> None:
    with pytest.raises(InvalidIdNumber) as info:
        idnumber.validate(raw, today=TODAY)
    assert info.value.code == "id_number_length"


@pytest.mark.parametrize("wrong", "0123456789X")
def test_checksum(wrong: str) -> None:
    if wrong == TEXTBOOK[17]:
        return
    with pytest.raises(InvalidIdNumber) as info:
        idnumber.validate(TEXTBOOK[:17] + wrong, today=TODAY)
    assert info.value.code == "id_number_checksum"


@given(
    body=st.text(alphabet="0123456789", min_size=17, max_size=17),
    position=st.integers(min_value=0, max_value=16),
    delta=st.integers(min_value=1, max_value=9),
)
def test_every_single_digit_substitution_is_detected(body: str, position: int, delta: int) -> None:
    number = complete(body)
    changed = str((int(body[position]) + delta) % 10)
    mistyped = number[:position] + changed + number[position + 1 :]
    with pytest.raises(InvalidIdNumber) as info:
        idnumber.validate(mistyped, today=TODAY)
    assert info.value.code == "id_number_checksum"


@given(
    body=st.text(alphabet="0123456789", min_size=17, max_size=17),
    position=st.integers(min_value=0, max_value=15),
)
def test_every_adjacent_transposition_is_detected(body: str, position: int) -> None:
    if body[position] == body[position + 1]:
        return
    number = complete(body)
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    with pytest.raises(InvalidIdNumber) as info:
        idnumber.validate(swapped, today=TODAY)
    assert info.value.code == "id_number_checksum"


@pytest.mark.parametrize(
    "province",
    [
        "00",
        "10",
        "16",
        "20",
        "24",
        "30",
        "38",
        "40",
        "47",
        "49",
        "55",
        "60",
        "66",
        "70",
        "72",
        "80",
        "83",
        "90",
        "99",
    ],
)
def test_unknown_province(province: str) -> None:
    with pytest.raises(InvalidIdNumber) as info:
        idnumber.validate(complete(province + "0102199001011" + "23"), today=TODAY)
    assert info.value.code == "id_number_region"


def test_every_province_code_is_accepted() -> None:
    assert len(idnumber.PROVINCE_CODES) == 34
    for province in idnumber.PROVINCE_CODES:
        idnumber.validate(complete(province + "0101199001011" + "23"), today=TODAY)


def test_unknown_county_code_of_a_known_province_is_accepted() -> None:
    assert idnumber.validate(complete("329999199001011" + "23"), today=TODAY)


@pytest.mark.parametrize(
    "birth",
    [
        "19900230",  # 30 February
        "19000229",  # 1900 was not a leap year
        "19901301",  # month 13
        "19900100",  # day 0
        "00000000",
        "18991231",  # before 1900-01-01
        "20250602",  # tomorrow, seen from TODAY
        "20991231",
    ],
)
def test_birth_date(birth: str) -> None:
    with pytest.raises(InvalidIdNumber) as info:
        idnumber.validate(complete("320102" + birth + "123"), today=TODAY)
    assert info.value.code == "id_number_birth_date"


def test_birth_date_limits_are_inclusive() -> None:
    assert idnumber.validate(complete("32010219000101123"), today=TODAY)
    assert idnumber.validate(complete("32010220250601123"), today=TODAY)


def test_default_today_is_the_current_date() -> None:
    tomorrow = dt.datetime.now(idnumber.CHINA_TZ).date() + dt.timedelta(days=1)
    with pytest.raises(InvalidIdNumber):
        idnumber.validate(complete(f"320102{tomorrow:%Y%m%d}123"))


def test_helpers_reject_malformed_numbers() -> None:
    for helper in (idnumber.birth_date, idnumber.sex, idnumber.region_code):
        with pytest.raises(InvalidIdNumber) as info:
            helper("not a number")
        assert info.value.code == "id_number_length"
    with pytest.raises(InvalidIdNumber):
        idnumber.check_char("1234")
    with pytest.raises(InvalidIdNumber):
        idnumber.birth_date(complete("32010219900230123"))


@pytest.mark.parametrize(
    "raw",
    [
        "32010219900101123",  # length
        "320102199001011233",  # checksum
        complete("99010219900101123"),  # region
        complete("32010219900230123"),  # birth date
        complete("32010221000101123"),  # future
    ],
)
def test_message_never_contains_the_number(raw: str) -> None:
    with pytest.raises(InvalidIdNumber) as info:
        idnumber.validate(raw, today=TODAY)
    rendered = f"{info.value} {info.value!r} {info.value.message} {info.value.args}"
    assert raw not in rendered
    assert raw[:17] not in rendered
    assert raw[6:14] not in rendered  # not even the birth date
    assert raw[:6] not in rendered  # nor the region
