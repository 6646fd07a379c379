import csv
from pathlib import Path

import pytest

from grids.codes import GridCodeScheme, generate_grid_code, parse_grid_code, validate_grid_code

# 莲湖路第一社区居委会, 青年路街道, 莲湖区, 西安市 (governance/data/610104-lianhu.csv).
LIANHU_ROAD_FIRST = "610104001001"
LIANHU_CSV = Path(__file__).resolve().parents[2] / "governance" / "data" / "610104-lianhu.csv"


def lianhu_villages() -> list[str]:
    with LIANHU_CSV.open(encoding="utf-8") as handle:
        return [row["code"] for row in csv.DictReader(handle) if row["level"] == "village"]


def test_it_uses_a_real_community_code():
    assert LIANHU_ROAD_FIRST in lianhu_villages()


def test_it_generates_a_cjt213_code():
    code = generate_grid_code(scheme=GridCodeScheme.CJT213, community_code=LIANHU_ROAD_FIRST, sequence=1)
    assert code == "61010400100101"
    assert parse_grid_code(code, GridCodeScheme.CJT213) == {
        "scheme": "cjt213",
        "object_class": "",
        "county": "610104",
        "street": "001",
        "community": "001",
        "community_code": LIANHU_ROAD_FIRST,
        "sequence": 1,
    }


def test_it_generates_a_db11_code():
    code = generate_grid_code(scheme=GridCodeScheme.DB11, community_code=LIANHU_ROAD_FIRST, sequence=27)
    assert code == "610104001001027"
    assert parse_grid_code(code, GridCodeScheme.DB11)["sequence"] == 27


def test_it_generates_a_cjt349_code():
    code = generate_grid_code(
        scheme=GridCodeScheme.CJT349, community_code=LIANHU_ROAD_FIRST, sequence=3, object_class="010203"
    )
    assert code == "010203" + "610104001001" + "03"
    assert len(code) == 20
    parts = parse_grid_code(code, GridCodeScheme.CJT349)
    assert parts["object_class"] == "010203"
    assert (parts["county"], parts["street"], parts["community"], parts["sequence"]) == ("610104", "001", "001", 3)


def test_it_uses_00_for_an_undivided_cjt349_community():
    code = generate_grid_code(
        scheme=GridCodeScheme.CJT349, community_code=LIANHU_ROAD_FIRST, sequence=0, object_class="010203"
    )
    assert code.endswith("00")
    validate_grid_code(code, GridCodeScheme.CJT349)


def test_it_accepts_scheme_strings():
    assert generate_grid_code(scheme="db11", community_code=LIANHU_ROAD_FIRST, sequence=999) == "610104001001999"


@pytest.mark.parametrize("scheme", [GridCodeScheme.CJT213, GridCodeScheme.DB11])
def test_it_round_trips_every_lianhu_community(scheme):
    for community_code in lianhu_villages():
        code = generate_grid_code(scheme=scheme, community_code=community_code, sequence=12)
        parts = parse_grid_code(code, scheme)
        assert parts["community_code"] == community_code
        assert parts["sequence"] == 12


@pytest.mark.parametrize(
    ("scheme", "sequence", "message"),
    [
        (GridCodeScheme.CJT213, 0, r"Grid sequence 0 is out of range for CJ/T 213: it must be 1\.\.99"),
        (GridCodeScheme.CJT213, 100, r"Grid sequence 100 is out of range for CJ/T 213: it must be 1\.\.99"),
        (GridCodeScheme.DB11, 1000, r"Grid sequence 1000 is out of range for DB11: it must be 1\.\.999"),
        (GridCodeScheme.DB11, -1, r"Grid sequence -1 is out of range"),
        (GridCodeScheme.CJT213, True, "must be an integer"),
        (GridCodeScheme.CJT213, "01", "must be an integer"),
    ],
)
def test_it_rejects_a_sequence_out_of_range(scheme, sequence, message):
    with pytest.raises(ValueError, match=message):
        generate_grid_code(scheme=scheme, community_code=LIANHU_ROAD_FIRST, sequence=sequence)


def test_it_rejects_cjt349_sequence_100():
    with pytest.raises(ValueError, match=r"out of range for CJ/T 349: it must be 0\.\.99"):
        generate_grid_code(
            scheme=GridCodeScheme.CJT349, community_code=LIANHU_ROAD_FIRST, sequence=100, object_class="010203"
        )


@pytest.mark.parametrize(
    ("community_code", "message"),
    [
        ("61010400100", "Community code must be 12 digits long, got 11"),
        ("6101040010011", "Community code must be 12 digits long, got 13"),
        ("61010400100A", "must contain only the digits 0-9"),
        ("６１０１０４００１００１", "must contain only the digits 0-9"),  # full-width digits
        ("610104001000", "community part 000: it names a street"),
        ("610104000001", "street part 000: it names a county"),
        (610104001001, "must be a string"),
    ],
)
def test_it_rejects_a_bad_community_code(community_code, message):
    with pytest.raises(ValueError, match=message):
        generate_grid_code(scheme=GridCodeScheme.CJT213, community_code=community_code, sequence=1)


def test_it_requires_an_object_class_for_cjt349_only():
    with pytest.raises(ValueError, match="Managed-object class must be 6 digits long, got 0"):
        generate_grid_code(scheme=GridCodeScheme.CJT349, community_code=LIANHU_ROAD_FIRST, sequence=1)
    with pytest.raises(ValueError, match="Managed-object class must contain only the digits"):
        generate_grid_code(
            scheme=GridCodeScheme.CJT349, community_code=LIANHU_ROAD_FIRST, sequence=1, object_class="01020X"
        )
    with pytest.raises(ValueError, match="only used by CJ/T 349, not CJ/T 213"):
        generate_grid_code(
            scheme=GridCodeScheme.CJT213, community_code=LIANHU_ROAD_FIRST, sequence=1, object_class="010203"
        )


def test_it_refuses_a_subdivision_it_has_no_field_for():
    with pytest.raises(ValueError, match="no separate subdivision field"):
        generate_grid_code(
            scheme=GridCodeScheme.CJT349, community_code=LIANHU_ROAD_FIRST, sequence=1,
            object_class="010203", subdivision=2,
        )


def test_it_rejects_an_unknown_scheme():
    with pytest.raises(ValueError, match="not a valid GridCodeScheme"):
        validate_grid_code("61010400100101", "gb999")


@pytest.mark.parametrize(
    ("code", "scheme", "message"),
    [
        ("6101040010010", GridCodeScheme.CJT213, "CJ/T 213 grid code must be 14 digits long, got 13"),
        ("61010400100101", GridCodeScheme.DB11, "DB11 grid code must be 15 digits long, got 14"),
        ("61010400100101", GridCodeScheme.CJT349, "CJ/T 349 grid code must be 20 digits long, got 14"),
        ("6101040010010A", GridCodeScheme.CJT213, "must contain only the digits 0-9"),
        ("61010400100100", GridCodeScheme.CJT213, "Grid sequence 0 is out of range"),
        ("61010400100001", GridCodeScheme.CJT213, "community part 000"),
        ("610104001001000", GridCodeScheme.DB11, "Grid sequence 0 is out of range"),
    ],
)
def test_it_rejects_a_bad_grid_code(code, scheme, message):
    with pytest.raises(ValueError, match=message):
        validate_grid_code(code, scheme)


def test_it_validates_good_codes_silently():
    assert validate_grid_code("61010400100199", GridCodeScheme.CJT213) is None
    assert validate_grid_code("610104001001999", GridCodeScheme.DB11) is None
    assert validate_grid_code("01020361010400100100", GridCodeScheme.CJT349) is None
