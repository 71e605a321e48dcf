"""Every database connection the app opens runs without PostgreSQL's JIT compilation
(clinic_loyalty.database; docs/operations.md, "Database settings")."""

import pytest
from django.db import connection, connections

from clinic_loyalty.database import statements_prepared


def _jit(conn) -> str:
    with conn.cursor() as cursor:
        cursor.execute("SHOW jit")
        return cursor.fetchone()[0]


def test_the_connection_of_a_request_and_a_newly_opened_one_run_without_jit(db):
    assert _jit(connection) == "off"
    fresh = connections.create_connection("default")
    try:
        fresh.ensure_connection()
        assert _jit(fresh) == "off"
        # What the setting is for: a query whose estimated cost passes jit_above_cost is not compiled.
        with fresh.cursor() as cursor:
            cursor.execute("SET jit_above_cost = 0")
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM generate_series(1, 1000)")
            plan = cursor.fetchone()[0][0]
        assert "JIT" not in plan
    finally:
        fresh.close()


@pytest.fixture
def prepared_statements(db):
    """The test's connection, which prepares statements as every connection of the app does unless
    DB_PREPARED_STATEMENTS is off."""
    from clinic_loyalty.database import PreparingCursor

    assert connection.connection.cursor_factory is PreparingCursor


def _prepared(conn) -> list[str]:
    with conn.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def _member_names() -> list[str]:
    from members.models import Member

    return list(Member.objects.order_by("pk").values_list("name", flat=True))


def test_a_repeated_statement_is_prepared_and_still_reads_the_current_clinic(prepared_statements, other_clinic,
                                                                             owner):
    from clinics.models import Clinic
    from conftest import TEST_CLINIC_SLUG
    from members.services import member_register

    home = Clinic.objects.get(schema_name=TEST_CLINIC_SLUG)
    member_register(name="本店会员", phone="13800000001", actor=owner)
    connection.set_tenant(other_clinic)
    member_register(name="别店会员", phone="13800000002", actor=None)

    # run in the other clinic until prepared
    with statements_prepared():
        for _run in range(6):
            assert _member_names() == ["别店会员"]
    assert any("members_member" in statement for statement in _prepared(connection))

    # the same prepared statement, back in the first clinic, reads the first clinic's members
    with statements_prepared():
        connection.set_tenant(home)
        assert _member_names() == ["本店会员"]
        connection.set_tenant(other_clinic)
        assert _member_names() == ["别店会员"]
        connection.set_tenant(home)


def test_a_statement_postgresql_cannot_bind_values_in_gets_them_written_in(prepared_statements):
    with connection.cursor() as cursor:
        cursor.execute("COMMENT ON TABLE members_member IS %s", ["会员（测试）"])
        cursor.execute("SELECT obj_description('members_member'::regclass)")
        assert cursor.fetchone()[0] == "会员（测试）"
        # and a query's values are bound by the server where statements are prepared, typed where
        # PostgreSQL cannot tell
        with statements_prepared():
            cursor.execute("SELECT %s::text || %s::text", ["甲", "乙"])
            assert cursor.fetchone()[0] == "甲乙"


@pytest.mark.parametrize("on", [True, False])
def test_prepared_statements_are_on_by_default_and_can_be_turned_off(db, settings, on):
    if not on:
        settings.DATABASE_PREPARED_STATEMENTS = False
    fresh = connections.create_connection("default")
    try:
        fresh.ensure_connection()
        with fresh.cursor() as cursor, statements_prepared():
            for _run in range(6):
                cursor.execute("SELECT 1 WHERE %s = %s", [1, 1])
        assert bool(_prepared(fresh)) is on
        assert fresh.connection.prepare_threshold == (5 if on else None)
    finally:
        fresh.close()


def test_several_statements_in_one_string_run_as_before_however_often(prepared_statements):
    statements = "SELECT set_config('application_name', %s, true); SELECT 1"
    with connection.cursor() as cursor, statements_prepared():
        for run in range(7):
            cursor.execute(statements, [f"run {run}"])
        cursor.execute("SHOW application_name")
        assert cursor.fetchone()[0] == "run 6"
    assert not any("application_name" in statement for statement in _prepared(connection))


def test_a_batch_statement_is_planned_for_its_values_and_never_prepared(prepared_statements):
    """A statement with a large array, or with many values, is sent with its values written in
    (planned for them on every run, never prepared); small ones of the same text are prepared."""
    from clinic_loyalty.database import LARGE_ARRAY, LARGE_PARAMS

    large = list(range(LARGE_ARRAY + 1))
    with connection.cursor() as cursor, statements_prepared():
        for _run in range(7):
            cursor.execute("SELECT count(*) FROM unnest(%s::int[]) AS batch_member(id)", [large])
            assert cursor.fetchone()[0] == LARGE_ARRAY + 1
        many = ", ".join(["(%s)"] * (LARGE_PARAMS + 1))
        for _run in range(7):
            cursor.execute(f"SELECT sum(v) FROM (VALUES {many}) AS batch_value(v)",  # noqa: S608 - placeholders
                           list(range(LARGE_PARAMS + 1)))
            assert cursor.fetchone()[0] == LARGE_PARAMS * (LARGE_PARAMS + 1) // 2
        # past the extended protocol's 65,535 values, as a bulk insert can be
        rows = ", ".join(["(%s)"] * 70_000)
        cursor.execute(f"SELECT count(*) FROM (VALUES {rows}) AS batch_value(v)", [1] * 70_000)  # noqa: S608
        assert cursor.fetchone()[0] == 70_000
    assert not any("batch_member" in statement or "batch_value" in statement for statement in _prepared(connection))

    with connection.cursor() as cursor, statements_prepared():
        for _run in range(7):
            cursor.execute("SELECT count(*) FROM unnest(%s::int[]) AS batch_member(id)", [[1, 2, 3]])
            assert cursor.fetchone()[0] == 3
    assert any("batch_member" in statement for statement in _prepared(connection))


def test_captured_queries_show_their_sql_with_the_values(prepared_statements):
    """DEBUG's query log and captured queries (assertNumQueries' report) show each statement with
    its values, although PostgreSQL binds them."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        _member_names()
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s::text || %s::text", ["甲", "乙"])
    sql = [query["sql"] for query in captured.captured_queries]
    assert any(statement and "members_member" in statement for statement in sql)
    assert "SELECT '甲'::text || '乙'::text" in sql


def test_statements_are_prepared_only_inside_the_checkout(prepared_statements, owner, staff_client):
    """Everywhere else a statement is planned for its values on every run (a KPI panel's date range,
    a segment's amounts); the checkout's lookups and writes are prepared."""
    import uuid
    from decimal import Decimal

    from members.services import member_register
    from visits.services import catalogue_item_create, category_create

    for _run in range(7):
        _member_names()
    assert not any("members_member" in statement for statement in _prepared(connection))

    item = catalogue_item_create(kind="product", name="面霜", sku="CREAM", price=Decimal("100.00"),
                                 category=category_create(name="护肤", code="care"))
    client = staff_client(owner)
    for n in range(6):
        member = member_register(name=f"会员{n}", phone=f"1380000{n:04d}", actor=owner)
        response = client.post("/api/v1/visits/", {
            "member_id": member.pk, "lines": [{"item_id": item.pk}],
            "payments": [{"method": "cash", "amount": "100.00"}]}, content_type="application/json",
            headers={"Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code == 201, response.content
    prepared = _prepared(connection)
    assert any('INSERT INTO "visits_visit"' in statement for statement in prepared)
    assert any("points_account" in statement for statement in prepared)
