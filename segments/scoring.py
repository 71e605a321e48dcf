"""The nightly store of each member's RFM scores, RFM cell and lifecycle stage (MemberScore).
The rules are insights.selectors' (`rfm_sql`, `lifecycle_bounds`, `lifecycle_stage_sql`), the same
that Insights panel 6 and the summary read on the fly; this only keeps their result per member so
that segments can test it inside one query."""
# ruff: noqa: S608

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection, transaction

from insights.selectors import counted, insights_settings, lifecycle_bounds, lifecycle_stage_sql, local_start, rfm_sql
from points.rules import clinic_zone


@transaction.atomic
def member_scores_refresh(*, end: date) -> int:
    """Replace every stored score with the one at the end of local day `end`, from the counted
    visits up to then: one row per member with a counted visit, in one statement. Returns the rows
    written. Running it twice for the same day writes the same rows."""
    bounds = lifecycle_bounds(end=end, settings_row=insights_settings())
    rfm, params = rfm_sql(end=end)
    params = {**params, "new_from": bounds.new_from, "active_from": bounds.active_from,
              "lapsed_from": bounds.lapsed_from, "upto": local_start(end + timedelta(days=1)),
              "ztz": clinic_zone().key}
    sql = f"""
        WITH rfm AS ({rfm}),
        life AS (
            SELECT v.member_id, min(v.visited_at) AS first_at, max(v.visited_at) AS last_at
            FROM visits_visit v WHERE v.visited_at < %(upto)s AND {counted()}
            GROUP BY v.member_id)
        INSERT INTO segments_memberscore (member_id, computed_on, first_visit_at, last_visit_at, lifecycle,
                                          recency_days, frequency, monetary, r, f, m, cell)
        SELECT l.member_id, %(end)s, l.first_at, l.last_at, {lifecycle_stage_sql("l.first_at", "l.last_at")},
               %(end)s - (l.last_at AT TIME ZONE %(ztz)s)::date, rfm.frequency, rfm.monetary,
               rfm.r, rfm.f, rfm.m, rfm.cell
        FROM life l LEFT JOIN rfm ON rfm.member_id = l.member_id"""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM segments_memberscore")
        cursor.execute(sql, params)
        return cursor.rowcount
