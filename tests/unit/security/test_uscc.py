"""GB 32100-2015 unified social credit codes (with the GB 11714 organisation code check)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workforce.security import uscc
from workforce.security.uscc import InvalidUscc

# Commonly cited examples; both check characters were also worked out by hand:
# 91350100M000100Y43: organisation code M000100Y: 3*22 + 5*1 + 2*34 = 139, 11 - 139 mod 11 = 4.
VALID = ["91350100M000100Y43", "91110000600037341L"]


def test_weights_are_powers_of_three_mod_31() -> None:
    assert uscc._WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(uscc.ALPHABET) == 31
    assert not set("IOSVZ") & set(uscc.ALPHABET)


@pytest.mark.parametrize("code", VALID)
def test_known_valid_codes(code: str) -> None:
    assert uscc.validate_uscc(code) == code
    assert uscc.uscc_check_char(code[:17]) == code[17]
    assert uscc.org_code_check_char(code[8:16]) == code[16]
    assert uscc.is_valid_uscc(code)


def test_normalization() -> None:
    assert uscc.validate_uscc(" 91350100-m000100y43 ") == "91350100M000100Y43"


def test_org_code_check_char_values() -> None:
    assert uscc.org_code_check_char("M000100Y") == "4"
    assert uscc.org_code_check_char("60003734") == "1"
    # 11 - (sum mod 11) = 11 is written 0, and 10 is written X.
    assert uscc.org_code_check_char("00000000") == "0"
    assert uscc.org_code_check_char("00000005") == "1"  # 2*5 = 10: 11 - 10 = 1
    assert uscc.org_code_check_char("00000010") == "7"  # 4*1 = 4: 11 - 4 = 7
    assert uscc.org_code_check_char("10000000") == "8"  # 3: 11 - 3 = 8
    assert uscc.org_code_check_char("00000001") == "9"  # 2: 11 - 2 = 9
    assert uscc.org_code_check_char("00000100") == "3"  # 8: 11 - 8 = 3
    assert uscc.org_code_check_char("00000012") == "3"  # 4 + 4 = 8
    assert uscc.org_code_check_char("01000000") == "4"  # 7: 11 - 7 = 4
    assert uscc.org_code_check_char("00000003") == "5"  # 6: 11 - 6 = 5
    assert uscc.org_code_check_char("0000000A") == "2"  # A = 10: 20 mod 11 = 9: 11 - 9 = 2
    assert uscc.org_code_check_char("00000006") == "X"  # 12 mod 11 = 1: 11 - 1 = 10 -> X
    with pytest.raises(InvalidUscc):
        uscc.org_code_check_char("m000100y")


@pytest.mark.parametrize("wrong", [c for c in uscc.ALPHABET if c != "3"])
def test_wrong_check_char(wrong: str) -> None:
    with pytest.raises(InvalidUscc) as info:
        uscc.validate_uscc("91350100M000100Y4" + wrong)
    assert info.value.code == "uscc_checksum"


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100I43",  # I
        "91350100M000100O43",  # O
        "91350100M000100S43",  # S
        "91350100M000100V43",  # V
        "91350100M000100Z43",  # Z
        "91350100M000100#43",
        "913501O0M000100Y43",  # a letter inside the region code
        "9135010AM000100Y43",  # A is in the alphabet, but not a digit of the region code
    ],
)
def test_bad_alphabet(code: str) -> None:
    with pytest.raises(InvalidUscc) as info:
        uscc.validate_uscc(code)
    assert info.value.code == "uscc_charset"


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y433", "9135"])
def test_length(code: str) -> None:
    with pytest.raises(InvalidUscc) as info:
        uscc.validate_uscc(code)
    assert info.value.code == "uscc_length"


def test_organisation_code_check() -> None:
    # Right GB 32100 check character, wrong organisation code check character.
    code = uscc.make_uscc("91350100M000100Y5")
    with pytest.raises(InvalidUscc) as info:
        uscc.validate_uscc(code)
    assert info.value.code == "uscc_org_checksum"
    assert uscc.validate_uscc(code, check_org_code=False) == code


def test_make_uscc_round_trip() -> None:
    assert uscc.make_uscc("91350100M000100Y4") == "91350100M000100Y43"
    with pytest.raises(InvalidUscc) as info:
        uscc.make_uscc("91350100M000100I4")
    assert info.value.code == "uscc_charset"
    with pytest.raises(InvalidUscc) as info:
        uscc.make_uscc("9135")
    assert info.value.code == "uscc_length"


_region = st.text(alphabet="0123456789", min_size=6, max_size=6)
_chars = st.sampled_from(uscc.ALPHABET)


@given(
    head=st.text(alphabet=uscc.ALPHABET, min_size=2, max_size=2),
    region=_region,
    body=st.text(alphabet=uscc.ALPHABET, min_size=8, max_size=8),
)
def test_made_codes_validate(head: str, region: str, body: str) -> None:
    code = uscc.make_uscc(head + region + body + uscc.org_code_check_char(body))
    assert uscc.validate_uscc(code) == code


@given(
    prefix=st.text(alphabet=uscc.ALPHABET, min_size=17, max_size=17),
    position=st.integers(min_value=0, max_value=17),
    replacement=_chars,
)
def test_any_single_substitution_is_detected(prefix: str, position: int, replacement: str) -> None:
    code = uscc.make_uscc(prefix)
    if code[position] == replacement:
        return
    mistyped = code[:position] + replacement + code[position + 1 :]
    assert not uscc.is_valid_uscc(mistyped, check_org_code=False)
