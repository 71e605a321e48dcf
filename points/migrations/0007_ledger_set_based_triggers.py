from django.db import migrations

# The same guarantees as 0005, checked per statement and per transaction instead of per row, so
# that a set-based write of N rows (the nightly expiry, the birthday grants) costs a few queries,
# not O(N) trigger queries:
#
# - points_entry_chain_set: after each INSERT statement on points_entry, one query over the new
#   rows (a transition table) checks that every new entry's balance_after continues its account's
#   chain. Immediate, as the row trigger it replaces.
# - points_ledger_touch: after each INSERT/UPDATE/DELETE statement on points_lot, INSERT/UPDATE on
#   points_account and INSERT on points_entry, the ids of the accounts the statement touched are
#   queued as one row in the clinic's points_ledger_pending table.
# - points_ledger_balanced: a deferred constraint trigger on that queue. At commit (or SET
#   CONSTRAINTS ALL IMMEDIATE) its first firing takes every row this transaction queued, checks
#   each touched account once (balance = last balance_after = sum of open lots) in one query, and
#   empties the queue; later firings of the same transaction find nothing left to do. The queue is
#   empty outside running transactions.
#
# The functions live in public (as public.forbid_change does) so that clinic schemas copied from
# the template share them; they find the clinic's tables through TG_TABLE_SCHEMA, never through
# the search path, because a deferred trigger may run after the search path has moved on.

FUNCTIONS = """
CREATE OR REPLACE FUNCTION public.points_entry_chain_set() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    EXECUTE format($q$
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
                       SELECT e.balance_after FROM %1$I.points_entry e
                       WHERE e.account_id = f.account_id AND e.id < f.id
                       ORDER BY e.id DESC LIMIT 1) ELSE f.before_in_statement END, 0) AS previous
            FROM fresh f
        )
        SELECT c.account_id, c.amount, c.balance_after, c.previous FROM checked c
        WHERE c.previous + c.amount <> c.balance_after
        ORDER BY c.id
        LIMIT 1
    $q$, TG_TABLE_SCHEMA) INTO bad;
    IF bad.account_id IS NOT NULL THEN
        RAISE EXCEPTION 'points entry breaks the balance chain of account %: % + % <> %',
            bad.account_id, bad.previous, bad.amount, bad.balance_after
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION public.points_ledger_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched text;
BEGIN
    -- TG_ARGV[0]: the column holding the account id (id on points_account, account_id elsewhere).
    IF TG_OP = 'INSERT' THEN
        touched := format('SELECT %I FROM new_rows', TG_ARGV[0]);
    ELSIF TG_OP = 'UPDATE' THEN
        touched := format('SELECT %1$I FROM new_rows UNION SELECT %1$I FROM old_rows', TG_ARGV[0]);
    ELSE
        touched := format('SELECT %I FROM old_rows', TG_ARGV[0]);
    END IF;
    EXECUTE format('INSERT INTO %I.points_ledger_pending (account_ids) '
                   'SELECT array_agg(DISTINCT t.account_id) FROM (%s) AS t(account_id) '
                   'HAVING COUNT(*) > 0', TG_TABLE_SCHEMA, touched);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION public.points_ledger_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    EXECUTE format($q$
        WITH taken AS (
            DELETE FROM %1$I.points_ledger_pending
            WHERE transaction_id = pg_current_xact_id()
            RETURNING account_ids
        ),
        touched AS (
            SELECT DISTINCT unnest(account_ids) AS id FROM taken
        )
        SELECT a.id AS account, a.balance AS cached,
               COALESCE(last.balance_after, 0) AS last_after, COALESCE(open.total, 0) AS open_total
        FROM touched t
        JOIN %1$I.points_account a ON a.id = t.id
        LEFT JOIN LATERAL (
            SELECT e.balance_after FROM %1$I.points_entry e
            WHERE e.account_id = a.id ORDER BY e.id DESC LIMIT 1
        ) last ON true
        LEFT JOIN LATERAL (
            SELECT SUM(l.remaining) AS total FROM %1$I.points_lot l
            WHERE l.account_id = a.id AND l.remaining > 0
        ) open ON true
        WHERE a.balance <> COALESCE(last.balance_after, 0) OR a.balance <> COALESCE(open.total, 0)
        ORDER BY a.id
        LIMIT 1
    $q$, TG_TABLE_SCHEMA) INTO bad;
    IF bad.account IS NOT NULL THEN
        RAISE EXCEPTION 'points account % has balance % but its entries say % and its open lots %',
            bad.account, bad.cached, bad.last_after, bad.open_total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
"""

TRIGGERS = """
DROP TRIGGER points_entry_chain ON points_entry;
DROP TRIGGER points_account_balanced ON points_account;
DROP TRIGGER points_lot_balanced ON points_lot;

CREATE TABLE points_ledger_pending (
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    account_ids bigint[] NOT NULL
);
COMMENT ON TABLE points_ledger_pending IS
    'Accounts touched by the running transaction, checked and removed at its commit.';
CREATE CONSTRAINT TRIGGER points_ledger_balanced AFTER INSERT ON points_ledger_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.points_ledger_balanced();

CREATE TRIGGER points_entry_chain_set AFTER INSERT ON points_entry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION public.points_entry_chain_set();

CREATE TRIGGER points_entry_touch AFTER INSERT ON points_entry
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.points_ledger_touch('account_id');
CREATE TRIGGER points_account_touch_insert AFTER INSERT ON points_account
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.points_ledger_touch('id');
CREATE TRIGGER points_account_touch_update AFTER UPDATE ON points_account
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.points_ledger_touch('id');
CREATE TRIGGER points_lot_touch_insert AFTER INSERT ON points_lot
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.points_ledger_touch('account_id');
CREATE TRIGGER points_lot_touch_update AFTER UPDATE ON points_lot
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.points_ledger_touch('account_id');
CREATE TRIGGER points_lot_touch_delete AFTER DELETE ON points_lot
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.points_ledger_touch('account_id');
"""

REVERSE_TRIGGERS = """
DROP TRIGGER points_lot_touch_delete ON points_lot;
DROP TRIGGER points_lot_touch_update ON points_lot;
DROP TRIGGER points_lot_touch_insert ON points_lot;
DROP TRIGGER points_account_touch_update ON points_account;
DROP TRIGGER points_account_touch_insert ON points_account;
DROP TRIGGER points_entry_touch ON points_entry;
DROP TRIGGER points_entry_chain_set ON points_entry;
DROP TABLE points_ledger_pending;
CREATE TRIGGER points_entry_chain BEFORE INSERT ON points_entry
    FOR EACH ROW EXECUTE FUNCTION public.points_entry_chain();
CREATE CONSTRAINT TRIGGER points_account_balanced AFTER INSERT OR UPDATE ON points_account
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.points_account_balanced();
CREATE CONSTRAINT TRIGGER points_lot_balanced AFTER INSERT OR UPDATE OF remaining ON points_lot
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.points_account_balanced();
"""


class Migration(migrations.Migration):
    """The ledger's database checks made set-based: per statement and per transaction, not per
    row. The row functions of 0005 stay in public for schemas not yet migrated (and for reversing);
    this migration only swaps the triggers."""

    dependencies = [("points", "0006_lot_moved_from")]

    operations = [
        migrations.RunSQL(FUNCTIONS, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(TRIGGERS, reverse_sql=REVERSE_TRIGGERS),
    ]
