"""migrate_platform at fleet scale: only the clinics whose django_migrations lacks a migration
on disk are migrated, and only the clinics that were migrated or whose defaults predate the
template's get their defaults re-installed."""

import pytest
from django.core.management import call_command
from django.db import connection

from clinics.platform.provisioning import (
    DEFAULTS_MARK,
    TEMPLATE_SCHEMA,
    platform_migrate,
    schemas_behind,
    schemas_defaults_marks,
)


def idempotency_table_in(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s "
                       "AND table_name LIKE 'idempotency%%'", [schema])
        return cursor.fetchone()[0] > 0


@pytest.fixture(scope="module")
def fleet(committed_clinic):
    return [committed_clinic("fleeta", "甲诊所"), committed_clinic("fleetb", "乙诊所")]


def test_a_fresh_clinic_is_up_to_date_and_carries_the_templates_defaults_mark(fleet, committed_db):
    schemas = [clinic.schema_name for clinic in fleet]
    assert schemas_behind(schemas) == []
    marks = schemas_defaults_marks()
    assert marks[TEMPLATE_SCHEMA]
    assert [marks.get(schema) for schema in schemas] == [marks[TEMPLATE_SCHEMA]] * 2


def test_only_the_clinic_that_is_behind_is_migrated_and_given_defaults(fleet, committed_db):
    a, b = (clinic.schema_name for clinic in fleet)
    # Clinic a loses the idempotency app's migration (and its table), as if it had been
    # provisioned before that migration existed.
    call_command("migrate_schemas", "idempotency", "zero", schema_name=a, interactive=False, verbosity=0)
    connection.set_schema_to_public()
    assert not idempotency_table_in(a)
    assert schemas_behind([a, b]) == [a]

    report = platform_migrate(processes=1)

    assert report.behind == [a]
    assert report.defaults == 1
    assert schemas_behind([a, b]) == []
    assert idempotency_table_in(a)


def test_a_clinic_whose_defaults_predate_the_templates_gets_them_again(fleet, committed_db):
    a, b = (clinic.schema_name for clinic in fleet)
    with connection.cursor() as cursor:
        cursor.execute(f'COMMENT ON SCHEMA "{b}" IS %s', [DEFAULTS_MARK + "an-older-template"])

    report = platform_migrate(processes=2)

    assert report.behind == []
    assert report.defaults == 1
    marks = schemas_defaults_marks()
    assert marks[a] == marks[b] == marks[TEMPLATE_SCHEMA]


def test_nothing_to_do_means_nothing_is_done_per_clinic(fleet, committed_db):
    report = platform_migrate(processes=2)

    assert report.clinics >= 2
    assert (report.behind, report.defaults) == ([], 0)
