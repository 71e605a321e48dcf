# The rollups' statement triggers (visits, visit lines and parts, points entries) find their tables
# in the schema of the table that fired them. Each clinic's schema holds its own copy of these
# functions, but the names inside them were looked up through the search path: a write to a
# clinic's tables made from another search path (a platform command or psql naming the schema)
# failed with "relation insights_rollupstate does not exist". When the table's schema is not the
# session's current schema, the function now sets the search path to that schema for its own run
# (the same statements, planned again only in that case) and puts the previous one back; a clinic's
# own writes run as before. The functions are 0007's and 0005's, changed only by that prologue and
# by restoring the search path before each return (asserted below).

import importlib
import re

from django.db import migrations

_0005 = importlib.import_module("insights.migrations.0005_rollup_gaps_and_points")
_0007 = importlib.import_module("insights.migrations.0007_rollup_refresh_at_commit")

PREVIOUS_CHANGED = _0007.CHANGED.replace("{call}", "insights_rollup_queue")
PREVIOUS_POINTS = _0005.POINTS[:_0005.POINTS.index("END $$;") + len("END $$;")] + "\n"

ENTER = """    IF TG_TABLE_SCHEMA IS DISTINCT FROM current_schema() THEN  -- a write from another search path
        was := current_setting('search_path');
        PERFORM set_config('search_path', format('%I, public', TG_TABLE_SCHEMA), true);
    END IF;
"""
LEAVE = r"\1IF was IS NOT NULL THEN PERFORM set_config('search_path', was, true); END IF;\n\1RETURN NULL;"


def _in_table_schema(functions: str, declare_old: str, declare_new: str, count: int) -> str:
    assert functions.count(declare_old) == count and functions.count("RETURN NULL;") >= count
    return re.sub(r"( *)RETURN NULL;", LEAVE, functions.replace(declare_old, declare_new + ENTER))


CHANGED = _in_table_schema(PREVIOUS_CHANGED, "AS $$\nBEGIN\n", "AS $$\nDECLARE\n    was text;\nBEGIN\n", 2)
POINTS = _in_table_schema(PREVIOUS_POINTS, "    tz text;\nBEGIN\n", "    tz text;\n    was text;\nBEGIN\n", 1)


class Migration(migrations.Migration):

    dependencies = [
        ("insights", "0008_rollup_refresh_generic_plans"),
    ]

    operations = [
        migrations.RunSQL(CHANGED + POINTS, PREVIOUS_CHANGED + PREVIOUS_POINTS),
    ]
