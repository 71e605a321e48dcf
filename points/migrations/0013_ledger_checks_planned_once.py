"""The ledger's checks (0007, 0008) run their statements planned once per session in the usual case.

Shared by every clinic, the trigger functions in public find the clinic's tables through
TG_TABLE_SCHEMA with EXECUTE format(...), which parses and plans the statement on every call: a
checkout paying with the card ran them nine times, and planning cost more than running. When the
table's schema is the session's current schema (a clinic's own writes: its search path starts with
its schema), the same statements are now written out, so PL/pgSQL keeps their plans (one copy per
trigger, so per clinic; planned again if the search path changes). Any other write (another search
path, a deferred check after the path moved on) takes the EXECUTE path as before. What is checked
does not change."""

import importlib

from django.db import migrations

_0007 = importlib.import_module("points.migrations.0007_ledger_set_based_triggers")
_0008 = importlib.import_module("points.migrations.0008_ledger_pending_one_row")


def _touched(rows: str) -> str:
    return (f"INSERT INTO points_ledger_pending AS p (account_ids) "
            f"SELECT array_agg(DISTINCT t.account_id) FROM ({rows}) AS t(account_id) HAVING COUNT(*) > 0 "
            f"ON CONFLICT (transaction_id) DO UPDATE SET account_ids = p.account_ids || EXCLUDED.account_ids;")


TOUCH = f"""
CREATE OR REPLACE FUNCTION public.points_ledger_touch_once() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched text;
BEGIN
    -- TG_ARGV[0]: the column holding the account id (id on points_account, account_id elsewhere).
    IF TG_TABLE_SCHEMA = current_schema() THEN
        IF TG_OP = 'INSERT' AND TG_ARGV[0] = 'id' THEN
            {_touched("SELECT id FROM new_rows")}
        ELSIF TG_OP = 'INSERT' THEN
            {_touched("SELECT account_id FROM new_rows")}
        ELSIF TG_OP = 'UPDATE' AND TG_ARGV[0] = 'id' THEN
            {_touched("SELECT id FROM new_rows UNION SELECT id FROM old_rows")}
        ELSIF TG_OP = 'UPDATE' THEN
            {_touched("SELECT account_id FROM new_rows UNION SELECT account_id FROM old_rows")}
        ELSE
            {_touched("SELECT account_id FROM old_rows")}
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        touched := format('SELECT %I FROM new_rows', TG_ARGV[0]);
    ELSIF TG_OP = 'UPDATE' THEN
        touched := format('SELECT %1$I FROM new_rows UNION SELECT %1$I FROM old_rows', TG_ARGV[0]);
    ELSE
        touched := format('SELECT %I FROM old_rows', TG_ARGV[0]);
    END IF;
    EXECUTE format('INSERT INTO %1$I.points_ledger_pending AS p (account_ids) '
                   'SELECT array_agg(DISTINCT t.account_id) FROM (%2$s) AS t(account_id) '
                   'HAVING COUNT(*) > 0 '
                   'ON CONFLICT (transaction_id) DO UPDATE '
                   'SET account_ids = p.account_ids || EXCLUDED.account_ids',
                   TG_TABLE_SCHEMA, touched);
    RETURN NULL;
END $$;
"""

# The statements of 0007's checks, with the schema left to the caller: "%1$I." for EXECUTE
# format(), "" for the written-out statement.
CHAIN_SQL = """
        WITH fresh AS (
            SELECT n.id, n.account_id, n.amount, n.balance_after,
                   lag(n.balance_after) OVER w AS before_in_statement,
                   row_number() OVER w AS position
            FROM new_entries n
            WINDOW w AS (PARTITION BY n.account_id ORDER BY n.id)
        )
        , checked AS (
            SELECT f.id, f.account_id, f.amount, f.balance_after,
                   COALESCE(CASE WHEN f.position = 1 THEN (
                       SELECT e.balance_after FROM {schema}points_entry e
                       WHERE e.account_id = f.account_id AND e.id < f.id
                       ORDER BY e.id DESC LIMIT 1) ELSE f.before_in_statement END, 0) AS previous
            FROM fresh f
        )
        SELECT c.account_id, c.amount, c.balance_after, c.previous FROM checked c
        WHERE c.previous + c.amount <> c.balance_after
        ORDER BY c.id
        LIMIT 1"""

BALANCED_SQL = """
        WITH taken AS (
            DELETE FROM {schema}points_ledger_pending
            WHERE transaction_id = pg_current_xact_id()
            RETURNING account_ids
        ),
        touched AS (
            SELECT DISTINCT unnest(account_ids) AS id FROM taken
        )
        SELECT a.id AS account, a.balance AS cached,
               COALESCE(last.balance_after, 0) AS last_after, COALESCE(open.total, 0) AS open_total
        FROM touched t
        JOIN {schema}points_account a ON a.id = t.id
        LEFT JOIN LATERAL (
            SELECT e.balance_after FROM {schema}points_entry e
            WHERE e.account_id = a.id ORDER BY e.id DESC LIMIT 1
        ) last ON true
        LEFT JOIN LATERAL (
            SELECT SUM(l.remaining) AS total FROM {schema}points_lot l
            WHERE l.account_id = a.id AND l.remaining > 0
        ) open ON true
        WHERE a.balance <> COALESCE(last.balance_after, 0) OR a.balance <> COALESCE(open.total, 0)
        ORDER BY a.id
        LIMIT 1"""

for _name, _sql in (("points_entry_chain_set", CHAIN_SQL), ("points_ledger_balanced", BALANCED_SQL)):
    # The written-out statements are 0007's, word for word.
    assert _sql.format(schema="%1$I.") in _0007.FUNCTIONS, _name

CHECKS = f"""
CREATE OR REPLACE FUNCTION public.points_entry_chain_set() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF TG_TABLE_SCHEMA = current_schema() THEN
        {CHAIN_SQL.format(schema="")}
        INTO bad;
    ELSE
        EXECUTE format($q${CHAIN_SQL.format(schema="%1$I.")}
        $q$, TG_TABLE_SCHEMA) INTO bad;
    END IF;
    IF bad.account_id IS NOT NULL THEN
        RAISE EXCEPTION 'points entry breaks the balance chain of account %: % + % <> %',
            bad.account_id, bad.previous, bad.amount, bad.balance_after
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION public.points_ledger_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF TG_TABLE_SCHEMA = current_schema() THEN
        {BALANCED_SQL.format(schema="")}
        INTO bad;
    ELSE
        EXECUTE format($q${BALANCED_SQL.format(schema="%1$I.")}
        $q$, TG_TABLE_SCHEMA) INTO bad;
    END IF;
    IF bad.account IS NOT NULL THEN
        RAISE EXCEPTION 'points account % has balance % but its entries say % and its open lots %',
            bad.account, bad.cached, bad.last_after, bad.open_total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("points", "0012_merge_coupon_limit_and_storedvalue")]

    operations = [
        migrations.RunSQL(TOUCH + CHECKS, reverse_sql=_0007.FUNCTIONS + _0008.TOUCH_ONE_ROW),
    ]
