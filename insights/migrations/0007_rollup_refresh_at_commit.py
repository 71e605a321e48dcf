# The rollups are refreshed once per transaction, at its commit, instead of after every statement
# that touches visits, lines, refunds or bookings: a checkout inserted the visit and then its lines
# and refreshed the member's day twice. The statement triggers now queue the (member, instant)
# keys on the transaction's one row of insights_rolluppending (the pattern of the ledger's
# points_ledger_pending, points migration 0008), and a deferred constraint trigger on that table
# refreshes them all at commit. A reader in the same transaction first refreshes what its
# transaction queued (`insights.rollups.rollups_ready`, `rollups_usable` call
# insights_rollups_zone()), so the figures stay exact inside a transaction too.

from django.db import migrations

FORWARD = r"""
CREATE TABLE insights_rolluppending (
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    members bigint[] NOT NULL,
    instants timestamptz[] NOT NULL
);
CREATE UNIQUE INDEX insights_rolluppending_transaction ON insights_rolluppending (transaction_id);
COMMENT ON TABLE insights_rolluppending IS
    'The visits'' (member, instant) keys the running transaction touched; refreshed and removed at its commit.';

CREATE OR REPLACE FUNCTION insights_rollup_queue(members bigint[], instants timestamptz[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF members IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO insights_rolluppending AS p (members, instants) VALUES (members, instants)
    ON CONFLICT (transaction_id) DO UPDATE
    SET members = p.members || EXCLUDED.members, instants = p.instants || EXCLUDED.instants;
END $$;

-- Refresh what this transaction queued (nothing when it has written nothing: no transaction id).
CREATE OR REPLACE FUNCTION insights_rollup_flush() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    km bigint[];
    ki timestamptz[];
BEGIN
    IF pg_current_xact_id_if_assigned() IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM insights_rolluppending WHERE transaction_id = pg_current_xact_id()
    RETURNING members, instants INTO km, ki;
    IF km IS NOT NULL THEN
        PERFORM insights_rollup_refresh(km, ki);
    END IF;
END $$;

-- At commit the search path may have moved on to another schema: refresh in the table's own.
CREATE OR REPLACE FUNCTION insights_rollup_flush_at_commit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    was text := current_setting('search_path');
BEGIN
    PERFORM set_config('search_path', format('%I, public', TG_TABLE_SCHEMA), true);
    PERFORM insights_rollup_flush();
    PERFORM set_config('search_path', was, true);
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER insights_rollup_flush AFTER INSERT ON insights_rolluppending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION insights_rollup_flush_at_commit();

-- The rollups' time zone, after refreshing what this transaction queued: what readers ask first.
CREATE OR REPLACE FUNCTION insights_rollups_zone() RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM insights_rollup_flush();
    RETURN (SELECT zone FROM insights_rollupstate WHERE id = 1);
END $$;

"""

# The statement triggers' functions (migration 0004's), calling {call} with the touched keys.
CHANGED = r"""
CREATE OR REPLACE FUNCTION insights_rollup_visit_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM {call}(array_agg(member_id), array_agg(visited_at)) FROM new_rows;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM {call}(array_agg(member_id), array_agg(visited_at)) FROM old_rows;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION insights_rollup_part_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM {call}(array_agg(v.member_id), array_agg(v.visited_at))
        FROM new_rows n JOIN visits_visit v ON v.id = n.visit_id;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM {call}(array_agg(v.member_id), array_agg(v.visited_at))
        FROM old_rows o JOIN visits_visit v ON v.id = o.visit_id;
    END IF;
    RETURN NULL;
END $$;
"""

REVERSE = r"""
DROP FUNCTION insights_rollups_zone();
DROP TRIGGER insights_rollup_flush ON insights_rolluppending;
DROP FUNCTION insights_rollup_flush_at_commit();
DROP FUNCTION insights_rollup_flush();
DROP FUNCTION insights_rollup_queue(bigint[], timestamptz[]);
DROP TABLE insights_rolluppending;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('insights', '0006_member_last_day_bought'),
    ]

    operations = [
        migrations.RunSQL(FORWARD + CHANGED.replace("{call}", "insights_rollup_queue"),
                          CHANGED.replace("{call}", "insights_rollup_refresh") + REVERSE),
    ]
