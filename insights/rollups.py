"""The daily rollups of the counted visits (insights.models: MemberDay, DayTotal, MemberFirst,
MemberBought) and of the points ledger (PointsDay).

Database triggers keep them exact: every statement that inserts, updates or deletes visits, visit
lines, refunds or bookings queues the (member, instant) keys of the visits it touched on its
transaction's row of `insights_rolluppending`; at commit (migration 0007) one deferred trigger
recomputes, in the same transaction, the (member, local day) rows of those keys from the visits
themselves, with the `selectors.counted` rule, adjusts the day totals by the difference,
recomputes those members' first and latest visit days and what they bought on those days. A
checkout that writes a visit and its lines refreshes once. Readers inside a writing transaction
see its own changes: `rollups_ready` and `rollups_usable` refresh what it queued first.
Recomputing from the visits makes every path exact: checkout, refunds, package refunds, voids,
merges moving visits, imports, links of visits to bookings. A trigger on the ledger
(migration 0005) appends each statement's points entries per local day, kind and sign to the
points rollup.

The day totals and the points days are change rows, only ever inserted (concurrent checkouts of one day do not
wait for each other), summed by the readers and compacted nightly (`rollups_compact`).

`rollups_rebuild` rebuilds everything from the visits in the clinic's current time zone; the
nightly job calls it when the zone changed or the rollups are missing, and `manage.py
insights_rollups --rebuild` on request. While the rollups are not in the clinic's zone
(`rollups_ready` is False) the selectors read the visits directly, so the figures stay exact."""
# ruff: noqa: S608

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from clinics.context import clinic_zone
from insights.models import RollupState

# The rule of selectors.counted, for the visit `v` (the triggers' copy is in migration 0006; a test
# proves the rollups equal direct queries).
COUNTED = ("(v.total > v.refunded_total OR (v.total = 0 AND ("
           "NOT EXISTS (SELECT 1 FROM visits_refund r WHERE r.visit_id = v.id) "
           "OR EXISTS (SELECT 1 FROM visits_visitline l WHERE l.visit_id = v.id "
           "AND l.refunded_quantity < l.quantity))))")


# What members bought per local day: lines not refunded in full of visits paid and not refunded
# in full, or free (the segments' "bought" rule; the triggers' copy is in migration 0006).
BOUGHT = """
    SELECT v.member_id, (v.visited_at AT TIME ZONE %(tz)s)::date, l.item_id, l.category_id, count(*)
    FROM visits_visit v JOIN visits_visitline l ON l.visit_id = v.id
    WHERE (v.total > v.refunded_total OR v.total = 0) AND l.refunded_quantity < l.quantity
    GROUP BY 1, 2, 3, 4"""


def rollups_ready() -> bool:
    """Whether the rollups are built in the clinic's current time zone (after refreshing what the
    running transaction has queued, if anything)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT insights_rollups_zone()")
        zone = cursor.fetchone()[0]
    return zone == clinic_zone().key


def rollups_usable(at: datetime) -> bool:
    """Whether the rollups give a member's visits up to `at` exactly, in local days: built in the
    clinic's time zone (after refreshing what the running transaction has queued), and no visit
    later than `at` (always so for now). One query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT insights_rollups_zone() IS NOT DISTINCT FROM %s "
                       "AND NOT EXISTS (SELECT 1 FROM visits_visit WHERE visited_at > %s)", [clinic_zone().key, at])
        return cursor.fetchone()[0]


def rollups_flush() -> None:
    """Refresh now what the running transaction has queued (the deferred trigger would at commit)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT insights_rollup_flush()")


def rollups_rebuild(zone: str | None = None) -> dict[str, int]:
    """Rebuild the rollups from the visits (and the points rollup from the ledger), in `zone` (the
    clinic's time zone by default), in one transaction that locks the visits and the ledger
    against writes meanwhile."""
    zone = zone or clinic_zone().key
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE visits_visit, visits_refund, visits_visitline, appointments_booking "
                       "IN SHARE MODE")
        points_rollup_rebuild(zone)
        cursor.execute("TRUNCATE insights_memberday, insights_daytotal, insights_memberfirst, insights_memberbought")
        cursor.execute(f"""
            INSERT INTO insights_memberday (member_id, day, location_id, visits, revenue, prev_day, next_day,
                                            cum_visits, cum_cents)
            SELECT member_id, day, location_id, visits, revenue, lag(day) OVER w, lead(day) OVER w,
                   sum(visits) OVER w, sum((revenue * 100)::bigint) OVER w
            FROM (SELECT v.member_id, (v.visited_at AT TIME ZONE %(tz)s)::date AS day,
                         coalesce(b.location_id, 0) AS location_id, count(*) AS visits,
                         sum(v.total - v.refunded_total) AS revenue
                  FROM visits_visit v LEFT JOIN appointments_booking b ON b.visit_id = v.id
                  WHERE {COUNTED}
                  GROUP BY 1, 2, 3) g
            WINDOW w AS (PARTITION BY member_id ORDER BY day, location_id)""", {"tz": zone})
        member_days = cursor.rowcount
        cursor.execute("""
            INSERT INTO insights_daytotal (day, location_id, visits, revenue)
            SELECT day, location_id, sum(visits), sum(revenue) FROM insights_memberday GROUP BY 1, 2""")
        cursor.execute("""
            INSERT INTO insights_memberfirst (member_id, first_day, first_paid_day, last_day)
            SELECT member_id, min(day), min(day) FILTER (WHERE revenue > 0), max(day) FROM insights_memberday
            GROUP BY 1""")
        members = cursor.rowcount
        cursor.execute(f"""
            INSERT INTO insights_memberbought (member_id, day, item_id, category_id, lines)
            {BOUGHT}""", {"tz": zone})
        RollupState.objects.update_or_create(pk=1, defaults={"zone": zone, "built_at": timezone.now()})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE insights_memberday; ANALYZE insights_daytotal; ANALYZE insights_memberfirst; "
                       "ANALYZE insights_memberbought")
        cursor.execute("ANALYZE insights_pointsday")
    return {"member_days": member_days, "members": members}


# The ledger entries of points accounts summed per local day (in the zone %(tz)s), kind and sign.
POINTS_DAYS = """
    SELECT (e.effective_at AT TIME ZONE %(tz)s)::date AS day, e.kind, e.amount > 0 AS credit, sum(e.amount) AS amount
    FROM points_entry e JOIN points_account a ON a.id = e.account_id AND a.asset = 'points'
    GROUP BY 1, 2, 3"""


def points_rollup_rebuild(zone: str) -> int:
    """Rebuild the points rollup from the ledger in `zone`, locking the ledger against writes
    meanwhile (inside the caller's transaction, if any); returns the rows written."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE points_entry IN SHARE MODE")
        cursor.execute("TRUNCATE insights_pointsday")
        cursor.execute(f"INSERT INTO insights_pointsday (day, kind, credit, amount) {POINTS_DAYS}", {"tz": zone})
        return cursor.rowcount


def rollups_compact() -> int:
    """Fold the day totals' change rows into one row per day and location; returns the rows
    removed. Safe beside checkouts: rows inserted meanwhile are not in this statement's snapshot
    and stay as they are."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("""
            WITH gone AS (DELETE FROM insights_daytotal RETURNING day, location_id, visits, revenue),
            kept AS (INSERT INTO insights_daytotal (day, location_id, visits, revenue)
                     SELECT day, location_id, sum(visits), sum(revenue) FROM gone GROUP BY 1, 2
                     HAVING sum(visits) <> 0 OR sum(revenue) <> 0 RETURNING 1)
            SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM kept)""")
        removed = cursor.fetchone()[0]
        cursor.execute("""
            WITH gone AS (DELETE FROM insights_pointsday RETURNING day, kind, credit, amount),
            kept AS (INSERT INTO insights_pointsday (day, kind, credit, amount)
                     SELECT day, kind, credit, sum(amount) FROM gone GROUP BY 1, 2, 3
                     HAVING sum(amount) <> 0 RETURNING 1)
            SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM kept)""")
        return removed + cursor.fetchone()[0]


def rollups_check() -> list[str]:
    """The differences between the rollups and the visits (empty when they agree)."""
    zone = clinic_zone().key
    problems = []
    rollups_flush()
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH direct AS (
                SELECT v.member_id, (v.visited_at AT TIME ZONE %(tz)s)::date AS day,
                       coalesce(b.location_id, 0) AS location_id, count(*) AS visits,
                       sum(v.total - v.refunded_total) AS revenue
                FROM visits_visit v LEFT JOIN appointments_booking b ON b.visit_id = v.id
                WHERE {COUNTED} GROUP BY 1, 2, 3),
            stored AS (SELECT member_id, day, location_id, visits, revenue FROM insights_memberday)
            SELECT count(*) FROM ((SELECT * FROM direct EXCEPT ALL SELECT * FROM stored)
                                  UNION ALL (SELECT * FROM stored EXCEPT ALL SELECT * FROM direct)) d""",
                       {"tz": zone})
        if n := cursor.fetchone()[0]:
            problems.append(f"member days: {n} rows differ")
        cursor.execute("""
            WITH stored AS (SELECT day, location_id, sum(visits) AS visits, sum(revenue) AS revenue
                            FROM insights_daytotal GROUP BY 1, 2 HAVING sum(visits) <> 0 OR sum(revenue) <> 0),
                 direct AS (SELECT day, location_id, sum(visits) AS visits, sum(revenue) AS revenue
                            FROM insights_memberday GROUP BY 1, 2)
            SELECT count(*) FROM ((SELECT * FROM direct EXCEPT SELECT * FROM stored)
                                  UNION ALL (SELECT * FROM stored EXCEPT SELECT * FROM direct)) d""")
        if n := cursor.fetchone()[0]:
            problems.append(f"day totals: {n} rows differ")
        cursor.execute("""
            SELECT count(*) FROM (
                (SELECT member_id, min(day), min(day) FILTER (WHERE revenue > 0), max(day) FROM insights_memberday
                 GROUP BY 1
                 EXCEPT SELECT member_id, first_day, first_paid_day, last_day FROM insights_memberfirst)
                UNION ALL
                (SELECT member_id, first_day, first_paid_day, last_day FROM insights_memberfirst
                 EXCEPT SELECT member_id, min(day), min(day) FILTER (WHERE revenue > 0), max(day)
                 FROM insights_memberday GROUP BY 1)) d""")
        if n := cursor.fetchone()[0]:
            problems.append(f"first and last visits: {n} rows differ")
        cursor.execute("""
            SELECT count(*) FROM (
                SELECT prev_day, next_day, cum_visits, cum_cents, lag(day) OVER w AS p, lead(day) OVER w AS n,
                       sum(visits) OVER w AS cv, sum((revenue * 100)::bigint) OVER w AS cc
                FROM insights_memberday WINDOW w AS (PARTITION BY member_id ORDER BY day, location_id)) x
            WHERE prev_day IS DISTINCT FROM p OR next_day IS DISTINCT FROM n OR cum_visits <> cv OR cum_cents <> cc""")
        if n := cursor.fetchone()[0]:
            problems.append(f"member days: {n} rows with a wrong previous or next day or running total")
        cursor.execute(f"""
            WITH stored AS (SELECT day, kind, credit, sum(amount) AS amount FROM insights_pointsday
                            GROUP BY 1, 2, 3 HAVING sum(amount) <> 0),
                 direct AS ({POINTS_DAYS})
            SELECT count(*) FROM ((SELECT * FROM direct EXCEPT SELECT * FROM stored)
                                  UNION ALL (SELECT * FROM stored EXCEPT SELECT * FROM direct)) d""",
                       {"tz": zone})
        if n := cursor.fetchone()[0]:
            problems.append(f"points days: {n} rows differ")
        cursor.execute(f"""
            WITH direct AS ({BOUGHT}),
            stored AS (SELECT member_id, day, item_id, category_id, lines FROM insights_memberbought)
            SELECT count(*) FROM ((SELECT * FROM direct EXCEPT ALL SELECT * FROM stored)
                                  UNION ALL (SELECT * FROM stored EXCEPT ALL SELECT * FROM direct)) d""",
                       {"tz": zone})
        if n := cursor.fetchone()[0]:
            problems.append(f"bought: {n} rows differ")
    return problems
