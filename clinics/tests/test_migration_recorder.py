"""The migration recorder's table check answers as Django's own does (the schema's table list),
for a clinic's schema, the public schema and a schema without tables, by one indexed lookup."""

from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django_tenants.utils import schema_context


def django_answer() -> bool:
    with connection.cursor() as cursor:
        return "django_migrations" in connection.introspection.table_names(cursor)


def test_the_recorder_finds_django_migrations_where_django_would(db, django_assert_num_queries):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "emptyschema"')
    for schema, expected in (("testclinic", True), ("public", True), ("emptyschema", False)):
        with schema_context(schema):
            connection.cursor().close()  # the search path is set before the count starts
            with django_assert_num_queries(1):
                assert MigrationRecorder(connection).has_table() is expected, schema
            assert django_answer() is expected, schema
