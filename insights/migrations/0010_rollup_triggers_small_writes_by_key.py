# The rollups' statement triggers on points entries and on visit parts (lines, payments' refunds)
# find each written row's account or visit by its key when the statement wrote a few rows.
#
# They joined the statement's rows (a transition table) to points_account or visits_visit. The
# planner cannot count a transition table when PL/pgSQL plans the statement once for the session,
# so it assumed hundreds of rows and chose to hash the whole other table. For a checkout's one
# points entry that read every points account of the clinic, on every ledger write. Measured in a
# clinic of 20,000 members: 2.9 ms of the checkout's 12 ms, growing with the clinic.
#
# Now a statement of at most 100 rows (a checkout, a redemption, a refund) probes the primary key
# for each row (a LATERAL subquery that OFFSET 0 keeps from being flattened into the join). A
# larger statement (an import, a campaign, the expiry job) keeps the hash join, which is faster
# there: 70-110 ms against 200-370 ms for 100,000 entries.
#
# The functions are 0009's with only those statements changed (asserted below).

import importlib

from django.db import migrations

_0009 = importlib.import_module("insights.migrations.0009_rollup_triggers_in_table_schema")

SMALL = 100


def _by_size(functions: str, old: str, rows: str, small: str) -> str:
    """Run the statement `small` instead of `old` when `rows` holds at most SMALL rows."""
    assert functions.count(old) == 1, old
    indent = " " * (len(old) - len(old.lstrip(" ")))
    choice = (f"{indent}IF (SELECT count(*) FROM (SELECT FROM {rows} LIMIT {SMALL + 1}) s) <= {SMALL} THEN\n"
              f"{_indented(small, '    ')}"
              f"{indent}ELSE\n"
              f"{_indented(old, '    ')}"
              f"{indent}END IF;\n")
    return functions.replace(old, choice)


def _indented(text: str, by: str) -> str:
    return "".join(by + line if line.strip() else line for line in text.splitlines(keepends=True))


def _points_statement(rows: str, alias: str, sign: str, accounts: str) -> str:
    return (f"""        INSERT INTO insights_pointsday (day, kind, credit, amount)
        SELECT ({alias}.effective_at AT TIME ZONE tz)::date, {alias}.kind, {alias}.amount > 0, {sign}sum({alias}.amount)
        FROM {rows} {alias} {accounts}
        GROUP BY 1, 2, 3;
""")


def _points_join(alias: str) -> str:
    return f"JOIN points_account a ON a.id = {alias}.account_id AND a.asset = 'points'"


def _points_by_key(alias: str) -> str:
    return (f"JOIN LATERAL (SELECT FROM points_account a\n"
            f"                      WHERE a.id = {alias}.account_id AND a.asset = 'points' OFFSET 0) a ON true")


def _part_statement(rows: str, alias: str, visits: str) -> str:
    return (f"""        PERFORM insights_rollup_queue(array_agg(v.member_id), array_agg(v.visited_at))
        FROM {rows} {alias} {visits};
""")


def _part_join(alias: str) -> str:
    return f"JOIN visits_visit v ON v.id = {alias}.visit_id"


def _part_by_key(alias: str) -> str:
    return (f"JOIN LATERAL (SELECT member_id, visited_at FROM visits_visit\n"
            f"                             WHERE id = {alias}.visit_id OFFSET 0) v ON true")


PREVIOUS_POINTS = _0009.POINTS
PREVIOUS_CHANGED = _0009.CHANGED

POINTS = PREVIOUS_POINTS
CHANGED = PREVIOUS_CHANGED
for _rows, _alias, _sign in (("new_rows", "n", ""), ("old_rows", "o", "-")):
    POINTS = _by_size(POINTS, _points_statement(_rows, _alias, _sign, _points_join(_alias)), _rows,
                      _points_statement(_rows, _alias, _sign, _points_by_key(_alias)))
    CHANGED = _by_size(CHANGED, _part_statement(_rows, _alias, _part_join(_alias)), _rows,
                       _part_statement(_rows, _alias, _part_by_key(_alias)))


class Migration(migrations.Migration):

    dependencies = [
        ("insights", "0009_rollup_triggers_in_table_schema"),
    ]

    operations = [
        migrations.RunSQL(CHANGED + POINTS, PREVIOUS_CHANGED + PREVIOUS_POINTS),
    ]
