import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from conftest import TEST_CLINIC_SLUG
from imports.models import ImportRun
from members.models import Member


def run(*args, **options) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_csv", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def members_file(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text("name,phone\n张小美,13812345678\n李娜,12345\n王静,13912345678\n", encoding="utf-8-sig")
    return path


def test_strict_mode_prints_each_error_and_fails(members_file, db):
    with pytest.raises(CommandError):
        run("members", str(members_file), clinic=TEST_CLINIC_SLUG)

    assert not Member.objects.exists()
    assert ImportRun.objects.get().status == ImportRun.Status.REJECTED


def test_skip_errors_imports_the_rest_and_names_the_importer(members_file, manager):
    out, err = run("members", str(members_file), "--skip-errors", clinic=TEST_CLINIC_SLUG, actor=manager.username)

    assert err.count("\n") == 1
    assert "第 3 行, phone: " in err, "in the clinic's language"
    assert "members.csv" in out
    assert Member.objects.count() == 2
    assert ImportRun.objects.get().actor == manager


def test_unknown_clinic_staff_or_file_are_command_errors(members_file, db):
    with pytest.raises(CommandError, match="nosuchclinic"):
        run("members", str(members_file), clinic="nosuchclinic")
    with pytest.raises(CommandError, match="nobody"):
        run("members", str(members_file), clinic=TEST_CLINIC_SLUG, actor="nobody")
    with pytest.raises(CommandError, match=re.escape("missing.csv")):
        run("members", str(members_file.with_name("missing.csv")), clinic=TEST_CLINIC_SLUG)
    assert not ImportRun.objects.exists()
