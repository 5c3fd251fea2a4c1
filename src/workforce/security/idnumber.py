"""Citizen identity numbers (公民身份号码) after GB 11643-1999.

An 18-character number: a 6-digit address code (GB/T 2260 region of first registration),
an 8-digit birth date ``YYYYMMDD``, a 3-digit sequence (odd for men, even for women) and a
check character computed with ISO 7064 MOD 11-2 (weights ``2**(17-i) mod 11``, the value 10
written ``X``).

Only the province (first two digits) is checked against GB/T 2260: county codes change over
time (counties merge, become districts) and a number keeps the code it was issued with, so
pre-2002 county codes are valid.  Pure module: standard library only.

No message raised here ever contains the number, nor any part of it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Final, Literal

__all__ = [
    "CHECK_CHARS",
    "CHINA_TZ",
    "CODE_BIRTH_DATE",
    "CODE_CHECKSUM",
    "CODE_LENGTH",
    "CODE_REGION",
    "EARLIEST_BIRTH_DATE",
    "PROVINCE_CODES",
    "WEIGHTS",
    "InvalidIdNumber",
    "Sex",
    "birth_date",
    "check_char",
    "is_valid",
    "mask",
    "normalize",
    "region_code",
    "sex",
    "today_in_china",
    "validate",
]

Sex = Literal["male", "female"]

CODE_LENGTH: Final = "id_number_length"
"""Not 18 characters, or not 17 digits followed by a digit or ``X``."""
CODE_CHECKSUM: Final = "id_number_checksum"
"""The ISO 7064 MOD 11-2 check character does not match."""
CODE_BIRTH_DATE: Final = "id_number_birth_date"
"""The birth date does not exist, is before 1900-01-01 or lies in the future."""
CODE_REGION: Final = "id_number_region"
"""The first two digits are not a GB/T 2260 province-level code."""

PROVINCE_CODES: Final = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82",
    }
)  # fmt: skip
"""The 34 GB/T 2260 province-level codes (incl. 71 Taiwan, 81 Hong Kong, 82 Macao)."""

EARLIEST_BIRTH_DATE: Final = dt.date(1900, 1, 1)
"""Numbers with an earlier birth date are refused."""
CHINA_TZ: Final = dt.timezone(dt.timedelta(hours=8), "CST")
"""China Standard Time (UTC+8, no DST): the civil calendar of the birth dates."""

WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
"""ISO 7064 MOD 11-2 weights ``2**(17 - i) mod 11`` of positions ``i = 0..16``."""
CHECK_CHARS: Final = "10X98765432"
"""Check character indexed by ``S mod 11`` (S the weighted sum): ``(12 - S) mod 11``, 10 = X."""
_SHAPE: Final = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_WHITESPACE: Final = re.compile(r"\s+")
_LENGTH: Final = 18
_MASK_KEEP_HEAD: Final = 6
_MASK_KEEP_TAIL: Final = 4


class InvalidIdNumber(ValueError):
    """A citizen ID number failed validation.

    Attributes:
        code: Stable machine-readable reason, one of the ``CODE_*`` constants.
        message: Human-readable explanation; never contains the number.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"InvalidIdNumber(code={self.code!r}, message={self.message!r})"


def normalize(raw: str) -> str:
    """Canonical form of a typed-in number, without validating it.

    Folds full-width characters to ASCII (NFKC), removes every whitespace character (so
    ``"320102 19491231 002x"`` is accepted) and upper-cases the check character ``x``.

    Args:
        raw: The number as typed or imported.

    Returns:
        The normalized string (which may still be invalid).
    """
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", raw)).upper()


def check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits.

    Args:
        first17: Exactly 17 ASCII digits.

    Returns:
        ``"0"``-``"9"`` or ``"X"``.

    Raises:
        InvalidIdNumber: ``id_number_length`` when ``first17`` is not 17 ASCII digits.
    """
    if len(first17) != _LENGTH - 1 or not first17.isascii() or not first17.isdigit():
        raise InvalidIdNumber(CODE_LENGTH, "the body of an ID number must be 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def validate(raw: str, *, today: dt.date | None = None) -> str:
    """Validate a citizen ID number and return its normalized form.

    Checks, in order: shape (18 characters, 17 digits then a digit or ``X``), the check
    character, the province code, the birth date.

    Args:
        raw: The number as typed (spaces, full-width digits and a lower-case ``x`` are fine).
        today: The reference date for "born in the future"; default today in China
            (UTC+8), whatever the server's time zone.

    Returns:
        The normalized 18-character number.

    Raises:
        InvalidIdNumber: With ``code`` one of ``id_number_length``, ``id_number_checksum``,
            ``id_number_region`` or ``id_number_birth_date``.
    """
    number = normalize(raw)
    if len(number) != _LENGTH:
        raise InvalidIdNumber(
            CODE_LENGTH, f"an ID number has 18 characters, this one has {len(number)}"
        )
    if not _SHAPE.fullmatch(number):
        raise InvalidIdNumber(CODE_LENGTH, "an ID number is 17 digits followed by a digit or X")
    if check_char(number[:17]) != number[17]:
        raise InvalidIdNumber(
            CODE_CHECKSUM, "the check character of the ID number does not match (mistyped?)"
        )
    if number[:2] not in PROVINCE_CODES:
        raise InvalidIdNumber(
            CODE_REGION, "the ID number does not start with a GB/T 2260 province code"
        )
    born = _parse_birth_date(number)
    if born is None:
        raise InvalidIdNumber(CODE_BIRTH_DATE, "the birth date in the ID number does not exist")
    if born < EARLIEST_BIRTH_DATE:
        raise InvalidIdNumber(
            CODE_BIRTH_DATE, "the birth date in the ID number is before 1900-01-01"
        )
    if born > (today or today_in_china()):
        raise InvalidIdNumber(CODE_BIRTH_DATE, "the birth date in the ID number is in the future")
    return number


def today_in_china() -> dt.date:
    """The current civil date in China (UTC+8)."""
    return dt.datetime.now(CHINA_TZ).date()


def is_valid(raw: str, *, today: dt.date | None = None) -> bool:
    """Whether :func:`validate` accepts ``raw``."""
    try:
        validate(raw, today=today)
    except InvalidIdNumber:
        return False
    return True


def mask(number: str) -> str:
    """The display form: first 6 and last 4 characters, 8 asterisks between.

    Args:
        number: An 18-character number (normalized here; not otherwise validated).

    Returns:
        For example ``"320102********123X"``.

    Raises:
        InvalidIdNumber: ``id_number_length`` when the number does not have 18 characters.
    """
    normalized = normalize(number)
    if len(normalized) != _LENGTH:
        raise InvalidIdNumber(CODE_LENGTH, "only an 18-character ID number can be masked")
    return normalized[:_MASK_KEEP_HEAD] + "*" * 8 + normalized[-_MASK_KEEP_TAIL:]


def birth_date(number: str) -> dt.date:
    """The birth date encoded in characters 7-14.

    Raises:
        InvalidIdNumber: ``id_number_length`` for a malformed number, ``id_number_birth_date``
            when the date does not exist.
    """
    normalized = _require_shape(number)
    born = _parse_birth_date(normalized)
    if born is None:
        raise InvalidIdNumber(CODE_BIRTH_DATE, "the birth date in the ID number does not exist")
    return born


def sex(number: str) -> Sex:
    """The sex encoded by the parity of the 17th character (odd: male, even: female).

    Raises:
        InvalidIdNumber: ``id_number_length`` for a malformed number.
    """
    return "male" if int(_require_shape(number)[16]) % 2 else "female"


def region_code(number: str) -> str:
    """The 6-digit GB/T 2260 address code (region of first registration).

    Raises:
        InvalidIdNumber: ``id_number_length`` for a malformed number.
    """
    return _require_shape(number)[:6]


def _require_shape(number: str) -> str:
    normalized = normalize(number)
    if not _SHAPE.fullmatch(normalized):
        raise InvalidIdNumber(CODE_LENGTH, "an ID number is 17 digits followed by a digit or X")
    return normalized


def _parse_birth_date(number: str) -> dt.date | None:
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
