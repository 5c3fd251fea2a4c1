"""GB/T 2260 region table and jurisdiction arithmetic."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workforce import regions
from workforce.regions import InvalidRegion
from workforce.security import idnumber


def test_all_34_province_level_divisions() -> None:
    assert len(regions.province_codes()) == 34
    assert set(regions.province_codes()) == idnumber.PROVINCE_CODES
    assert regions.region_name("320000") == "江苏省"
    assert regions.region_name("540000") == "西藏自治区"
    assert regions.region_name("820000") == "澳门特别行政区"


def test_every_city_of_jiangsu() -> None:
    jiangsu = [code for code in regions.city_codes() if code.startswith("32")]
    assert jiangsu == [f"32{n:02d}00" for n in range(1, 14)]
    assert regions.region_name("320100") == "南京市"
    assert regions.region_name("321300") == "宿迁市"


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("110100", "市辖区"),
        ("310100", "市辖区"),
        ("330100", "杭州市"),
        ("331100", "丽水市"),
        ("440100", "广州市"),
        ("440300", "深圳市"),
        ("510100", "成都市"),
        ("320102", "玄武区"),
        ("320104", "秦淮区"),
        ("320105", "建邺区"),
        ("320106", "鼓楼区"),
        ("320111", "浦口区"),
        ("320113", "栖霞区"),
        ("320114", "雨花台区"),
        ("320115", "江宁区"),
        ("320505", "虎丘区"),
        ("320506", "吴中区"),
        ("320508", "姑苏区"),
        ("000000", "全国"),
    ],
)
def test_names(code: str, name: str) -> None:
    assert regions.region_name(code) == name


def test_zhejiang_cities() -> None:
    zhejiang = [code for code in regions.city_codes() if code.startswith("33")]
    assert zhejiang == [f"33{n:02d}00" for n in range(1, 12)]


def test_unlisted_codes() -> None:
    assert regions.region_name("320199") is None
    assert regions.region_name("990000") is None
    assert regions.is_known_region("320199")  # unlisted county of a known province
    assert regions.is_known_region("320122")  # 江浦县, abolished in 2002
    assert regions.is_known_region("000000")
    assert not regions.is_known_region("990101")
    assert not regions.is_known_region("32010")
    assert not regions.is_known_region("32010x")
    assert not regions.is_known_region("")


def test_full_name() -> None:
    assert regions.full_name("320102") == "江苏省南京市玄武区"
    assert regions.full_name("320100") == "江苏省南京市"
    assert regions.full_name("320000") == "江苏省"
    assert regions.full_name("110105") == "北京市朝阳区"  # 市辖区 is skipped
    assert regions.full_name("320199") == "江苏省南京市(320199)"
    assert regions.full_name("000000") == "全国"


@pytest.mark.parametrize(
    ("code", "level", "prefix", "parent"),
    [
        ("000000", "national", "", None),
        ("", "national", "", None),
        ("320000", "province", "32", "000000"),
        ("320100", "city", "3201", "320000"),
        ("320102", "county", "320102", "320100"),
        ("110101", "county", "110101", "110100"),
        ("429004", "county", "429004", "429000"),
    ],
)
def test_levels(code: str, level: str, prefix: str, parent: str | None) -> None:
    assert regions.level_of(code) == level
    assert regions.jurisdiction_prefix(code) == prefix
    assert regions.parent_of(code) == parent


def test_province_of() -> None:
    assert regions.province_of("320102") == "320000"
    assert regions.province_of("320000") == "320000"
    with pytest.raises(InvalidRegion):
        regions.province_of("000000")


def test_parent_chain_ends_at_the_national_level() -> None:
    chain = ["320102"]
    while (parent := regions.parent_of(chain[-1])) is not None:
        chain.append(parent)
    assert chain == ["320102", "320100", "320000", "000000"]


@pytest.mark.parametrize(
    ("jurisdiction", "region", "expected"),
    [
        ("000000", "320102", True),
        ("", "320102", True),
        ("000000", "000000", True),
        ("320000", "320000", True),
        ("320000", "320100", True),
        ("320000", "320102", True),
        ("320000", "330102", False),
        ("320000", "000000", False),
        ("320100", "320100", True),
        ("320100", "320102", True),
        ("320100", "320199", True),
        ("320100", "320200", False),
        ("320100", "320000", False),
        ("320100", "320505", False),
        ("320102", "320102", True),
        ("320102", "320104", False),
        ("320102", "320100", False),
        ("110100", "110105", True),
    ],
)
def test_covers(jurisdiction: str, region: str, expected: bool) -> None:
    assert regions.covers(jurisdiction, region) is expected


@pytest.mark.parametrize(
    ("jurisdiction", "region"),
    [("32", "320102"), ("320000", "32"), ("3200000", "320102"), ("320000", "")],
)
def test_covers_refuses_malformed_codes(jurisdiction: str, region: str) -> None:
    with pytest.raises(InvalidRegion) as info:
        regions.covers(jurisdiction, region)
    assert info.value.code == "region_format"


def test_validate_region_code() -> None:
    assert regions.validate_region_code("320102") == "320102"
    assert regions.validate_region_code("000000") == "000000"
    for bad, code in [
        ("32010", "region_format"),
        ("".join(chr(ord(c) + 0xFEE0) for c in "320102"), "region_format"),
        ("abcdef", "region_format"),
        ("990000", "region_unknown"),
        ("720000", "region_unknown"),
    ]:
        with pytest.raises(InvalidRegion) as info:
            regions.validate_region_code(bad)
        assert info.value.code == code


def test_table_is_well_formed_and_cached() -> None:
    table = regions.region_table()
    assert table is regions.region_table()
    assert len(table) > 300
    for code in table:
        assert regions.is_known_region(code)
        parent = regions.parent_of(code)
        # every listed city lies under a listed province
        if regions.level_of(code) == "city":
            assert parent in table
    assert all(regions.level_of(c) == "county" for c in regions.county_codes())
    with pytest.raises(TypeError):
        table["999999"] = "x"  # type: ignore[index]


def test_pure_modules_import_no_framework() -> None:
    code = (
        "import sys\n"
        "import workforce.regions, workforce.synth, workforce.security.idnumber\n"
        "import workforce.security.uscc, workforce.security.pii\n"
        "bad = {'litestar', 'sqlalchemy', 'msgspec', 'advanced_alchemy'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
