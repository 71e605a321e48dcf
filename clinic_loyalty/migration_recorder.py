"""Whether a schema has its `django_migrations` table, by one index lookup.

Django's `MigrationRecorder.has_table` lists every table the search path shows
(`introspection.table_names`), a query that reads the whole of `pg_class` with a visibility
check per row. With one schema per clinic that catalog grows by about 800 rows a clinic, and a
`migrate` runs the check at least twice per schema: with 1,000 clinics on one database each call
took about 0.5 s, so migrating every clinic grew with the square of the fleet. The lookup here
asks for the one table in the connection's schema (django-tenants' introspection also looks in
that schema only), through the catalogs' (relname, namespace) index."""

from django.db.migrations.recorder import MigrationRecorder

_SQL = ("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p'))")


def _has_table(self: MigrationRecorder) -> bool:
    if self._has_table:
        return True
    schema = getattr(self.connection, "schema_name", None) or "public"
    with self.connection.cursor() as cursor:
        cursor.execute(_SQL, [schema, self.Migration._meta.db_table])
        self._has_table = cursor.fetchone()[0]
    return self._has_table


def recorder_lookup_install() -> None:
    """Called once from the clinics app's ready()."""
    MigrationRecorder.has_table = _has_table
