"""Helpers for the field-work tests (roster, patrols, visits): grids with known square boundaries."""

from __future__ import annotations

import itertools
import math

from grids.codes import GridCodeScheme
from grids.geometry import M_PER_DEG
from grids.models import Grid

_seq = itertools.count(1)

LON0, LAT0 = 108.93, 34.27  # Xi'an


def metres_to_lonlat(dx: float, dy: float, lon0: float = LON0, lat0: float = LAT0) -> tuple[float, float]:
    """The point ``dx`` m east and ``dy`` m north of (lon0, lat0), in the tracks module's projection."""
    return lon0 + dx / (M_PER_DEG * math.cos(math.radians(lat0))), lat0 + dy / M_PER_DEG


def square(size_m: float = 200.0, lon0: float = LON0, lat0: float = LAT0) -> dict:
    """A GeoJSON square of ``size_m`` metres whose south-west corner is (lon0, lat0)."""
    corners = [(0, 0), (size_m, 0), (size_m, size_m), (0, size_m), (0, 0)]
    return {"type": "Polygon", "coordinates": [[list(metres_to_lonlat(x, y, lon0, lat0)) for x, y in corners]]}


def make_grid(community, *, name: str | None = None, boundary: dict | None = None, **fields) -> Grid:
    n = next(_seq)
    return Grid.objects.create(
        community=community,
        name=name or f"测试网格{n}",
        code=f"{community.code}{n:02d}" if n < 100 else f"FW{n:012d}",  # unique within a test run
        code_scheme=GridCodeScheme.CJT213.value,
        sequence=n,
        boundary=boundary if boundary is not None else square(),
        households=fields.pop("households", 400),
        **fields,
    )
