"""Unified social credit codes (统一社会信用代码) after GB 32100-2015.

Eighteen characters from the 31-character alphabet ``0-9 A-H J-N P-R T U W-Y`` (no I, O, Z,
S, V)::

    9 1 350100 M000100Y4 3
    | | |      |         `- check character: weights 3**i mod 31, (31 - sum mod 31) mod 31
    | | |      `----------- organisation code (主体标识码), GB 11714 with its own check char
    | | `------------------ region code of the registration authority (GB/T 2260)
    | `-------------------- organisation category (机构类别代码)
    `---------------------- registration authority (登记管理部门代码)

The organisation code carries a GB 11714-1997 check character: weights
``3, 7, 9, 10, 5, 8, 4, 2`` over the first eight characters (digits at face value, letters
``A``-``Z`` as 10-35), ``C = 11 - (sum mod 11)``, written ``X`` for 10 and ``0`` for 11.
:func:`validate_uscc` checks it by default.  The registration authority, the category and the
region are not checked against tables: central bodies register with region ``100000`` and the
tables of categories are amended from time to time.  Pure module: standard library only.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "ALPHABET",
    "CODE_CHARSET",
    "CODE_CHECKSUM",
    "CODE_LENGTH",
    "CODE_ORG_CHECKSUM",
    "InvalidUscc",
    "is_valid_uscc",
    "make_uscc",
    "normalize_uscc",
    "org_code_check_char",
    "uscc_check_char",
    "validate_uscc",
]

ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters of a USCC, in value order (the value of a character is its index)."""

CODE_LENGTH: Final = "uscc_length"
"""Not 18 characters."""
CODE_CHARSET: Final = "uscc_charset"
"""A character outside the alphabet, or a region code that is not six digits."""
CODE_CHECKSUM: Final = "uscc_checksum"
"""The GB 32100 check character (18th) does not match."""
CODE_ORG_CHECKSUM: Final = "uscc_org_checksum"
"""The GB 11714 check character of the organisation code (17th) does not match."""

_LENGTH: Final = 18
_VALUES: Final = {char: value for value, char in enumerate(ALPHABET)}
_WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))
# GB 11714-1997 organisation code: eight characters then a check character.
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_SLICE: Final = slice(8, 16)
_ORG_BODY: Final = re.compile(r"[0-9A-Z]{8}", re.ASCII)


class InvalidUscc(ValueError):
    """A unified social credit code failed validation.

    Attributes:
        code: Stable machine-readable reason, one of the ``CODE_*`` constants.
        message: Human-readable explanation.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"InvalidUscc(code={self.code!r}, message={self.message!r})"


def normalize_uscc(raw: str) -> str:
    """Upper-case ``raw`` and drop spaces and hyphens (no validation)."""
    return "".join(raw.split()).replace("-", "").upper()


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters.

    Args:
        first17: 17 characters of :data:`ALPHABET`.

    Returns:
        One character of :data:`ALPHABET`.

    Raises:
        InvalidUscc: ``uscc_length`` or ``uscc_charset`` for a malformed ``first17``.
    """
    if len(first17) != _LENGTH - 1:
        raise InvalidUscc(CODE_LENGTH, f"expected 17 characters, got {len(first17)}")
    try:
        total = sum(_VALUES[char] * weight for char, weight in zip(first17, _WEIGHTS, strict=True))
    except KeyError as exc:
        raise InvalidUscc(CODE_CHARSET, _charset_message(exc.args[0])) from None
    return ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    """The GB 11714-1997 check character of an organisation code's first eight characters.

    Args:
        body8: Eight digits or upper-case letters.

    Returns:
        ``"0"``-``"9"`` or ``"X"``.

    Raises:
        InvalidUscc: ``uscc_charset`` for anything but eight ASCII digits or capitals.
    """
    if not _ORG_BODY.fullmatch(body8):
        raise InvalidUscc(CODE_CHARSET, "an organisation code body is 8 digits or capitals")
    total = sum(int(char, 36) * weight for char, weight in zip(body8, _ORG_WEIGHTS, strict=True))
    check = (11 - total % 11) % 11  # 11 is written 0
    return "0123456789X"[check]


def validate_uscc(raw: str, *, check_org_code: bool = True) -> str:
    """Validate a unified social credit code and return its normalized form.

    Args:
        raw: The code as typed (spaces, hyphens and lower case are tolerated).
        check_org_code: Also verify the GB 11714 check character of the organisation code
            (characters 9-17).  On by default; switch off only for a registry known to hold
            codes that violate it.

    Returns:
        The 18-character code.

    Raises:
        InvalidUscc: With ``code`` one of ``uscc_length``, ``uscc_charset``,
            ``uscc_checksum`` or ``uscc_org_checksum``.
    """
    code = normalize_uscc(raw)
    if len(code) != _LENGTH:
        raise InvalidUscc(
            CODE_LENGTH, f"a unified social credit code has 18 characters, got {len(code)}"
        )
    for char in code:
        if char not in _VALUES:
            raise InvalidUscc(CODE_CHARSET, _charset_message(char))
    if not code[2:8].isdigit():
        raise InvalidUscc(CODE_CHARSET, "characters 3-8 (the region code) must be digits")
    if uscc_check_char(code[:17]) != code[17]:
        raise InvalidUscc(
            CODE_CHECKSUM, "the check character (18th) does not match the code (mistyped?)"
        )
    if check_org_code and org_code_check_char(code[_ORG_SLICE]) != code[16]:
        raise InvalidUscc(
            CODE_ORG_CHECKSUM,
            "the check character of the organisation code (17th) does not match (GB 11714)",
        )
    return code


def is_valid_uscc(raw: str, *, check_org_code: bool = True) -> bool:
    """Whether :func:`validate_uscc` accepts ``raw``."""
    try:
        validate_uscc(raw, check_org_code=check_org_code)
    except InvalidUscc:
        return False
    return True


def make_uscc(prefix17: str) -> str:
    """Complete 17 characters with their GB 32100 check character (for test and demo data).

    The caller is responsible for the organisation code's own check character (see
    :func:`org_code_check_char`) if the result must pass :func:`validate_uscc`.

    Args:
        prefix17: The first 17 characters.

    Returns:
        The 18-character code.

    Raises:
        InvalidUscc: ``uscc_length`` or ``uscc_charset`` for a malformed prefix.
    """
    prefix = normalize_uscc(prefix17)
    return prefix + uscc_check_char(prefix)


def _charset_message(char: object) -> str:
    shown = repr(char) if isinstance(char, str) and char.isprintable() else "a non-printable"
    return f"{shown} is not a unified social credit code character (0-9, A-Y without I O S V Z)"
