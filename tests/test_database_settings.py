"""Every database connection the app opens runs without PostgreSQL's JIT compilation
(clinic_loyalty.database; docs/operations.md, "Database settings")."""

from django.db import connection, connections


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
