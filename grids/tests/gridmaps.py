"""Helpers for the grid-maps tests: squares in metres near Xi'an, and grids made through the service."""

from __future__ import annotations

import math

import pytest
from django.utils import translation

from grids.geometry import M_PER_DEG
from grids.services import grid_create, unit_set_boundary

LON0, LAT0 = 108.93, 34.27


def lonlat(x_m: float, y_m: float) -> list[float]:
    """x metres east and y metres north of (LON0, LAT0)."""
    return [LON0 + x_m / (M_PER_DEG * math.cos(math.radians(LAT0))), LAT0 + y_m / M_PER_DEG]


def rect(x0: float, y0: float, x1: float, y1: float) -> dict:
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return {"type": "Polygon", "coordinates": [[lonlat(x, y) for x, y in corners]]}


def community_with_boundary(community, x0=0, y0=0, size=1000):
    unit_set_boundary(unit=community, boundary=rect(x0, y0, x0 + size, y0 + size), actor=None)
    community.refresh_from_db()
    return community


def grid(community, boundary=None, **fields):
    fields.setdefault("name", "测试网格")
    return grid_create(community=community, boundary=boundary, actor=None, **fields)


@pytest.fixture(autouse=True)
def english(client):
    """Messages are asserted in their English source, whatever translations are compiled."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield
