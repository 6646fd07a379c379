"""Fixtures for the Open311 tests: dispatch's loop (a place, a grid, a small catalogue, its people),
a component and a governance class beside it, and API clients with keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from django.test import Client

from dispatch.models import ClassKind, MajorClass, MinorClass
from dispatch.tests.conftest import *  # noqa: F401,F403 - loop, english, media, crew
from governance.api.auth import token_issue
from governance.models import ApiClient


def visitor() -> Client:
    """An anonymous 311 app from an address of its own (rates are counted per address, in a cache
    that outlives a test when it is Redis)."""
    return Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}")


@pytest.fixture
def anon() -> Client:
    return visitor()


@dataclass
class Services:
    rubbish: MinorClass  # event:0102
    manhole: MinorClass  # component:0101
    dispute: MinorClass  # governance:0101 — not offered


@pytest.fixture
def services(loop) -> Services:
    component = MajorClass.objects.create(kind=ClassKind.COMPONENT, code="01", name="公用设施")
    manhole = MinorClass.objects.create(major=component, code="01", name="井盖缺失", lead_department=loop.tree.bureau,
                                        limit_amount=2, limit_unit="hours", urgency="urgent", keywords="窨井 下水井")
    governance = MajorClass.objects.create(kind=ClassKind.GOVERNANCE, code="01", name="矛盾纠纷")
    dispute = MinorClass.objects.create(major=governance, code="01", name="邻里纠纷", limit_amount=30, limit_unit="days",
                                        track="dispute")
    return Services(rubbish=loop.rubbish, manhole=manhole, dispute=dispute)


@pytest.fixture
def make_key(db):
    """``make_key(account, scopes=["open311"])`` → the api_key of a new client acting as ``account``."""

    def make(account, scopes=("open311",), **fields) -> str:
        client = ApiClient.objects.create(name=f"311 app {uuid.uuid4().hex[:6]}", account=account,
                                          scopes=list(scopes), **fields)
        return token_issue(client=client, label="test")[1]

    return make


@pytest.fixture
def app_key(loop, make_key) -> str:
    """A 311 app acting as the street A operator: it sees what happens in street A."""
    return make_key(loop.operator)
