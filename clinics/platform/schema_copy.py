"""A new clinic's schema, copied from the template schema in one statement batch whose cost does not
grow with the number of clinics.

django-tenants' `clone_schema` reads the catalogs with queries that scan them whole (pg_depend,
information_schema per column), so on one database with hundreds of clinics each new clinic took
longer than the last (1.2 s at 50 clinics, 5 s at 200 on the development machine). Here the
template is described once per process and per template state (its `django_migrations`), by
catalog lookups, as a script; each clinic then runs the script:

1. the tables, `LIKE` the template's (columns, defaults, identity columns with their sequence
   options, storage, column comments), without indexes or constraints;
2. the template's rows (the defaults every clinic starts with), and each identity sequence set
   where the template's is;
3. primary keys, unique and exclusion constraints, checks and then foreign keys, each by its
   template name and definition (`pg_get_constraintdef`), and the other indexes
   (`pg_get_indexdef`): later migrations find them by name;
4. the template's functions (`pg_get_functiondef`), its triggers (`pg_get_triggerdef`,
   constraint triggers included) and its table comments.

Only what the template holds is handled; a template with anything else (views, types, sequences
not owned by an identity column, rules, policies) is refused with the list, so a migration that
adds one fails loudly in the tests (`clinics/tests/test_schema_copy.py` compares a copy with the
template object by object)."""
# ruff: noqa: S608 - identifiers are quoted with quote_ident / format('%I') from the catalogs

from __future__ import annotations

import contextlib
import re

from django.db import DatabaseError, connection

_scripts: dict[tuple[str, str], str] = {}


class TemplateNotCopyable(Exception):
    """The template holds objects the copy does not make (listed in the message)."""


TARGET = "__clinic_schema__"

_UNSUPPORTED_SQL = """
SELECT 'relation ' || c.relname || ' (kind ' || c.relkind::text || ')' FROM pg_class c
WHERE c.relnamespace = %(ns)s AND c.relkind NOT IN ('r', 'i', 'S')
UNION ALL
SELECT 'sequence ' || c.relname || ' not owned by an identity column' FROM pg_class c
WHERE c.relnamespace = %(ns)s AND c.relkind = 'S' AND NOT EXISTS (
    SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')
UNION ALL
SELECT 'type ' || t.typname FROM pg_type t
WHERE t.typnamespace = %(ns)s AND t.typtype <> 'c' AND t.typelem = 0 AND t.typrelid = 0
UNION ALL
SELECT 'rule ' || r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
WHERE c.relnamespace = %(ns)s AND r.rulename <> '_RETURN'
UNION ALL
SELECT 'policy ' || p.polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = %(ns)s
UNION ALL
SELECT 'generated column ' || c.relname || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace = %(ns)s AND a.attgenerated <> ''
UNION ALL
SELECT 'partitioned or inheriting table ' || c.relname FROM pg_class c
WHERE c.relnamespace = %(ns)s AND (c.relkind = 'p' OR c.relispartition OR EXISTS (
    SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid))
"""


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _template_state(template: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), max(id) FROM {connection.ops.quote_name(template)}.django_migrations")
        return repr(cursor.fetchone())


def _describe(template: str) -> str:
    """The script that makes a copy of `template` in the schema named TARGET."""
    (namespace,), = _rows("SELECT oid FROM pg_namespace WHERE nspname = %(name)s", {"name": template})
    params = {"ns": namespace}
    if unsupported := [row[0] for row in _rows(_UNSUPPORTED_SQL, params)]:
        raise TemplateNotCopyable(f"the clinic template holds what the schema copy does not handle: {unsupported}")
    source = connection.ops.quote_name(template)
    tables = [name for (name,) in _rows(
        "SELECT quote_ident(relname) FROM pg_class WHERE relnamespace = %(ns)s AND relkind = 'r' ORDER BY relname",
        params)]
    statements = [f"CREATE SCHEMA {TARGET}"]
    statements += [f"CREATE TABLE {TARGET}.{table} (LIKE {source}.{table} INCLUDING DEFAULTS INCLUDING IDENTITY "
                   f"INCLUDING STORAGE INCLUDING COMMENTS INCLUDING COMPRESSION)" for table in tables]
    statements += [f"INSERT INTO {TARGET}.{table} OVERRIDING SYSTEM VALUE SELECT * FROM {source}.{table}"
                   for table in tables]
    # Identity sequences where the template's are.
    for table, column, sequence in _rows("""
            SELECT quote_ident(c.relname), a.attname, quote_ident(s.relname) FROM pg_class c
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> ''
            JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.refobjid = c.oid
                            AND d.refobjsubid = a.attnum AND d.deptype = 'i'
            JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
            WHERE c.relnamespace = %(ns)s ORDER BY 1, 2""", params):
        statements.append(
            f"SELECT setval(pg_get_serial_sequence('{TARGET}.{table}', {_literal(column)}), last_value, is_called) "
            f"FROM {source}.{sequence}")
    # Constraints: keys first (foreign keys need them), then checks, then foreign keys.
    for table, name, definition in _rows("""
            SELECT quote_ident(c.relname), quote_ident(k.conname), pg_get_constraintdef(k.oid)
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            WHERE c.relnamespace = %(ns)s AND k.contype IN ('p', 'u', 'x', 'c', 'f')
            ORDER BY array_position(ARRAY['p', 'u', 'x', 'c', 'f']::"char"[], k.contype), 1, 2""", params):
        statements.append(f"ALTER TABLE {TARGET}.{table} ADD CONSTRAINT {name} {_retarget(definition, template)}")
    statements += [_retarget(definition, template) for (definition,) in _rows("""
            SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
            WHERE c.relnamespace = %(ns)s
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = c.oid
                              AND k.contype IN ('p', 'u', 'x'))
            ORDER BY 1""", params)]
    statements += [_retarget(definition, template) for (definition,) in _rows(
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.pronamespace = %(ns)s ORDER BY p.proname, p.oid",
        params)]
    statements += [_retarget(definition, template) for (definition,) in _rows("""
            SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal ORDER BY c.relname, t.tgname""", params)]
    statements += [f"COMMENT ON TABLE {TARGET}.{table} IS {_literal(comment)}" for table, comment in _rows("""
            SELECT quote_ident(c.relname), d.description FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
            WHERE d.classoid = 'pg_class'::regclass AND d.objsubid = 0 AND c.relnamespace = %(ns)s AND c.relkind = 'r'
            ORDER BY 1""", params)]
    return ";\n".join(statements) + ";"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _retarget(definition: str, template: str) -> str:
    """A catalog definition with the template's schema qualifier replaced by TARGET's."""
    quoted = re.escape(connection.ops.quote_name(template))
    return re.sub(rf"(?<![\w\"])(?:{quoted}|{re.escape(template)})\.", f"{TARGET}.", definition)


def _described(template: str) -> str:
    """`_describe` with only pg_catalog on the search path, so that every definition the catalog
    functions print names its schema (then retargeted); the search path is restored after."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path'), set_config('search_path', 'pg_catalog', false)")
        was = cursor.fetchone()[0]
        try:
            return _describe(template)
        finally:
            with contextlib.suppress(DatabaseError):  # an aborted transaction takes the setting with it
                cursor.execute("SELECT set_config('search_path', %s, false)", [was])


def schema_copy(template: str, schema_name: str) -> None:
    """Make `schema_name` a copy of the `template` schema: its tables, rows, constraints, indexes,
    functions and triggers (the caller holds the transaction)."""
    key = (template, _template_state(template))
    if key not in _scripts:
        _scripts.clear()
        _scripts[key] = _described(template)
    script = _scripts[key].replace(TARGET, connection.ops.quote_name(schema_name))
    with connection.cursor() as cursor:
        cursor.execute(script)
