# insights_rollup_refresh is 0006's with two changes, both for the refresh every checkout's commit
# runs (measured in docs/operations.md, "Checkout throughput"):
# - its last statement (each member's running totals and neighbouring days) joins
#   insights_memberday through the member index: the plan PL/pgSQL kept for it (made for any array
#   of members) hashed the member's rows against a sequential scan of the whole table;
# - for a few members (a checkout refreshes one) its statements run on generic plans
#   (plan_cache_mode), planned once per session: PL/pgSQL planned them anew on every call, which
#   cost three times what running them did. A refresh of many members at once (a bulk write) keeps
#   plans made for its actual members, where hash joins beat an index probe per member.

import importlib

from django.db import migrations

PREVIOUS = importlib.import_module("insights.migrations.0006_member_last_day_bought").REFRESH

OLD_WHERE = "    WHERE md.id = x.id AND (md.prev_day IS DISTINCT FROM x.p"
NEW_WHERE = "    WHERE md.member_id = ANY(km) AND md.id = x.id AND (md.prev_day IS DISTINCT FROM x.p"

assert PREVIOUS.count(OLD_WHERE) == 1
OLD_HEAD = "LANGUAGE plpgsql AS $$"
NEW_HEAD = "LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$"
OLD_START = """    IF tz IS NULL OR members IS NULL THEN
        RETURN;
    END IF;
"""
NEW_START = OLD_START + """    IF cardinality(members) > 100 THEN
        PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);  -- until the function returns
    END IF;
"""
assert PREVIOUS.count(OLD_HEAD) == 1 and PREVIOUS.count(OLD_START) == 1
REFRESH = PREVIOUS.replace(OLD_WHERE, NEW_WHERE).replace(OLD_HEAD, NEW_HEAD).replace(OLD_START, NEW_START)


class Migration(migrations.Migration):

    dependencies = [
        ("insights", "0007_rollup_refresh_at_commit"),
    ]

    operations = [migrations.RunSQL(REFRESH, PREVIOUS)]
