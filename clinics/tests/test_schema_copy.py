"""A new clinic's schema is the template's, object by object: every column (type, not null,
default, identity), constraint, index, function, trigger and table comment under the same name
and definition, the same rows, and identity sequences where the template's are. The copy
refuses a template holding what it does not handle, and a leftover schema of the same name."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection

from clinics.platform import schema_copy as copier
from clinics.platform.provisioning import OwnerSpec, clinic_create
from clinics.platform.schema_copy import schema_copy

TEMPLATE = settings.TENANT_BASE_SCHEMA
OWNER = OwnerSpec(username="boss", email="boss@copy.test", full_name="赵老板", password="Long-enough-9")

SHAPE = {
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
               pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum)
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE c.relnamespace = %(ns)s AND c.relkind = 'r'""",
    "constraints": """
        SELECT c.relname, k.conname, k.contype, k.condeferrable, k.condeferred, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid WHERE c.relnamespace = %(ns)s""",
    "indexes": """
        SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relnamespace = %(ns)s""",
    "functions": "SELECT proname, pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = %(ns)s",
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal""",
    "comments": """
        SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c
        WHERE c.relnamespace = %(ns)s AND c.relkind = 'r'""",
    "identity sequences": """
        SELECT c.relname, a.attname, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> ''
        JOIN pg_sequence s ON s.seqrelid = pg_get_serial_sequence(
            quote_ident(%(schema)s) || '.' || quote_ident(c.relname), a.attname)::regclass
        WHERE c.relnamespace = %(ns)s""",
}


def _plain(definition: str) -> str:
    """A definition without casts, parentheses and spaces: PostgreSQL prints a check it parsed
    from its own printed form with the casts placed differently (ANY ((ARRAY['a'::varchar])::text[])
    becomes ANY (ARRAY[('a'::varchar)::text])), the same constraint."""
    return re.sub(r"::[a-z ]+(\[\])?|[() ]", "", definition)


def shape(schema: str) -> dict[str, set]:
    """The schema's objects, with its name written as S (read with only pg_catalog on the search
    path, so that every definition names its schema)."""
    found = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path'), set_config('search_path', 'pg_catalog', false)")
        was = cursor.fetchone()[0]
        try:
            cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
            params = {"ns": cursor.fetchone()[0], "schema": schema}
            for name, sql in SHAPE.items():
                cursor.execute(sql, params)
                found[name] = {tuple(_plain(str(v).replace(schema, "S")) for v in row) for row in cursor.fetchall()}
        finally:
            cursor.execute("SELECT set_config('search_path', %s, false)", [was])
    return found


def rows_and_sequences(schema: str) -> dict[str, tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT quote_ident(relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY 1", [schema])
        tables = [name for (name,) in cursor.fetchall()]
        found = {}
        for table in tables:
            cursor.execute(f'SELECT md5(coalesce(string_agg(t::text, \'|\' ORDER BY t::text), \'\')), count(*) '  # noqa: S608
                           f'FROM "{schema}".{table} t')
            found[table] = cursor.fetchone()
        cursor.execute("SELECT c.relname, s.last_value FROM pg_class c "
                       "JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "JOIN LATERAL (SELECT * FROM pg_sequences q WHERE q.schemaname = n.nspname "
                       "              AND q.sequencename = c.relname) s ON true "
                       "WHERE n.nspname = %s AND c.relkind = 'S'", [schema])
        found["sequences"] = tuple(sorted(cursor.fetchall(), key=str))
    return found


@pytest.fixture
def in_public(db):
    connection.set_schema_to_public()


def test_a_new_clinics_schema_is_the_template_object_by_object(in_public):
    copier._scripts.clear()  # described afresh from this database's template
    schema_copy(TEMPLATE, "copyclinic")

    copy, template = shape("copyclinic"), shape(TEMPLATE)
    for kind in SHAPE:
        assert copy[kind] == template[kind], kind
    assert len(template["columns"]) > 800 and len(template["triggers"]) > 30 and template["functions"]
    assert rows_and_sequences("copyclinic") == rows_and_sequences(TEMPLATE)
    assert rows_and_sequences(TEMPLATE)["django_migrations"][1] > 100  # the template's rows came along


def test_a_clinic_made_from_the_copy_works_and_its_rollup_and_ledger_triggers_fire(in_public):
    from django_tenants.utils import schema_context

    from checkout.services import LineInput, PaymentInput, checkout_complete
    from insights.rollups import rollups_check
    from members.services import member_register
    from points.selectors import ledger_verify
    from visits.models import CatalogueItem
    from visits.services import catalogue_item_create, category_create

    clinic = clinic_create(slug="copyworks", name="复制诊所", owner=OWNER, actor="tests")
    with schema_context(clinic.schema_name):
        member = member_register(name="王会员", phone="13800002222", actor=None)
        item = catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="面膜", sku="MASK",
                                     category=category_create(name="护肤", code="care"), price=Decimal("100.00"))
        result = checkout_complete(member=member, actor=None, lines=[LineInput(item_id=item.pk)],
                                   payments=[PaymentInput("cash", None)])
        assert result.points_earned > 0
        assert ledger_verify() == [] and rollups_check() == []
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM insights_memberday WHERE member_id = %s", [member.pk])
            assert cursor.fetchone()[0] == 1


def test_a_leftover_schema_of_the_same_name_is_refused_with_a_message(in_public):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "leftover"')
    with pytest.raises(ValidationError, match="already exists"):
        clinic_create(slug="leftover", name="残留", owner=OWNER, actor="tests")


def test_a_template_holding_a_view_is_refused_with_what_it_holds(in_public):
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE VIEW "{TEMPLATE}".a_view AS SELECT 1 AS one')
    copier._scripts.clear()
    with pytest.raises(copier.TemplateNotCopyable, match="a_view"):
        schema_copy(TEMPLATE, "refused")
    copier._scripts.clear()
