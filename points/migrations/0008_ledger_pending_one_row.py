from django.db import migrations

# One queued row per transaction instead of one per statement: points_ledger_touch appends the
# accounts a statement touched to its transaction's row (INSERT … ON CONFLICT DO UPDATE on a
# unique transaction_id), so the deferred points_ledger_balanced check, an AFTER INSERT row
# trigger, fires once per transaction instead of once per write statement. A checkout wrote four
# queued rows and ran the check four times, three of them finding nothing to do.

TOUCH_ONE_ROW = """
CREATE OR REPLACE FUNCTION public.points_ledger_touch_once() RETURNS trigger
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
    EXECUTE format('INSERT INTO %1$I.points_ledger_pending AS p (account_ids) '
                   'SELECT array_agg(DISTINCT t.account_id) FROM (%2$s) AS t(account_id) '
                   'HAVING COUNT(*) > 0 '
                   'ON CONFLICT (transaction_id) DO UPDATE '
                   'SET account_ids = p.account_ids || EXCLUDED.account_ids',
                   TG_TABLE_SCHEMA, touched);
    RETURN NULL;
END $$;
"""

TRIGGERS = [
    ("points_entry_touch", "INSERT", "points_entry", "NEW TABLE AS new_rows", "account_id"),
    ("points_account_touch_insert", "INSERT", "points_account", "NEW TABLE AS new_rows", "id"),
    ("points_account_touch_update", "UPDATE", "points_account", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
     "id"),
    ("points_lot_touch_insert", "INSERT", "points_lot", "NEW TABLE AS new_rows", "account_id"),
    ("points_lot_touch_update", "UPDATE", "points_lot", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
     "account_id"),
    ("points_lot_touch_delete", "DELETE", "points_lot", "OLD TABLE AS old_rows", "account_id"),
]


def _swap(function: str) -> str:
    statements = []
    for name, event, table, referencing, column in TRIGGERS:
        statements.append(f"DROP TRIGGER {name} ON {table};")
        statements.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
                          f"FOR EACH STATEMENT EXECUTE FUNCTION public.{function}('{column}');")
    return "\n".join(statements)


FORWARD = ("CREATE UNIQUE INDEX points_ledger_pending_transaction ON points_ledger_pending (transaction_id);\n"
           + _swap("points_ledger_touch_once"))
REVERSE = _swap("points_ledger_touch") + "\nDROP INDEX points_ledger_pending_transaction;"


class Migration(migrations.Migration):
    """The ledger's deferred balance check runs once per transaction. The function of 0007 stays
    in public for schemas not yet migrated (and for reversing)."""

    dependencies = [("points", "0007_ledger_set_based_triggers")]

    operations = [
        migrations.RunSQL(TOUCH_ONE_ROW, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(FORWARD, reverse_sql=REVERSE),
    ]
