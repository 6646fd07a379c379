"""Loading real division codes, and the labelled demo district."""

import pytest
from django.core.management import call_command
from django.utils import translation

from governance.divisions import DATA_DIR, divisions_import
from governance.models import AdministrativeUnit, Department, UnitLevel, User

pytestmark = pytest.mark.django_db


def test_it_loads_the_real_lianhu_tree():
    result = divisions_import(path=DATA_DIR / "610104-lianhu.csv")
    assert (result.created, result.errors) == (154, [])
    district = AdministrativeUnit.objects.get(code="610104000000")
    assert district.name == "莲湖区" and district.level == UnitLevel.COUNTY
    assert district.children.count() == 9
    assert AdministrativeUnit.objects.filter(path__startswith=district.path, level=UnitLevel.VILLAGE).count() == 142
    street = AdministrativeUnit.objects.get(code="610104001000")
    with translation.override("en"):
        assert street.kind_label == "Street"
    with translation.override("zh-hans"):
        assert street.kind_label == "街道"


def test_it_loads_twice_without_change():
    divisions_import(path=DATA_DIR / "150627-ejin-horo.csv")
    again = divisions_import(path=DATA_DIR / "150627-ejin-horo.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 179)
    with translation.override("en"):
        assert AdministrativeUnit.objects.get(code="150627100000").kind_label == "Town"


def test_it_refuses_a_file_with_bad_rows_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,level,parent_code\n"
        "610000000000,陕西省,province,\n"
        "61010000000,西安市,city,610000000000\n"
        "610104000000,莲湖区,district,610100000000\n",
        encoding="utf-8",
    )
    result = divisions_import(path=bad)
    assert any("line 3" in e and "12 digits" in e for e in result.errors)
    assert any("line 4" in e and "level" in e for e in result.errors)
    assert not AdministrativeUnit.objects.exists()


def test_the_demo_is_labelled_and_idempotent(capsys):
    call_command("load_demo")
    first = capsys.readouterr().out
    assert "gridgov-demo-2026" in first and "gridworker" in first and "DEMO DATA" in first
    counts = (User.objects.count(), Department.objects.count(), AdministrativeUnit.objects.count())
    call_command("load_demo")
    assert (User.objects.count(), Department.objects.count(), AdministrativeUnit.objects.count()) == counts
    assert all(d.is_synthetic and d.name.endswith("（演示）") for d in Department.objects.all())
    assert all(u.full_name.endswith("（演示）") for u in User.objects.all())


def test_periodic_jobs_run_without_redis(capsys):
    call_command("run_periodic", "--once")
    assert "governance.assignments_expire: 0" in capsys.readouterr().out
