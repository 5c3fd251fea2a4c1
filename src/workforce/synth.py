"""Deterministic synthetic people and organisations for demos, tests and benchmarks.

Everything takes a caller-seeded :class:`random.Random`, so the same seed gives the same data.
The generated ID numbers and credit codes are *valid* (real GB/T 2260 regions from the
packaged table, existing birth dates, correct check characters) but random: any
coincidence with a real person's number is accidental.  Not for anything secret: ``random``
is not a cryptographic generator.

:func:`unique_id_numbers` produces millions of distinct numbers in constant memory by walking
a pseudo-random permutation of the space *region x birth date x sequence* instead of
rejection-sampling against a set.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from typing import TYPE_CHECKING, Final, NamedTuple

from workforce import regions
from workforce.security import idnumber, uscc

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from workforce.security.idnumber import Sex

__all__ = [
    "DEFAULT_BIRTH_YEARS",
    "SynthPerson",
    "random_id_number",
    "random_name",
    "random_person",
    "random_uscc",
    "seeded_rng",
    "unique_id_numbers",
]

DEFAULT_BIRTH_YEARS: Final = (1965, 2003)
"""Inclusive range of birth years of a working-age childcare workforce."""
FEMALE_SHARE: Final = 0.9
"""Share of women among generated practitioners (the childcare workforce is mostly female)."""

# Surnames with rough shares (per 10,000 people) after the Ministry of Public Security's 2020
# ranking; the long tail is cut, the weights only need the right order of magnitude.
_SURNAMES: Final[tuple[tuple[str, int], ...]] = (
    ("王", 710), ("李", 700), ("张", 650), ("刘", 540), ("陈", 460), ("杨", 310),
    ("黄", 240), ("赵", 230), ("吴", 200), ("周", 190), ("徐", 150), ("孙", 150),
    ("马", 140), ("朱", 130), ("胡", 130), ("郭", 115), ("何", 110), ("高", 100),
    ("林", 100), ("罗", 90), ("郑", 90), ("梁", 85), ("谢", 80), ("宋", 75), ("唐", 75),
    ("许", 70), ("韩", 70), ("冯", 65), ("邓", 65), ("曹", 60), ("彭", 60), ("曾", 55),
    ("肖", 55), ("田", 50), ("董", 50), ("袁", 50), ("潘", 45), ("于", 45), ("蒋", 45),
    ("蔡", 45), ("余", 40), ("杜", 40), ("叶", 40), ("程", 40), ("苏", 38), ("魏", 38),
    ("吕", 37), ("丁", 36), ("任", 36), ("沈", 35), ("姚", 33), ("卢", 33), ("姜", 32),
    ("崔", 31), ("钟", 30), ("谭", 29), ("陆", 28), ("汪", 27), ("范", 27), ("金", 27),
    ("石", 26), ("廖", 26), ("贾", 25), ("夏", 25), ("韦", 25), ("付", 24), ("方", 24),
    ("白", 23), ("邹", 23), ("孟", 22), ("熊", 22), ("秦", 22), ("邱", 21), ("江", 21),
    ("尹", 21), ("薛", 20), ("闫", 20), ("段", 19), ("雷", 19), ("侯", 19), ("龙", 18),
    ("史", 18), ("陶", 17), ("黎", 17), ("贺", 17), ("顾", 16), ("毛", 16), ("郝", 16),
    ("龚", 15), ("邵", 15), ("万", 15), ("钱", 14), ("严", 14), ("覃", 14), ("武", 14),
    ("戴", 14), ("莫", 13), ("孔", 13), ("向", 13), ("汤", 12),
    ("欧阳", 3), ("上官", 1), ("司马", 1), ("诸葛", 1),
)  # fmt: skip
_SURNAME_CHOICES: Final = tuple(name for name, _ in _SURNAMES)
_SURNAME_CUM_WEIGHTS: Final = tuple(itertools.accumulate(weight for _, weight in _SURNAMES))

_GIVEN_FEMALE: Final = (
    "婷丽静敏燕艳娟霞芳娜秀英玲萍红梅琳雪慧颖倩洁欣怡佳悦雯晶妍璐琪瑶蕾琴露薇丹兰凤莉"
    "月彤晓嘉雨思梦雅诗语涵可馨婉宁甜心佩珊春秋桂云华莹媛淑素巧"
)
_GIVEN_MALE: Final = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林鸿志建国文博峰晨阳振"
)
_GIVEN_NEUTRAL: Final = "文华晓佳雨子一思欣嘉宇安晨"
_TWO_CHAR_GIVEN_SHARE: Final = 0.7

# Registration authority + organisation category of a childcare provider's USCC, weighted:
# 91 enterprise (公司), 52 private non-enterprise unit (民办非企业单位), 12 public institution
# (事业单位), 92 individual business (个体工商户).
_USCC_KINDS: Final = ("91", "52", "12", "92")
_USCC_KIND_WEIGHTS: Final = (55, 30, 10, 5)
_USCC_BODY_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_SEQUENCES: Final = 999  # sequence numbers 001-999


class SynthPerson(NamedTuple):
    """A synthetic practitioner: coherent ID number, name and sex."""

    id_number: str
    name: str
    sex: Sex


def seeded_rng(seed: int | str | bytes) -> random.Random:
    """A reproducible generator for synthetic data (never for secrets)."""
    return random.Random(seed)  # noqa: S311 -- reproducible demo data, not secrets


def random_id_number(
    rng: random.Random,
    region_code: str | None = None,
    birth_year_range: tuple[int, int] = DEFAULT_BIRTH_YEARS,
    *,
    sex: Sex | None = None,
) -> str:
    """A valid random ID number.

    Args:
        rng: Source of randomness (seed it for reproducible data).
        region_code: 6-digit address code; default a random listed county-level code.
        birth_year_range: Inclusive range of birth years.
        sex: Sex to encode; default female with probability :data:`FEMALE_SHARE`.

    Returns:
        An 18-character number that :func:`workforce.security.idnumber.validate` accepts
        (birth dates never lie in the future).

    Raises:
        workforce.regions.InvalidRegion: ``region_code`` is not under a known province.
        ValueError: ``birth_year_range`` is empty or outside 1900 to today.
    """
    region = _region_or_random(rng, region_code)
    first_day, last_day = _birth_day_range(birth_year_range)
    born = dt.date.fromordinal(rng.randint(first_day.toordinal(), last_day.toordinal()))
    sex = sex or _random_sex(rng)
    # Sequence 001-999 whose last digit is odd for men and even for women.
    sequence = rng.randrange(1 if sex == "male" else 2, 1000, 2)
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + idnumber.check_char(body)


def random_name(rng: random.Random, sex: Sex | None = None) -> str:
    """A realistic Simplified Chinese full name: a surname and one or two given characters.

    Args:
        rng: Source of randomness.
        sex: Draw given-name characters typical of this sex; default female with probability
            :data:`FEMALE_SHARE`.  Gender-neutral characters are mixed in either way.
    """
    surname = rng.choices(_SURNAME_CHOICES, cum_weights=_SURNAME_CUM_WEIGHTS)[0]
    pool = _GIVEN_FEMALE if (sex or _random_sex(rng)) == "female" else _GIVEN_MALE
    pool += _GIVEN_NEUTRAL
    length = 2 if rng.random() < _TWO_CHAR_GIVEN_SHARE else 1
    return surname + "".join(rng.choice(pool) for _ in range(length))


def random_person(
    rng: random.Random,
    region_code: str | None = None,
    birth_year_range: tuple[int, int] = DEFAULT_BIRTH_YEARS,
) -> SynthPerson:
    """A practitioner whose name and ID number agree on the sex."""
    sex = _random_sex(rng)
    return SynthPerson(
        id_number=random_id_number(rng, region_code, birth_year_range, sex=sex),
        name=random_name(rng, sex),
        sex=sex,
    )


def random_uscc(rng: random.Random, region_code: str) -> str:
    """A valid unified social credit code registered in ``region_code``.

    The organisation code follows the post-2015 pattern (``MA`` and six characters for
    enterprises, eight digits otherwise) with its GB 11714 check character, so the result
    passes :func:`workforce.security.uscc.validate_uscc`.

    Raises:
        workforce.regions.InvalidRegion: ``region_code`` is not under a known province.
    """
    regions.validate_region_code(region_code)
    kind = rng.choices(_USCC_KINDS, weights=_USCC_KIND_WEIGHTS)[0]
    if kind.startswith("9"):
        body = "MA" + "".join(rng.choice(_USCC_BODY_ALPHABET) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    return uscc.make_uscc(kind + region_code + body + uscc.org_code_check_char(body))


def unique_id_numbers(
    rng: random.Random,
    n: int,
    *,
    region_codes: Sequence[str] | None = None,
    birth_year_range: tuple[int, int] = DEFAULT_BIRTH_YEARS,
) -> Iterator[str]:
    """Yield ``n`` distinct valid ID numbers in a pseudo-random order, in constant memory.

    The space of (region, birth date, sequence) triples is enumerated through an affine
    permutation ``i -> (a * i + b) mod N`` (``gcd(a, N) = 1``, so no index repeats), and the
    index is decoded in mixed radix into independently shuffled lists of regions, dates and
    sequences.  Check characters come from precomputed partial weighted sums, so a number
    costs a few integer operations: 10**6 numbers take a couple of seconds.

    Args:
        rng: Source of randomness (the same seed yields the same sequence).
        n: How many numbers to yield.
        region_codes: Address codes to draw from; default every listed county-level code.
        birth_year_range: Inclusive range of birth years.

    Raises:
        ValueError: ``n`` is negative or larger than the space of distinct numbers.
        workforce.regions.InvalidRegion: A region code is not under a known province.
    """
    region_list = sorted({_id_region(code) for code in region_codes or regions.county_codes()})
    first_day, last_day = _birth_day_range(birth_year_range)
    days = [
        dt.date.fromordinal(ordinal).strftime("%Y%m%d")
        for ordinal in range(first_day.toordinal(), last_day.toordinal() + 1)
    ]
    sequences = [f"{s:03d}" for s in range(1, _SEQUENCES + 1)]
    for values in (region_list, days, sequences):
        rng.shuffle(values)
    space = len(region_list) * len(days) * len(sequences)
    if not 0 <= n <= space:
        msg = f"can make between 0 and {space} distinct numbers with these ranges, not {n}"
        raise ValueError(msg)
    return _walk_permutation(rng, n, region_list, days, sequences)


def _walk_permutation(
    rng: random.Random, n: int, region_list: list[str], days: list[str], sequences: list[str]
) -> Iterator[str]:
    # Partial weighted sums of the check character, per component.
    weights = idnumber.WEIGHTS
    region_sums = [_weighted(code, weights[0:6]) for code in region_list]
    day_sums = [_weighted(day, weights[6:14]) for day in days]
    sequence_sums = [_weighted(seq, weights[14:17]) for seq in sequences]
    check_chars = idnumber.CHECK_CHARS
    n_days, n_sequences = len(days), len(sequences)
    space = len(region_list) * n_days * n_sequences
    multiplier = rng.randrange(space // 3, 2 * space // 3 + 1) | 1
    while math.gcd(multiplier, space) != 1:
        multiplier += 2
    offset = rng.randrange(space)
    index = offset
    for _ in range(n):
        rest, s = divmod(index, n_sequences)
        r, d = divmod(rest, n_days)
        total = region_sums[r] + day_sums[d] + sequence_sums[s]
        yield region_list[r] + days[d] + sequences[s] + check_chars[total % 11]
        index = (index + multiplier) % space


def _weighted(digits: str, weights: Sequence[int]) -> int:
    return sum(int(digit) * weight for digit, weight in zip(digits, weights, strict=True))


def _region_or_random(rng: random.Random, region_code: str | None) -> str:
    if region_code is None:
        return rng.choice(regions.county_codes())
    return _id_region(region_code)


def _id_region(region_code: str) -> str:
    regions.validate_region_code(region_code)
    if region_code == regions.NATIONAL:
        raise regions.InvalidRegion(regions.CODE_UNKNOWN, "an ID number needs a real region")
    return region_code


def _birth_day_range(birth_year_range: tuple[int, int]) -> tuple[dt.date, dt.date]:
    first_year, last_year = birth_year_range
    today = idnumber.today_in_china()
    earliest = idnumber.EARLIEST_BIRTH_DATE.year
    if not earliest <= first_year <= last_year <= today.year:
        msg = f"birth years must satisfy {earliest} <= first <= last <= {today.year}"
        raise ValueError(msg)
    return dt.date(first_year, 1, 1), min(dt.date(last_year, 12, 31), today)


def _random_sex(rng: random.Random) -> Sex:
    return "female" if rng.random() < FEMALE_SHARE else "male"
