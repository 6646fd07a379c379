"""Grid code schemes: generate, parse and validate (see shared/domain/grids.md).

Every scheme is built from the 12-digit statistical division code of the grid's
community/village (统计用区划代码): county 6 (digits 1-6, GB/T 2260), street 3
(digits 7-9, GB/T 10114), community 3 (digits 10-12).

| scheme | length | layout |
|---|---|---|
| CJ/T 213 unit grid | 14 | county 6 + street 3 + community 3 + sequence 2 |
| Beijing DB11       | 15 | district 6 + street 3 + community 3 + sequence 3 |
| CJ/T 349           | 20 | object class 6 + county 6 + street 3 + community 3 + sequence 2 |

Reading of CJ/T 349: its 20 digits have room for one 2-digit number after the
community, the "specialised-grid sequence", "00" when the community is not
subdivided. There is no separate field for a grid's own sequence, so we take
the grid's sequence to be that number: ``sequence`` 1..99 numbers the grids of
the community, and ``sequence=0`` ("00") is the community kept as one grid.
(The DB11 "district" is the county-level code; parts are named ``county`` in
every scheme so callers need not special-case Beijing.)

Only structure is validated, not ranges of county codes: sources disagree on
them and the codes are revised every year. We do reject street "000" or
community "000", because such a code names a county or street, and a grid
always belongs to exactly one community.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = [
    "GridCodeScheme",
    "generate_grid_code",
    "parse_grid_code",
    "validate_grid_code",
]

COMMUNITY_CODE_LENGTH = 12
OBJECT_CLASS_LENGTH = 6


class GridCodeScheme(str, Enum):
    CJT213 = "cjt213"
    DB11 = "db11"
    CJT349 = "cjt349"


@dataclass(frozen=True)
class _Layout:
    label: str
    prefix_length: int  # managed-object class digits before the community code
    sequence_digits: int
    min_sequence: int

    @property
    def length(self) -> int:
        return self.prefix_length + COMMUNITY_CODE_LENGTH + self.sequence_digits

    @property
    def max_sequence(self) -> int:
        return 10**self.sequence_digits - 1


_LAYOUTS = {
    GridCodeScheme.CJT213: _Layout("CJ/T 213", prefix_length=0, sequence_digits=2, min_sequence=1),
    GridCodeScheme.DB11: _Layout("DB11", prefix_length=0, sequence_digits=3, min_sequence=1),
    # 0 is allowed: "00" marks a community that is not subdivided (see module docstring).
    GridCodeScheme.CJT349: _Layout(
        "CJ/T 349", prefix_length=OBJECT_CLASS_LENGTH, sequence_digits=2, min_sequence=0
    ),
}


def _is_ascii_digits(value: str) -> bool:
    # str.isdigit() alone accepts e.g. full-width "１" or Arabic-Indic digits.
    return value.isascii() and value.isdigit()


def _check_digits(value: object, *, what: str, length: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string of {length} digits, got {value!r}.")
    if len(value) != length:
        raise ValueError(f"{what} must be {length} digits long, got {len(value)}: {value!r}.")
    if not _is_ascii_digits(value):
        raise ValueError(f"{what} must contain only the digits 0-9, got {value!r}.")
    return value


def _check_community_code(community_code: object) -> str:
    code = _check_digits(community_code, what="Community code", length=COMMUNITY_CODE_LENGTH)
    if code[6:9] == "000":
        raise ValueError(f"Community code {code!r} has street part 000: it names a county, not a community.")
    if code[9:12] == "000":
        raise ValueError(f"Community code {code!r} has community part 000: it names a street, not a community.")
    return code


def _check_sequence(sequence: object, layout: _Layout) -> int:
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise ValueError(f"Grid sequence must be an integer, got {sequence!r}.")
    if not layout.min_sequence <= sequence <= layout.max_sequence:
        raise ValueError(
            f"Grid sequence {sequence} is out of range for {layout.label}: "
            f"it must be {layout.min_sequence}..{layout.max_sequence} "
            f"({layout.sequence_digits} digits)."
        )
    return sequence


def _check_object_class(object_class: object, scheme: GridCodeScheme) -> str:
    if scheme is GridCodeScheme.CJT349:
        return _check_digits(object_class, what="Managed-object class", length=OBJECT_CLASS_LENGTH)
    if object_class:
        raise ValueError(f"A managed-object class is only used by CJ/T 349, not {_LAYOUTS[scheme].label}.")
    return ""


def generate_grid_code(
    *,
    scheme: GridCodeScheme,
    community_code: str,
    sequence: int,
    object_class: str = "",
    subdivision: int = 0,
) -> str:
    """Build a grid code from its parts; raises ValueError naming the bad part.

    ``sequence`` is the grid's number inside its community (numbered west to
    east, north to south). ``object_class`` is the 6-digit managed-object class,
    required for CJ/T 349 and refused elsewhere.

    ``subdivision`` must stay 0: none of the three layouts has a field for a
    subdivision separate from the sequence (for CJ/T 349 the trailing
    specialised-grid number *is* the sequence). It is kept so a call written
    against a future layout fails loudly instead of silently dropping data.
    """
    scheme = GridCodeScheme(scheme)
    layout = _LAYOUTS[scheme]
    if subdivision != 0:
        raise ValueError(
            f"{layout.label} codes have no separate subdivision field; "
            "pass the grid's number as sequence instead."
        )
    prefix = _check_object_class(object_class, scheme)
    community = _check_community_code(community_code)
    number = _check_sequence(sequence, layout)
    return f"{prefix}{community}{number:0{layout.sequence_digits}d}"


def parse_grid_code(code: str, scheme: GridCodeScheme) -> dict[str, str | int]:
    """Split a valid code into its parts; raises ValueError if it is not valid.

    Keys: scheme, object_class ("" unless CJ/T 349), county, street, community,
    community_code (the 12-digit division code) and sequence (int).
    """
    scheme = GridCodeScheme(scheme)
    layout = _LAYOUTS[scheme]
    _check_digits(code, what=f"{layout.label} grid code", length=layout.length)
    object_class, rest = code[: layout.prefix_length], code[layout.prefix_length :]
    community_code, sequence_text = rest[:COMMUNITY_CODE_LENGTH], rest[COMMUNITY_CODE_LENGTH:]
    _check_community_code(community_code)
    sequence = _check_sequence(int(sequence_text), layout)
    return {
        "scheme": scheme.value,
        "object_class": object_class,
        "county": community_code[0:6],
        "street": community_code[6:9],
        "community": community_code[9:12],
        "community_code": community_code,
        "sequence": sequence,
    }


def validate_grid_code(code: str, scheme: GridCodeScheme) -> None:
    """Raise ValueError with a message naming the problem unless ``code`` is valid."""
    parse_grid_code(code, scheme)
