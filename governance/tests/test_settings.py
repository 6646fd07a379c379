"""A bad value in the environment stops start-up with a message naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DEBUG", "maybe", "expected one of 1/0, true/false"),
        ("DATABASE_URL", "mysqlx://nowhere", "DATABASE_URL"),
        ("REDIS_URL", "localhost:6379", "redis://"),
        ("TIME_ZONE", "Mars/Olympus_Mons", "IANA time zone"),
        ("LANGUAGE_CODE", "fr", "one of zh-hans, en"),
        ("AXES_FAILURE_LIMIT", "five", "a whole number"),
        ("SECRET_KEY", "short", "too short"),
    ],
)
def test_it_refuses_to_start_with_a_bad_value(variable, value, expected):
    result = start(**{variable: value})
    assert result.returncode != 0
    assert variable in result.stderr
    assert expected in result.stderr


def test_it_requires_a_secret_key_when_debug_is_off():
    result = start(DEBUG="false", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_starts_on_the_embedded_default(tmp_path):
    result = start(GRIDGOV_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
