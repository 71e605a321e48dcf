"""A clinic that leaves takes its data: clinic_export writes its schema (pg_dump) and records,
clinic_import restores them into a fresh database, and back again. Real pg_dump, pg_restore and
PostgreSQL; the other database is reached through manage.py run against it."""

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from accounts.models import User
from clinics.models import Clinic, ClinicEvent
from clinics.platform.portability import schema_row_counts
from clinics.platform.provisioning import OwnerSpec, clinic_create
from conftest import TEST_PASSWORD, _test_database_url, catalog_vacuum
from members.services import member_register
from points.ledger import Source, account_for, ledger_debit
from points.models import Account, Entry
from points.selectors import ledger_verify
from points.tests.factories import points_give

SLUG = "leaving"


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + f"/{name}"


def manage(*arguments: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic_loyalty.settings.test", "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "manage.py", *arguments], cwd=settings.BASE_DIR, env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def fresh_database(django_db_setup, django_db_blocker) -> Iterator[str]:
    """Another, empty database set up with migrate_platform, as a new server would have it."""
    name = f"{connection.settings_dict['NAME']}_fresh"
    admin_url = with_database(_test_database_url(), "postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(_test_database_url(), name)
    try:
        result = manage("migrate_platform", database_url=url)
        assert result.returncode == 0, result.stderr
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def other_database_row_counts(url: str, schema: str) -> dict[str, int]:
    with psycopg.connect(url) as other:
        tables = [row[0] for row in other.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_type = 'BASE TABLE'", [schema])]
        return {table: other.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]  # noqa: S608
                for table in tables}


# The KPI rollups' change-row tables: an import rebuilds them compacted (the same sums, fewer rows).
COMPACTED = ("insights_pointsday", "insights_daytotal")


def uncompacted(counts: dict[str, int]) -> dict[str, int]:
    return {table: n for table, n in counts.items() if table not in COMPACTED}


def points_days(url: str, schema: str) -> dict[tuple, int]:
    """The points rollup's sums per day, kind and sign (its change rows folded)."""
    with psycopg.connect(url) as other:
        return {(day, kind, credit): amount for day, kind, credit, amount in other.execute(
            f'SELECT day, kind, credit, sum(amount) FROM "{schema}".insights_pointsday '  # noqa: S608
            "GROUP BY 1, 2, 3 HAVING sum(amount) <> 0")}


def clinic_drop(slug: str) -> None:
    connection.set_schema_to_public()
    for clinic in Clinic.objects.filter(schema_name=slug):
        clinic.delete(force_drop=True)


@pytest.fixture
def leaving_clinic(committed_db) -> Iterator[Clinic]:
    """A committed clinic with members, points earned, some redeemed, and its ledger sound."""
    clinic_drop(SLUG)
    catalog_vacuum()
    connection.close()
    connection.set_schema_to_public()
    clinic = clinic_create(slug=SLUG, name="离开的诊所", actor="tests",
                           owner=OwnerSpec(username="owner", email="owner@leaving.test",
                                           full_name="业主", password=TEST_PASSWORD))
    with tenant_context(clinic):
        owner = User.objects.get(username="owner")
        for number in range(6):
            member = member_register(name=f"会员{number}", phone=f"1380013{number:04d}", actor=owner)
            points_give(member, 100 * (number + 1))
            if number % 2:
                with transaction.atomic():
                    ledger_debit(account=account_for(member, lock=True), amount=30 * number,
                                 kind=Entry.Kind.REDEEM, source=Source("test"), actor=owner)
        assert ledger_verify() == []
    try:
        yield clinic
    finally:
        clinic_drop(SLUG)


def balances() -> dict[str, int]:
    return dict(Account.objects.values_list("member__member_number", "balance"))


def test_a_clinic_goes_to_a_fresh_database_and_back_with_every_row_and_a_sound_ledger(
        leaving_clinic, fresh_database, tmp_path):
    counts = schema_row_counts(SLUG)
    assert counts["points_entry"] == 9  # 6 credits, 3 debits
    with tenant_context(leaving_clinic):
        before = balances()
    assert sorted(before.values()) == [100, 170, 300, 310, 450, 500]
    events = ClinicEvent.objects.filter(clinic=leaving_clinic).count()
    domains = list(leaving_clinic.domains.values_list("domain", "is_primary"))
    archive = tmp_path / "leaving.tar.gz"
    call_command("clinic_export", SLUG, str(archive))

    # Into a fresh database: every table has the same rows, and the ledger agrees there.
    result = manage("clinic_import", str(archive), database_url=fresh_database)
    assert result.returncode == 0, result.stdout + result.stderr
    # The import rebuilds the KPI rollups from the visits and the ledger (COMPACTED).
    sums = points_days(_test_database_url(), SLUG)
    assert uncompacted(other_database_row_counts(fresh_database, SLUG)) == uncompacted(counts)
    assert points_days(fresh_database, SLUG) == sums != {}
    result = manage("verify_ledger", "--clinic", SLUG, database_url=fresh_database)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{SLUG}: ledger agrees" in result.stdout

    # The clinic leaves this database, and comes back from the other one.
    clinic_drop(SLUG)
    back = tmp_path / "back.tar.gz"
    result = manage("clinic_export", SLUG, str(back), database_url=fresh_database)
    assert result.returncode == 0, result.stdout + result.stderr
    call_command("clinic_import", str(back), actor="tests")

    returned = Clinic.objects.get(schema_name=SLUG)
    assert (returned.name, returned.language, returned.currency, returned.time_zone) == (
        leaving_clinic.name, leaving_clinic.language, leaving_clinic.currency, leaving_clinic.time_zone)
    assert list(returned.domains.values_list("domain", "is_primary")) == domains
    # Its history came along, with one entry for each import.
    assert ClinicEvent.objects.filter(clinic=returned).count() == events + 2
    assert uncompacted(schema_row_counts(SLUG)) == uncompacted(counts)
    assert points_days(_test_database_url(), SLUG) == sums
    call_command("verify_ledger", "--clinic", SLUG)
    with tenant_context(returned):
        assert balances() == before
        assert ledger_verify() == []


def test_an_import_over_an_existing_clinic_is_refused_and_changes_nothing(leaving_clinic, tmp_path):
    archive = tmp_path / "leaving.tar.gz"
    call_command("clinic_export", SLUG, str(archive))
    counts = schema_row_counts(SLUG)

    with pytest.raises(CommandError, match="already exists"):
        call_command("clinic_import", str(archive))

    assert Clinic.objects.filter(schema_name=SLUG).count() == 1
    assert schema_row_counts(SLUG) == counts


def test_an_archive_of_another_format_is_refused(committed_db, tmp_path):
    bogus = tmp_path / "bogus.tar.gz"
    manifest = tmp_path / "clinic.json"
    manifest.write_text(json.dumps({"format": 99}))
    with tarfile.open(bogus, "w:gz") as archive:
        archive.add(manifest, arcname="clinic.json")
    with pytest.raises(CommandError, match="format"):
        call_command("clinic_import", str(bogus))
    assert not Path(tmp_path / "schema.dump").exists()
