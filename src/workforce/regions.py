"""GB/T 2260 administrative division codes and the jurisdiction arithmetic built on them.

A region code has six digits ``PPCCDD``: province ``PP0000``, prefecture-level city
``PPCC00``, county-level division ``PPCCDD``.  A regulator's *jurisdiction* is a region code
that covers itself and everything below it; ``"000000"`` (or ``""``) is the national level.

The packaged table ``data/regions.tsv`` lists every province-level division and a selection
of cities and counties.  It is not exhaustive, and codes change (counties merge, become
districts), so a code is *acceptable* when its province is known even if the code itself is
not listed.  Pure module: standard library only.
"""

from __future__ import annotations

import functools
import importlib.resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "NATIONAL",
    "InvalidRegion",
    "Level",
    "city_codes",
    "county_codes",
    "covers",
    "full_name",
    "is_known_region",
    "jurisdiction_prefix",
    "level_of",
    "parent_of",
    "province_codes",
    "province_of",
    "region_name",
    "region_table",
    "validate_region_code",
]

Level = Literal["national", "province", "city", "county"]

NATIONAL: Final = "000000"
"""The national level: covers every region."""
NATIONAL_NAME: Final = "全国"

CODE_FORMAT: Final = "region_format"
"""Not six ASCII digits."""
CODE_UNKNOWN: Final = "region_unknown"
"""Six digits, but not under a known province."""

_CODE_LENGTH: Final = 6
# Names GB/T 2260 gives to the placeholder level under a municipality (e.g. 110100 市辖区);
# they add nothing to a full name.
_PLACEHOLDER_NAMES: Final = frozenset(
    {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
)


class InvalidRegion(ValueError):
    """A region code failed validation.

    Attributes:
        code: Stable machine-readable reason: ``region_format`` or ``region_unknown``.
        message: Human-readable explanation.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"InvalidRegion(code={self.code!r}, message={self.message!r})"


@functools.lru_cache(maxsize=1)
def region_table() -> Mapping[str, str]:
    """The packaged table: region code to name, in file order (read once).

    Raises:
        RuntimeError: The packaged table is corrupt (a malformed or duplicate code, or a code
            whose province is not listed).
    """
    text = (importlib.resources.files("workforce") / "data" / "regions.tsv").read_text("utf-8")
    table: dict[str, str] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        code, sep, name = line.partition("\t")
        if not sep or not _is_six_digits(code) or code == NATIONAL or not name.strip():
            msg = f"regions.tsv line {line_no}: expected '<6-digit code>\\t<name>'"
            raise RuntimeError(msg)
        if code in table:
            msg = f"regions.tsv line {line_no}: duplicate code {code}"
            raise RuntimeError(msg)
        table[code] = name.strip()
    for code in table:
        if code[:2] + "0000" not in table:
            msg = f"regions.tsv: {code} lies under an unlisted province"
            raise RuntimeError(msg)
    return MappingProxyType(table)


@functools.lru_cache(maxsize=1)
def province_codes() -> tuple[str, ...]:
    """The 2-digit codes of every province-level division, ascending."""
    return tuple(sorted(code[:2] for code in region_table() if code.endswith("0000")))


@functools.lru_cache(maxsize=1)
def city_codes() -> tuple[str, ...]:
    """The listed prefecture-level codes (``PPCC00``), ascending."""
    return tuple(sorted(code for code in region_table() if level_of(code) == "city"))


@functools.lru_cache(maxsize=1)
def county_codes() -> tuple[str, ...]:
    """The listed county-level codes (``PPCCDD``, ``DD`` not ``00``), ascending."""
    return tuple(sorted(code for code in region_table() if level_of(code) == "county"))


def validate_region_code(code: str) -> str:
    """Check that ``code`` is an acceptable region code and return it.

    Acceptable: :data:`NATIONAL`, or six digits whose province is known.

    Raises:
        InvalidRegion: ``region_format`` for anything but six ASCII digits, ``region_unknown``
            for an unknown province.
    """
    if not _is_six_digits(code):
        raise InvalidRegion(CODE_FORMAT, "a region code is six digits (GB/T 2260)")
    if code != NATIONAL and code[:2] not in _province_set():
        raise InvalidRegion(CODE_UNKNOWN, f"{code} is not under a GB/T 2260 province")
    return code


def is_known_region(code: str) -> bool:
    """Whether ``code`` is six digits under a known province (listed or not), or national."""
    try:
        validate_region_code(code)
    except InvalidRegion:
        return False
    return True


def region_name(code: str) -> str | None:
    """The name of a listed code (``"320102"`` -> ``"玄武区"``), ``"全国"`` for national."""
    if code == NATIONAL:
        return NATIONAL_NAME
    return region_table().get(code)


def full_name(code: str) -> str:
    """The name with its ancestors: ``"320102"`` -> ``"江苏省南京市玄武区"``.

    Placeholder levels (``市辖区`` under a municipality) are skipped; an unlisted code is
    shown by its nearest listed ancestors followed by the code in parentheses.

    Raises:
        InvalidRegion: As :func:`validate_region_code`.
    """
    validate_region_code(code)
    if code == NATIONAL:
        return NATIONAL_NAME
    table = region_table()
    chain = [province_of(code)]
    if level_of(code) in {"city", "county"}:
        chain.append(code[:4] + "00")
    if level_of(code) == "county":
        chain.append(code)
    parts = [table[c] for c in chain if c in table and table[c] not in _PLACEHOLDER_NAMES]
    if code not in table:
        parts.append(f"({code})")
    return "".join(parts)


def level_of(code: str) -> Level:
    """The administrative level a code names.

    Raises:
        InvalidRegion: ``region_format`` for anything but six digits (or ``""``, national).
    """
    if code == "":
        return "national"
    if not _is_six_digits(code):
        raise InvalidRegion(CODE_FORMAT, "a region code is six digits (GB/T 2260)")
    if code == NATIONAL:
        return "national"
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


def province_of(code: str) -> str:
    """The province-level code ``PP0000`` above (or equal to) ``code``.

    Raises:
        InvalidRegion: For a malformed code or the national level, which has no province.
    """
    if level_of(code) == "national":
        raise InvalidRegion(CODE_FORMAT, "the national level has no province")
    return code[:2] + "0000"


def parent_of(code: str) -> str | None:
    """The next level up: county -> city -> province -> national -> ``None``.

    ``"320102"`` -> ``"320100"`` -> ``"320000"`` -> ``"000000"`` -> ``None``.

    Raises:
        InvalidRegion: For a malformed code.
    """
    match level_of(code):
        case "county":
            return code[:4] + "00"
        case "city":
            return code[:2] + "0000"
        case "province":
            return NATIONAL
        case "national":
            return None


def jurisdiction_prefix(code: str) -> str:
    """The prefix every region under a jurisdiction starts with.

    ``"320000"`` -> ``"32"``, ``"320100"`` -> ``"3201"``, ``"320102"`` -> ``"320102"``,
    ``"000000"`` or ``""`` -> ``""``.  Suitable for a SQL ``LIKE prefix || '%'`` filter.

    Raises:
        InvalidRegion: For a malformed code.
    """
    match level_of(code):
        case "national":
            return ""
        case "province":
            return code[:2]
        case "city":
            return code[:4]
        case "county":
            return code


def covers(jurisdiction: str, region: str) -> bool:
    """Whether ``jurisdiction`` includes ``region`` (itself or any region below it).

    Both codes are checked strictly: a malformed jurisdiction raises rather than silently
    covering nothing or everything.

    Args:
        jurisdiction: A region code, ``"000000"`` or ``""`` for the national level.
        region: The region code of the thing being accessed (``"000000"`` for a national
            body, which only the national level covers).

    Raises:
        InvalidRegion: Either code is not six digits (``""`` is allowed for the jurisdiction).
    """
    prefix = jurisdiction_prefix(jurisdiction)
    if not _is_six_digits(region):
        raise InvalidRegion(CODE_FORMAT, "a region code is six digits (GB/T 2260)")
    return region.startswith(prefix)


@functools.lru_cache(maxsize=1)
def _province_set() -> frozenset[str]:
    return frozenset(province_codes())


def _is_six_digits(code: str) -> bool:
    return len(code) == _CODE_LENGTH and code.isascii() and code.isdigit()
