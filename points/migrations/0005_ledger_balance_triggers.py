from django.db import migrations

# The functions live in public (as public.forbid_change does) so that clinic schemas copied from
# the template share them; they find the clinic's tables through TG_TABLE_SCHEMA, never through
# the search path, because a deferred trigger may run after the search path has moved on.

ENTRY_CHAIN = """
CREATE OR REPLACE FUNCTION public.points_entry_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    previous bigint;
BEGIN
    EXECUTE format('SELECT balance_after FROM %I.points_entry WHERE account_id = $1 '
                   'ORDER BY id DESC LIMIT 1', TG_TABLE_SCHEMA)
        INTO previous USING NEW.account_id;
    IF COALESCE(previous, 0) + NEW.amount <> NEW.balance_after THEN
        RAISE EXCEPTION 'points entry breaks the balance chain of account %: % + % <> %',
            NEW.account_id, COALESCE(previous, 0), NEW.amount, NEW.balance_after
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER points_entry_chain BEFORE INSERT ON points_entry
    FOR EACH ROW EXECUTE FUNCTION public.points_entry_chain();
"""

ACCOUNT_BALANCED = """
CREATE OR REPLACE FUNCTION public.points_account_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    account bigint;
    cached bigint;
    last_after bigint;
    open_total bigint;
BEGIN
    IF TG_TABLE_NAME = 'points_account' THEN
        account := NEW.id;
    ELSE
        account := NEW.account_id;
    END IF;
    EXECUTE format('SELECT balance FROM %I.points_account WHERE id = $1', TG_TABLE_SCHEMA)
        INTO cached USING account;
    EXECUTE format('SELECT balance_after FROM %I.points_entry WHERE account_id = $1 '
                   'ORDER BY id DESC LIMIT 1', TG_TABLE_SCHEMA)
        INTO last_after USING account;
    EXECUTE format('SELECT SUM(remaining) FROM %I.points_lot WHERE account_id = $1 AND remaining > 0',
                   TG_TABLE_SCHEMA)
        INTO open_total USING account;
    IF cached <> COALESCE(last_after, 0) OR cached <> COALESCE(open_total, 0) THEN
        RAISE EXCEPTION 'points account % has balance % but its entries say % and its open lots %',
            account, cached, COALESCE(last_after, 0), COALESCE(open_total, 0)
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER points_account_balanced AFTER INSERT OR UPDATE ON points_account
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.points_account_balanced();
CREATE CONSTRAINT TRIGGER points_lot_balanced AFTER INSERT OR UPDATE OF remaining ON points_lot
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.points_account_balanced();
"""


class Migration(migrations.Migration):
    """Balance = Σ entries, enforced by the database: each new entry's balance_after must continue
    the account's chain, and at commit every touched account's balance must equal its last
    balance_after and the sum of its open lots."""

    dependencies = [("points", "0004_ledger_constraints_permissions_coupon_events")]

    operations = [
        migrations.RunSQL(
            ENTRY_CHAIN,
            reverse_sql="DROP TRIGGER IF EXISTS points_entry_chain ON points_entry;",
        ),
        migrations.RunSQL(
            ACCOUNT_BALANCED,
            reverse_sql="DROP TRIGGER IF EXISTS points_lot_balanced ON points_lot; "
                        "DROP TRIGGER IF EXISTS points_account_balanced ON points_account;",
        ),
    ]
