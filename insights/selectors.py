"""Every KPI read (docs/kpis.md states each formula). A period is local dates `start`..`end`
inclusive in the clinic's time zone; a visit counts when it is checked out and not voided (see
`COUNTED`); revenue is what was paid for the period's visits minus what has been refunded of them.

The reads are hand-written SQL over the visits, the ledger, tiers and appointments, each one
statement (or a few) shaped to use the indexes. The visit figures read the daily rollups
(insights/rollups.py: the counted visits per member and local day, per day, and each member's first
visit day) when they are built in the clinic's time zone: database triggers keep them exact in the
transaction that changes a visit, so a figure read from them equals the direct query (a test
proves it on random data). Otherwise they read the visits directly.

The SQL is assembled only from the constant fragments below (`counted`, `visits_from`); every
value is a query parameter."""
# ruff: noqa: S608

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from feedback import selectors as feedback_selectors
from insights.models import InsightsSettings, LifecycleStage, RfmCellName
from insights.rollups import rollups_ready
from points.rules import clinic_zone, loyalty_settings
from storedvalue.selectors import StoredValueFigures, stored_value_figures
from visits.models import Refund, Visit, VisitLine

CENTS = Decimal("0.01")
RATE_PLACES = 6


# A visit is voided when it has been refunded in full. A paid visit is refunded in full exactly
# when its refunded money reaches its total (a partial refund always leaves some money). A visit
# where nothing was paid (total 0: a free consultation, or paid with points or a coupon) is voided
# when it has a refund and every line of it has been refunded in full.
def counted(alias: str = "v") -> str:
    return (f"({alias}.total > {alias}.refunded_total OR ({alias}.total = 0 AND ("
            f"NOT EXISTS (SELECT 1 FROM visits_refund r WHERE r.visit_id = {alias}.id) "
            f"OR EXISTS (SELECT 1 FROM visits_visitline l WHERE l.visit_id = {alias}.id "
            f"AND l.refunded_quantity < l.quantity))))")


def counted_visits() -> QuerySet[Visit]:
    """The same rule as `counted`, for the ORM (segments build their subqueries on it); a test
    proves both select the same visits."""
    free_kept = ~Exists(Refund.objects.filter(visit=OuterRef("pk"))) | Exists(
        VisitLine.objects.filter(visit=OuterRef("pk"), refunded_quantity__lt=F("quantity")))
    return Visit.objects.filter(Q(total__gt=F("refunded_total")) | (Q(total=0) & free_kept))


def visits_from(location_id: int | None, alias: str = "v") -> str:
    """The visits table, restricted to one location's visits when `location_id` is given: a visit
    is at the location of the appointment it checked out."""
    if location_id is None:
        return f"visits_visit {alias}"
    return (f"visits_visit {alias} JOIN appointments_booking {alias}b ON {alias}b.visit_id = {alias}.id "
            f"AND {alias}b.location_id = %(location)s")


def add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def local_start(day: date) -> datetime:
    """The first instant of the local day `day`."""
    return datetime.combine(day, time.min, tzinfo=clinic_zone())


def rate(numerator, denominator) -> float | None:
    if not denominator:
        return None
    return round(float(Decimal(numerator) / Decimal(denominator)), RATE_PLACES)


def money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENTS, rounding=ROUND_HALF_UP)


def member_days(location_id: int | None, alias: str = "md") -> str:
    """The rollup of counted visits per member, local day and location, restricted to one
    location's rows when `location_id` is given."""
    if location_id is None:
        return f"insights_memberday {alias}"
    return f"(SELECT * FROM insights_memberday WHERE location_id = %(location)s) {alias}"


def _fetch(sql: str, params: dict) -> list[tuple]:
    """The rows of one statement."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def lo(self) -> datetime:
        return local_start(self.start)

    @property
    def hi(self) -> datetime:
        return local_start(self.end + timedelta(days=1))

    def previous(self) -> Period:
        """The equal-length period just before."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def last_year(self) -> Period:
        """The same dates a year earlier (29 February becomes 28 February)."""
        return Period(add_months(self.start, -12), add_months(self.end, -12))


@dataclass(frozen=True)
class Scope:
    period: Period
    location_id: int | None = None

    def params(self, **extra) -> dict:
        return {"lo": self.period.lo, "hi": self.period.hi, "location": self.location_id,
                "tz": clinic_zone().key, **extra}

    def shifted(self, period: Period) -> Scope:
        return Scope(period, self.location_id)


def insights_settings() -> InsightsSettings:
    """The clinic's KPI settings, or the defaults, unsaved."""
    return InsightsSettings.objects.filter(pk=1).first() or InsightsSettings(pk=1)


# --- panels 1-3 and 5: the summary ------------------------------------------------------------

@dataclass
class Summary:
    period: Period
    visits: int
    active_members: int
    repeat_members: int
    previous_active_members: int
    retained_members: int
    revenue: Decimal
    total_members: int
    new_members: int
    members_with_visits: int
    revenue_to_date: Decimal
    lifecycle_active: int
    lifecycle_dormant: int
    lifecycle_lapsed: int

    @property
    def average_order_value(self) -> Decimal | None:
        return money(self.revenue / self.visits) if self.visits else None

    @property
    def visits_per_active_member(self) -> float | None:
        return rate(self.visits, self.active_members)

    @property
    def repeat_rate(self) -> float | None:
        return rate(self.repeat_members, self.active_members)

    @property
    def retention_rate(self) -> float | None:
        return rate(self.retained_members, self.previous_active_members)

    @property
    def churn_rate(self) -> float | None:
        retention = self.retention_rate
        return None if retention is None else round(1 - retention, RATE_PLACES)

    @property
    def historical_clv(self) -> Decimal | None:
        return money(self.revenue_to_date / self.members_with_visits) if self.members_with_visits else None

    @property
    def average_spend_per_active_member(self) -> Decimal | None:
        return money(self.revenue / self.active_members) if self.active_members else None

    @property
    def never_visited(self) -> int:
        return max(self.total_members - self.members_with_visits, 0)


def _activity(scope: Scope) -> tuple:
    previous = scope.period.previous()
    if rollups_ready():
        sql = f"""
            WITH per_member AS (
                SELECT md.member_id,
                       sum(md.visits) FILTER (WHERE md.day >= %(start)s) AS visits,
                       sum(md.revenue) FILTER (WHERE md.day >= %(start)s) AS revenue,
                       bool_or(md.day < %(start)s) AS was_active
                FROM {member_days(scope.location_id)}
                WHERE md.day >= %(prev_start)s AND md.day <= %(end)s
                GROUP BY md.member_id)
            SELECT coalesce(sum(visits), 0), coalesce(sum(revenue), 0),
                   count(*) FILTER (WHERE visits > 0), count(*) FILTER (WHERE visits >= 2),
                   count(*) FILTER (WHERE was_active), count(*) FILTER (WHERE was_active AND visits > 0)
            FROM per_member"""
        return _fetch(sql, scope.params(start=scope.period.start, end=scope.period.end,
                                        prev_start=previous.start))[0]
    sql = f"""
        WITH per_member AS (
            SELECT v.member_id,
                   count(*) FILTER (WHERE v.visited_at >= %(lo)s) AS visits,
                   sum(v.total - v.refunded_total) FILTER (WHERE v.visited_at >= %(lo)s) AS revenue,
                   bool_or(v.visited_at < %(lo)s) AS was_active
            FROM {visits_from(scope.location_id)}
            WHERE v.visited_at >= %(prev_lo)s AND v.visited_at < %(hi)s AND {counted()}
            GROUP BY v.member_id)
        SELECT coalesce(sum(visits), 0), coalesce(sum(revenue), 0),
               count(*) FILTER (WHERE visits > 0), count(*) FILTER (WHERE visits >= 2),
               count(*) FILTER (WHERE was_active), count(*) FILTER (WHERE was_active AND visits > 0)
        FROM per_member"""
    return _fetch(sql, scope.params(prev_lo=previous.lo))[0]


def _history(scope: Scope, settings_row: InsightsSettings) -> tuple:
    """Up to the end of the period: members with a visit, all revenue, and the lifecycle stage
    of each member by the local day of their last visit."""
    if rollups_ready():
        return _history_rollups(scope, settings_row)
    sql = f"""
        WITH per_member AS (
            SELECT v.member_id, max(v.visited_at) AS last_at, sum(v.total - v.refunded_total) AS spent
            FROM {visits_from(scope.location_id)}
            WHERE v.visited_at < %(hi)s AND {counted()}
            GROUP BY v.member_id)
        SELECT count(*), coalesce(sum(spent), 0),
               count(*) FILTER (WHERE last_at >= %(active_from)s),
               count(*) FILTER (WHERE last_at < %(active_from)s AND last_at >= %(lapsed_from)s),
               count(*) FILTER (WHERE last_at < %(lapsed_from)s)
        FROM per_member"""
    bounds = lifecycle_bounds(end=scope.period.end, settings_row=settings_row)
    return _fetch(sql, scope.params(active_from=bounds.active_from, lapsed_from=bounds.lapsed_from))[0]


def _history_rollups(scope: Scope, settings_row: InsightsSettings) -> tuple:
    """`_history` from the rollups: a member's last visit up to `to` is on or after a day exactly
    when they have a visit between that day and `to`, so the stages need only the last
    `lapsed_days` days; the members with a visit and the revenue up to `to` come from the first
    visit days and the day totals."""
    end = scope.period.end
    params = scope.params(end=end, active_day=end - timedelta(days=settings_row.active_days),
                          lapsed_day=end - timedelta(days=settings_row.lapsed_days))
    where_location = " AND location_id = %(location)s" if scope.location_id else ""
    if scope.location_id is None:
        members_sql = "SELECT count(*) FROM insights_memberfirst WHERE first_day <= %(end)s"
    else:
        members_sql = ("SELECT count(DISTINCT member_id) FROM insights_memberday "
                       "WHERE day <= %(end)s AND location_id = %(location)s")
    sql = f"""
        WITH recent AS (
            SELECT md.member_id, max(md.day) AS last_day
            FROM {member_days(scope.location_id)}
            WHERE md.day >= %(lapsed_day)s AND md.day <= %(end)s
            GROUP BY md.member_id)
        SELECT ({members_sql}),
               (SELECT coalesce(sum(revenue), 0) FROM insights_daytotal WHERE day <= %(end)s{where_location}),
               (SELECT count(*) FILTER (WHERE last_day >= %(active_day)s) FROM recent),
               (SELECT count(*) FILTER (WHERE last_day < %(active_day)s) FROM recent)"""
    with_visits, revenue, active, dormant = _fetch(sql, params)[0]
    return with_visits, revenue, active, dormant, with_visits - active - dormant


def _members(period: Period) -> tuple:
    sql = """SELECT count(*) FILTER (WHERE joined_on <= %(end)s),
                    count(*) FILTER (WHERE joined_on >= %(start)s AND joined_on <= %(end)s)
             FROM members_member WHERE status <> 'merged'"""
    return _fetch(sql, {"start": period.start, "end": period.end})[0]


def _summary_gaps(scope: Scope, settings_row: InsightsSettings) -> tuple[tuple, tuple]:
    """`_activity` and `_history` of all locations from the rollups in one scan of the member days
    of the previous period, this period and the lifecycle windows, counting rows instead of
    grouping them: a member is active in days a..b exactly once, by their row in a..b whose
    `prev_day` is before a (or none: their first); that row's `next_day` (or its `visits`) says
    whether they have a second visit by b, and its `prev_day` whether they were active in the
    previous period. The period's visits and revenue come from the day totals."""
    period, previous = scope.period, scope.period.previous()
    active_day = period.end - timedelta(days=settings_row.active_days)
    lapsed_day = period.end - timedelta(days=settings_row.lapsed_days)
    first_in = "(md.prev_day IS NULL OR md.prev_day < {0})"
    sql = f"""
        SELECT count(*) FILTER (WHERE md.day >= %(start)s AND {first_in.format("%(start)s")}),
               count(*) FILTER (WHERE md.day >= %(start)s AND {first_in.format("%(start)s")}
                                AND (md.visits >= 2 OR md.next_day <= %(end)s)),
               count(*) FILTER (WHERE md.day >= %(prev_start)s AND md.day < %(start)s
                                AND {first_in.format("%(prev_start)s")}),
               count(*) FILTER (WHERE md.day >= %(start)s AND md.prev_day >= %(prev_start)s
                                AND md.prev_day < %(start)s),
               count(*) FILTER (WHERE md.day >= %(active_day)s AND {first_in.format("%(active_day)s")}),
               count(*) FILTER (WHERE md.day >= %(lapsed_day)s AND {first_in.format("%(lapsed_day)s")}),
               (SELECT coalesce(sum(visits), 0) FROM insights_daytotal WHERE day >= %(start)s AND day <= %(end)s),
               (SELECT coalesce(sum(revenue), 0) FROM insights_daytotal WHERE day >= %(start)s AND day <= %(end)s),
               (SELECT coalesce(sum(revenue), 0) FROM insights_daytotal WHERE day <= %(end)s),
               (SELECT count(*) FROM insights_memberfirst WHERE first_day <= %(end)s)
        FROM insights_memberday md
        WHERE md.day >= least(%(prev_start)s, %(active_day)s, %(lapsed_day)s) AND md.day <= %(end)s"""
    (active, repeat, previous_active, retained, life_active, recent, visits, revenue, revenue_to_date,
     with_visits) = _fetch(sql, {"start": period.start, "end": period.end, "prev_start": previous.start,
                                 "active_day": active_day, "lapsed_day": lapsed_day})[0]
    life_dormant = recent - life_active
    return ((visits, revenue, active, repeat, previous_active, retained),
            (with_visits, revenue_to_date, life_active, life_dormant, with_visits - recent))


def kpi_summary(*, scope: Scope) -> Summary:
    settings_row = insights_settings()
    if scope.location_id is None and rollups_ready():
        (visits, revenue, active, repeat, previous_active, retained), (
            with_visits, revenue_to_date, life_active, life_dormant, life_lapsed) = _summary_gaps(scope, settings_row)
    else:
        visits, revenue, active, repeat, previous_active, retained = _activity(scope)
        with_visits, revenue_to_date, life_active, life_dormant, life_lapsed = _history(scope, settings_row)
    total, new = _members(scope.period)
    return Summary(period=scope.period, visits=visits, active_members=active, repeat_members=repeat,
                   previous_active_members=previous_active, retained_members=retained, revenue=money(revenue),
                   total_members=total, new_members=new, members_with_visits=with_visits,
                   revenue_to_date=money(revenue_to_date), lifecycle_active=life_active,
                   lifecycle_dormant=life_dormant, lifecycle_lapsed=life_lapsed)


# --- panel 2: visits and revenue over time --------------------------------------------------

GRANULARITIES = ("day", "week", "month")


def granularity_for(period: Period) -> str:
    if period.days <= 62:
        return "day"
    return "week" if period.days <= 190 else "month"


def _bucket_start(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _bucket_next(day: date, unit: str) -> date:
    if unit == "week":
        return day + timedelta(days=7)
    if unit == "month":
        return add_months(day, 1)
    return day + timedelta(days=1)


@dataclass
class SeriesPoint:
    bucket: date
    visits: int
    revenue: Decimal
    active_members: int


def kpi_series(*, scope: Scope, unit: str) -> list[SeriesPoint]:
    """Visits, revenue and members with a visit per local day, ISO week (from Monday) or month;
    the first and last buckets hold only the period's days."""
    if rollups_ready():
        sql = f"""
            SELECT date_trunc(%(unit)s, md.day)::date AS bucket, sum(md.visits), sum(md.revenue),
                   count(DISTINCT md.member_id)
            FROM {member_days(scope.location_id)}
            WHERE md.day >= %(start)s AND md.day <= %(end)s
            GROUP BY 1"""
        params = scope.params(unit=unit, start=scope.period.start, end=scope.period.end)
    else:
        sql, params = _series_direct(scope), scope.params(unit=unit)
    found = {row[0]: row for row in _fetch(sql, params)}
    points = []
    bucket = _bucket_start(scope.period.start, unit)
    while bucket <= scope.period.end:
        row = found.get(bucket)
        points.append(SeriesPoint(bucket, row[1] if row else 0, money(row[2] if row else 0), row[3] if row else 0))
        bucket = _bucket_next(bucket, unit)
    return points


def _series_direct(scope: Scope) -> str:
    return f"""
        SELECT date_trunc(%(unit)s, v.visited_at AT TIME ZONE %(tz)s)::date AS bucket, count(*),
               sum(v.total - v.refunded_total), count(DISTINCT v.member_id)
        FROM {visits_from(scope.location_id)}
        WHERE v.visited_at >= %(lo)s AND v.visited_at < %(hi)s AND {counted()}
        GROUP BY 1"""


# --- panel 4: cohorts ---------------------------------------------------------------------

@dataclass
class Cohort:
    month: date
    size: int
    returning: list[int | None]

    @property
    def retention(self) -> list[float | None]:
        return [None if n is None else (rate(n, self.size) if self.size else 0.0) for n in self.returning]


def kpi_cohorts(*, first_month: date, last_month: date, months: int = 12, location_id: int | None = None,
                today: date) -> list[Cohort]:
    """Members whose first visit ever falls in month c, and how many of them visited again in each
    month c+1..c+`months`. Months that have not started by `today` are None."""
    cohort_lo = local_start(first_month)
    cohort_hi = local_start(add_months(last_month, 1))
    activity_hi = local_start(add_months(last_month, months + 1))
    if rollups_ready():
        sql = _cohorts_rollups_sql(location_id)
    else:
        sql = _cohorts_direct_sql(location_id)
    rows = _fetch(sql, {"clo": cohort_lo, "chi": cohort_hi, "ahi": activity_hi, "tz": clinic_zone().key,
                        "location": location_id, "cfirst": first_month, "clast": add_months(last_month, 1),
                        "alast": add_months(last_month, months + 1)})
    counts = {(month, k): n for month, k, n in rows}
    current_month = today.replace(day=1)
    cohorts = []
    month = first_month
    while month <= last_month:
        returning = [None if add_months(month, k) > current_month else counts.get((month, k), 0)
                     for k in range(1, months + 1)]
        cohorts.append(Cohort(month, counts.get((month, 0), 0), returning))
        month = add_months(month, 1)
    return cohorts


COHORT_COUNTS = """
        SELECT c.month, 0 AS k, count(*) FROM cohort c GROUP BY c.month
        UNION ALL
        SELECT c.month, ((extract(year FROM a.month) - extract(year FROM c.month)) * 12
                         + extract(month FROM a.month) - extract(month FROM c.month))::int AS k, count(*)
        FROM cohort c JOIN activity a ON a.member_id = c.member_id AND a.month > c.month
        GROUP BY 1, 2"""


def _cohorts_rollups_sql(location_id: int | None) -> str:
    """The cohorts from the rollups: the first visit days (at one location: the first day among
    that location's member days), and the months with a member day."""
    if location_id is None:
        firsts = ("SELECT member_id, first_day FROM insights_memberfirst "
                  "WHERE first_day >= %(cfirst)s AND first_day < %(clast)s")
    else:
        firsts = ("SELECT member_id, min(day) AS first_day FROM insights_memberday WHERE location_id = %(location)s "
                  "GROUP BY member_id HAVING min(day) >= %(cfirst)s AND min(day) < %(clast)s")
    return f"""
        WITH cohort AS (
            SELECT f.member_id, date_trunc('month', f.first_day)::date AS month FROM ({firsts}) f),
        activity AS (
            SELECT DISTINCT md.member_id, date_trunc('month', md.day)::date AS month
            FROM {member_days(location_id)} JOIN cohort c ON c.member_id = md.member_id
            WHERE md.day >= %(cfirst)s AND md.day < %(alast)s)
        {COHORT_COUNTS}"""


def _cohorts_direct_sql(location_id: int | None) -> str:
    return f"""
        WITH firsts AS (
            SELECT v.member_id, min(v.visited_at) AS first_at
            FROM {visits_from(location_id)}
            WHERE v.visited_at >= %(clo)s AND v.visited_at < %(chi)s AND {counted()}
            GROUP BY v.member_id),
        cohort AS (
            SELECT f.member_id, date_trunc('month', f.first_at AT TIME ZONE %(tz)s)::date AS month
            FROM firsts f
            WHERE NOT EXISTS (SELECT 1 FROM {visits_from(location_id, "w")}
                              WHERE w.member_id = f.member_id AND w.visited_at < %(clo)s AND {counted("w")})),
        activity AS (
            SELECT DISTINCT v.member_id, date_trunc('month', v.visited_at AT TIME ZONE %(tz)s)::date AS month
            FROM {visits_from(location_id)} JOIN cohort c ON c.member_id = v.member_id
            WHERE v.visited_at >= %(clo)s AND v.visited_at < %(ahi)s AND {counted()})
        {COHORT_COUNTS}"""


# --- panel 6: RFM, and the lifecycle stages ------------------------------------------------
# The one definition of the RFM scores, the 8 cells and the lifecycle stages: panel 6 and the
# summary read them here on the fly, and the segments app stores them per member each night
# (segments/scoring.py) with the same SQL.

# A score of RFM_HIGH or more is "high" in the 8 cells (docs/segments.md).
RFM_HIGH = 3

# (R high, F high, M high) -> cell.
RFM_CELLS = {
    (True, True, True): RfmCellName.IMPORTANT_VALUE,
    (True, False, True): RfmCellName.IMPORTANT_DEVELOP,
    (False, True, True): RfmCellName.IMPORTANT_KEEP,
    (False, False, True): RfmCellName.IMPORTANT_WIN_BACK,
    (True, True, False): RfmCellName.GENERAL_VALUE,
    (True, False, False): RfmCellName.GENERAL_DEVELOP,
    (False, True, False): RfmCellName.GENERAL_KEEP,
    (False, False, False): RfmCellName.GENERAL_WIN_BACK,
}


def rfm_cell(r: int, f: int, m: int) -> RfmCellName:
    return RFM_CELLS[(r >= RFM_HIGH, f >= RFM_HIGH, m >= RFM_HIGH)]


def _rfm_cell_case() -> str:
    whens = " ".join(
        f"WHEN r {'>=' if rh else '<'} {RFM_HIGH} AND f {'>=' if fh else '<'} {RFM_HIGH} "
        f"AND m {'>=' if mh else '<'} {RFM_HIGH} THEN '{cell.value}'"
        for (rh, fh, mh), cell in RFM_CELLS.items())
    return f"CASE {whens} END"


@dataclass
class RfmCell:
    recency: int
    frequency: int
    members: int
    revenue: Decimal


def rfm_window_start(*, end: date, settings_row: InsightsSettings) -> date:
    """The first day of the RFM window that ends on the local day `end`."""
    return add_months(end, -settings_row.rfm_months) + timedelta(days=1)


def rfm_sql(*, end: date, location_id: int | None = None) -> tuple[str, dict]:
    """One row per member with a counted visit in the RFM window ending on the local day `end`:
    (member id, recency days, frequency, monetary, r, f, m, cell). Each score is the member's
    quintile among those members: ceil(5 × rank / n), where rank counts the members whose value is
    no better than theirs (ties share the score)."""
    window_start = rfm_window_start(end=end, settings_row=insights_settings())
    per_member, params = rfm_per_member_sql(end=end, window_start=window_start, location_id=location_id)
    sql = f"""
        WITH per_member AS ({per_member}),
        ranked AS (
            SELECT member_id, recency_days, frequency, monetary, count(*) OVER () AS n,
                   count(*) OVER (ORDER BY recency_days DESC) AS r_rank,
                   count(*) OVER (ORDER BY frequency) AS f_rank,
                   count(*) OVER (ORDER BY monetary) AS m_rank
            FROM per_member),
        scored AS (
            SELECT member_id, recency_days, frequency, monetary,
                   ((5 * r_rank + n - 1) / n)::int AS r, ((5 * f_rank + n - 1) / n)::int AS f,
                   ((5 * m_rank + n - 1) / n)::int AS m
            FROM ranked)
        SELECT member_id, recency_days, frequency, monetary, r, f, m, {_rfm_cell_case()} AS cell
        FROM scored"""
    return sql, params


def rfm_per_member_sql(*, end: date, window_start: date, location_id: int | None) -> tuple[str, dict]:
    """(member_id, recency_days, frequency, monetary) of every member with a counted visit in the
    local days window_start..end. From the rollups of all locations without grouping every member
    day: a member's first row in the window (its `prev_day` before the window) and last row (its
    `next_day` after it), one row each (max picks it), give the last visit day and, by their
    running totals, the visits and revenue in between."""
    params = {"end": end, "wlo": local_start(window_start), "hi": local_start(end + timedelta(days=1)),
              "wstart": window_start, "location": location_id, "tz": clinic_zone().key}
    if rollups_ready() and location_id is None:
        return """
            SELECT md.member_id, %(end)s - max(md.day) AS recency_days,
                   (max(md.cum_visits) FILTER (WHERE md.next_day IS NULL OR md.next_day > %(end)s)
                    - max(md.cum_visits - md.visits) FILTER (WHERE md.prev_day IS NULL OR md.prev_day < %(wstart)s)
                   )::bigint AS frequency,
                   ((max(md.cum_cents) FILTER (WHERE md.next_day IS NULL OR md.next_day > %(end)s)
                     - max(md.cum_cents - (md.revenue * 100)::bigint)
                       FILTER (WHERE md.prev_day IS NULL OR md.prev_day < %(wstart)s))::numeric / 100
                   )::numeric(16, 2) AS monetary
            FROM insights_memberday md
            WHERE md.day >= %(wstart)s AND md.day <= %(end)s
              AND (md.prev_day IS NULL OR md.prev_day < %(wstart)s OR md.next_day IS NULL OR md.next_day > %(end)s)
            GROUP BY md.member_id""", params
    if rollups_ready():
        return f"""
            SELECT md.member_id, %(end)s - max(md.day) AS recency_days, sum(md.visits) AS frequency,
                   sum(md.revenue) AS monetary
            FROM {member_days(location_id)}
            WHERE md.day >= %(wstart)s AND md.day <= %(end)s
            GROUP BY md.member_id""", params
    return f"""
            SELECT v.member_id, %(end)s - max((v.visited_at AT TIME ZONE %(tz)s)::date) AS recency_days,
                   count(*) AS frequency, sum(v.total - v.refunded_total) AS monetary
            FROM {visits_from(location_id)}
            WHERE v.visited_at >= %(wlo)s AND v.visited_at < %(hi)s AND {counted()}
            GROUP BY v.member_id""", params


def kpi_rfm(*, scope: Scope) -> list[RfmCell]:
    """Members with a visit in the RFM window, by recency score (rows) and frequency score. The
    scores of `rfm_sql` without ranking every member: the members are first counted per (recency,
    frequency) pair, and a value's rank (the members whose value is no better) is a running sum
    of those counts."""
    end = scope.period.end
    window_start = rfm_window_start(end=end, settings_row=insights_settings())
    per_member, params = rfm_per_member_sql(end=end, window_start=window_start, location_id=scope.location_id)
    rows = _fetch(f"""
        WITH pairs AS MATERIALIZED (
            SELECT recency_days, frequency, count(*) AS n, sum(monetary) AS spent
            FROM ({per_member}) pm GROUP BY recency_days, frequency),
        total AS (SELECT sum(n) AS n FROM pairs),
        r_ranks AS (SELECT recency_days, sum(sum(n)) OVER (ORDER BY recency_days DESC) AS r_rank
                    FROM pairs GROUP BY recency_days),
        f_ranks AS (SELECT frequency, sum(sum(n)) OVER (ORDER BY frequency) AS f_rank FROM pairs GROUP BY frequency)
        SELECT ((5 * r_rank::bigint + t.n::bigint - 1) / t.n::bigint)::int AS r,
               ((5 * f_rank::bigint + t.n::bigint - 1) / t.n::bigint)::int AS f, sum(p.n)::bigint, sum(p.spent)
        FROM pairs p JOIN r_ranks USING (recency_days) JOIN f_ranks USING (frequency) CROSS JOIN total t
        GROUP BY 1, 2""", params)
    found = {(r, f): (n, spent) for r, f, n, spent in rows}
    return [RfmCell(r, f, found.get((r, f), (0, 0))[0], money(found.get((r, f), (0, 0))[1]))
            for r in range(5, 0, -1) for f in range(1, 6)]


def rfm_scores(*, scope: Scope) -> list[tuple]:
    """(member id, recency days, frequency, monetary, r, f, m, cell) for every scored member."""
    sql, params = rfm_sql(end=scope.period.end, location_id=scope.location_id)
    return _fetch(sql + " ORDER BY member_id", params)


@dataclass(frozen=True)
class LifecycleBounds:
    """The first instants of the windows that decide a member's stage at the end of local day
    `end`: new when the first counted visit is at or after `new_from`; otherwise active when the
    last one is at or after `active_from`, dormant when it is before that but at or after
    `lapsed_from`, lapsed when it is before `lapsed_from`."""

    end: date
    new_from: datetime
    active_from: datetime
    lapsed_from: datetime


def lifecycle_bounds(*, end: date, settings_row: InsightsSettings | None = None) -> LifecycleBounds:
    """A member whose last visit was on local day `end` − d is active while d ≤ active_days,
    dormant while d ≤ lapsed_days and lapsed after; new while the first visit's d ≤ new_days."""
    row = settings_row or insights_settings()
    return LifecycleBounds(end=end, new_from=local_start(end - timedelta(days=row.new_days)),
                           active_from=local_start(end - timedelta(days=row.active_days)),
                           lapsed_from=local_start(end - timedelta(days=row.lapsed_days)))


def lifecycle_stage_sql(first_at: str, last_at: str) -> str:
    """The stage of a member as SQL, from the columns with their first and last counted visit,
    with the bounds as the parameters new_from, active_from and lapsed_from."""
    return (f"CASE WHEN {first_at} >= %(new_from)s THEN '{LifecycleStage.NEW.value}' "
            f"WHEN {last_at} >= %(active_from)s THEN '{LifecycleStage.ACTIVE.value}' "
            f"WHEN {last_at} >= %(lapsed_from)s THEN '{LifecycleStage.DORMANT.value}' "
            f"ELSE '{LifecycleStage.LAPSED.value}' END")


# --- panel 7: tiers -----------------------------------------------------------------------

@dataclass
class TierRow:
    tier_id: int
    name: str
    rank: int
    members: int
    upgrades_in: int
    downgrades_in: int
    active_members: int
    revenue: Decimal


def kpi_tiers(*, scope: Scope) -> list[TierRow]:
    """Members per tier now; upgrades and downgrades into each tier in the period; the period's
    active members and revenue by each member's current tier."""
    sql = f"""
        WITH member_tier AS (
            SELECT m.id AS member_id, coalesce(mt.tier_id, entry.id) AS tier_id
            FROM members_member m
            LEFT JOIN tiers_membertier mt ON mt.member_id = m.id
            CROSS JOIN (SELECT id FROM tiers_tier ORDER BY rank LIMIT 1) entry
            WHERE m.status = 'active'),
        holders AS (SELECT tier_id, count(*) AS n FROM member_tier GROUP BY tier_id),
        moves AS (
            SELECT to_tier_id AS tier_id, count(*) FILTER (WHERE kind = 'upgrade') AS up,
                   count(*) FILTER (WHERE kind = 'downgrade') AS down
            FROM tiers_tierchange WHERE created_at >= %(lo)s AND created_at < %(hi)s GROUP BY to_tier_id),
        spend AS ({_tier_spend(scope)})
        SELECT t.id, t.name, t.rank, coalesce(h.n, 0), coalesce(mv.up, 0), coalesce(mv.down, 0),
               coalesce(s.active, 0), coalesce(s.revenue, 0)
        FROM tiers_tier t LEFT JOIN holders h ON h.tier_id = t.id LEFT JOIN moves mv ON mv.tier_id = t.id
        LEFT JOIN spend s ON s.tier_id = t.id
        ORDER BY t.rank"""
    return [TierRow(*row[:7], money(row[7]))
            for row in _fetch(sql, scope.params(start=scope.period.start, end=scope.period.end))]


def _tier_spend(scope: Scope) -> str:
    """Members with a visit and revenue in the period by their current tier."""
    if rollups_ready():
        return f"""
            SELECT coalesce(mt.tier_id, entry.id) AS tier_id, count(DISTINCT md.member_id) AS active,
                   sum(md.revenue) AS revenue
            FROM {member_days(scope.location_id)}
            LEFT JOIN tiers_membertier mt ON mt.member_id = md.member_id
            CROSS JOIN (SELECT id FROM tiers_tier ORDER BY rank LIMIT 1) entry
            WHERE md.day >= %(start)s AND md.day <= %(end)s
            GROUP BY 1"""
    return f"""
            SELECT coalesce(mt.tier_id, entry.id) AS tier_id, count(DISTINCT v.member_id) AS active,
                   sum(v.total - v.refunded_total) AS revenue
            FROM {visits_from(scope.location_id)}
            LEFT JOIN tiers_membertier mt ON mt.member_id = v.member_id
            CROSS JOIN (SELECT id FROM tiers_tier ORDER BY rank LIMIT 1) entry
            WHERE v.visited_at >= %(lo)s AND v.visited_at < %(hi)s AND {counted()}
            GROUP BY 1"""


# --- panel 8: points ----------------------------------------------------------------------

@dataclass
class PointsFigures:
    issued: int
    reversed: int
    redeemed: int
    expired: int
    adjusted_down: int
    outstanding: int
    points_per_cash_unit: int
    top_rewards: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def liability(self) -> Decimal:
        return money(Decimal(self.outstanding) / Decimal(self.points_per_cash_unit))

    @property
    def redemption_rate(self) -> float | None:
        return rate(self.redeemed, self.issued)

    @property
    def breakage_rate(self) -> float | None:
        return rate(self.expired, self.redeemed + self.expired)


def kpi_points(*, scope: Scope) -> PointsFigures:
    """The ledger in the period (points have no location: the location filter does not apply):
    from the points rollup (per local day, kind and sign) when the rollups are built in the
    clinic's zone, else from the entries. Outstanding at the end of `to` = Σ of the entries
    effective up to then."""
    sums = dict.fromkeys(("earn", "bonus", "opening", "adjust+", "adjust-", "reverse", "redeem", "restore",
                          "expire"), 0)
    if rollups_ready():
        rows = _fetch("""
            SELECT kind, sum(amount) FILTER (WHERE credit), sum(amount) FILTER (WHERE NOT credit)
            FROM insights_pointsday WHERE day >= %(start)s AND day <= %(end)s GROUP BY kind""",
                      scope.params(start=scope.period.start, end=scope.period.end))
        outstanding = _fetch("SELECT coalesce(sum(amount), 0) FROM insights_pointsday WHERE day <= %(end)s",
                             {"end": scope.period.end})[0][0]
    else:
        rows = _fetch("""SELECT kind, sum(amount) FILTER (WHERE amount > 0), sum(amount) FILTER (WHERE amount < 0)
                         FROM points_entry e JOIN points_account a ON a.id = e.account_id AND a.asset = 'points'
                         WHERE effective_at >= %(lo)s AND effective_at < %(hi)s GROUP BY kind""", scope.params())
        outstanding = _fetch("""
            SELECT (SELECT coalesce(sum(balance), 0) FROM points_account WHERE asset = 'points')
                 - (SELECT coalesce(sum(e.amount), 0) FROM points_entry e
                    JOIN points_account a ON a.id = e.account_id AND a.asset = 'points'
                    WHERE e.effective_at >= %(hi)s)""", scope.params())[0][0]
    for kind, plus, minus in rows:
        if kind == "adjust":
            sums["adjust+"], sums["adjust-"] = plus or 0, minus or 0
        elif kind in sums:
            sums[kind] = (plus or 0) + (minus or 0)
    top = _fetch("""SELECT w.name, count(*), sum(r.points) FROM points_redemption r
                    JOIN points_reward w ON w.id = r.reward_id
                    WHERE r.status = 'completed' AND r.created_at >= %(lo)s AND r.created_at < %(hi)s
                    GROUP BY w.id, w.name ORDER BY count(*) DESC, w.name LIMIT 10""", scope.params())
    return PointsFigures(
        issued=sums["earn"] + sums["bonus"] + sums["opening"] + sums["adjust+"],
        reversed=-sums["reverse"], redeemed=-sums["redeem"] - sums["restore"], expired=-sums["expire"],
        adjusted_down=-sums["adjust-"], outstanding=outstanding,
        points_per_cash_unit=loyalty_settings().points_per_cash_unit, top_rewards=[tuple(row) for row in top])


# --- panel 13: stored value -------------------------------------------------------------

def kpi_stored_value(*, scope: Scope) -> StoredValueFigures:
    """Top-ups, spend with cards, outstanding prepaid stored value at the period's end and the
    renewal rate (storedvalue.selectors; cards have no location: the location filter does not
    apply)."""
    return stored_value_figures(start=scope.period.lo, end=scope.period.hi)


# --- panel 9: referrals -------------------------------------------------------------------

@dataclass
class ReferralFigures:
    referred: int
    converted: int
    referred_active: int
    revenue_from_referred: Decimal
    top_referrers: list[tuple[int, str, int, int]] = field(default_factory=list)

    @property
    def conversion_rate(self) -> float | None:
        return rate(self.converted, self.referred)


def kpi_referrals(*, scope: Scope) -> ReferralFigures:
    """Members who joined in the period referred by another member; those of them with a paid
    visit (net paid > 0) by the end of the period; revenue in the period from members who were
    referred (whenever they joined)."""
    period, ready = scope.period, rollups_ready()
    # Each referred member's conversion is looked up once, for the totals (the row with no
    # referrer) and the top ten referrers: from the first paid day of the rollups (all locations),
    # else by a lateral probe through the member's visits index.
    if scope.location_id is None and ready:
        conversion = ("LEFT JOIN LATERAL (SELECT 1 AS one FROM insights_memberfirst f WHERE f.member_id = m.id "
                      "AND f.first_paid_day <= %(end)s) paid ON true")
    else:
        conversion = f"""LEFT JOIN LATERAL (SELECT 1 AS one FROM {visits_from(scope.location_id)}
                               WHERE v.member_id = m.id AND v.visited_at < %(hi)s AND v.total > v.refunded_total
                               LIMIT 1) paid ON true"""
    rows = _fetch(f"""
        WITH referred AS MATERIALIZED (
            SELECT m.referred_by_id AS referrer_id, paid.one
            FROM members_member m
            {conversion}
            WHERE m.referred_by_id IS NOT NULL AND m.status <> 'merged'
              AND m.joined_on >= %(start)s AND m.joined_on <= %(end)s)
        SELECT NULL::bigint, NULL, count(*), count(one) FROM referred
        UNION ALL
        (SELECT t.referrer_id, r.name, t.n, t.converted
         FROM (SELECT referrer_id, count(*) AS n, count(one) AS converted FROM referred
               GROUP BY referrer_id ORDER BY count(*) DESC, referrer_id LIMIT 10) t
         JOIN members_member r ON r.id = t.referrer_id ORDER BY t.n DESC, t.referrer_id)""",
                  scope.params(start=period.start, end=period.end))
    made = next(row[2:] for row in rows if row[0] is None)
    top = [tuple(row) for row in rows if row[0] is not None]
    if ready:
        revenue = _fetch(f"""
            SELECT count(DISTINCT md.member_id), coalesce(sum(md.revenue), 0)
            FROM {member_days(scope.location_id)} JOIN members_member m ON m.id = md.member_id
            WHERE m.referred_by_id IS NOT NULL AND md.day >= %(start)s AND md.day <= %(end)s""",
                         scope.params(start=period.start, end=period.end))[0]
    else:
        revenue = _fetch(f"""
            SELECT count(DISTINCT v.member_id), coalesce(sum(v.total - v.refunded_total), 0)
            FROM {visits_from(scope.location_id)} JOIN members_member m ON m.id = v.member_id
            WHERE m.referred_by_id IS NOT NULL AND v.visited_at >= %(lo)s AND v.visited_at < %(hi)s
              AND {counted()}""", scope.params())[0]
    return ReferralFigures(referred=made[0], converted=made[1], referred_active=revenue[0],
                           revenue_from_referred=money(revenue[1]), top_referrers=top)


# --- panel 10: appointments ---------------------------------------------------------------

@dataclass
class PractitionerRow:
    practitioner_id: int
    name: str
    bookings: int
    booked_minutes: int
    scheduled_minutes: int

    @property
    def utilisation(self) -> float | None:
        return rate(self.booked_minutes, self.scheduled_minutes)


@dataclass
class AppointmentFigures:
    bookings: int
    completed: int
    no_shows: int
    cancelled: int
    late_cancelled: int
    practitioners: list[PractitionerRow]

    @property
    def no_show_rate(self) -> float | None:
        return rate(self.no_shows, self.completed + self.no_shows)

    @property
    def cancellation_rate(self) -> float | None:
        return rate(self.cancelled, self.bookings)

    @property
    def utilisation(self) -> float | None:
        return rate(sum(p.booked_minutes for p in self.practitioners),
                    sum(p.scheduled_minutes for p in self.practitioners))


def _weekday_counts(period: Period) -> dict[int, int]:
    counts = dict.fromkeys(range(7), period.days // 7)
    for offset in range(period.days % 7):
        counts[(period.start + timedelta(days=offset)).weekday()] += 1
    return counts


def kpi_appointments(*, scope: Scope) -> AppointmentFigures:
    """Appointments starting in the period (at the location, when one is chosen)."""
    where_location = " AND location_id = %(location)s" if scope.location_id else ""
    # One pass over the period's bookings, per practitioner (every booking has one); the totals
    # are the sums of those rows.
    per_practitioner = _fetch(f"""
        SELECT practitioner_id, count(*), count(*) FILTER (WHERE status = 'completed'),
               count(*) FILTER (WHERE status = 'no_show'), count(*) FILTER (WHERE status = 'cancelled'),
               count(*) FILTER (WHERE status = 'cancelled' AND late_cancellation),
               coalesce(sum(extract(epoch FROM ends_at - starts_at) / 60)
                        FILTER (WHERE status NOT IN ('cancelled', 'no_show')), 0)::bigint
        FROM appointments_booking WHERE starts_at >= %(lo)s AND starts_at < %(hi)s{where_location}
        GROUP BY practitioner_id""", scope.params())
    totals = [sum(row[column] for row in per_practitioner) for column in range(1, 6)]
    booked = {row[0]: (row[1], row[6]) for row in per_practitioner}
    weekdays = _weekday_counts(scope.period)
    scheduled: dict[int, int] = {}
    hours_location = " AND location_id = %(location)s" if scope.location_id else ""
    for pk, weekday, minutes in _fetch(f"""
            SELECT practitioner_id, weekday, sum(extract(epoch FROM ends - starts) / 60)::bigint
            FROM appointments_workinghours WHERE true{hours_location} GROUP BY 1, 2""", scope.params()):
        scheduled[pk] = scheduled.get(pk, 0) + minutes * weekdays[weekday]
    names = dict(_fetch("""SELECT p.id, coalesce(nullif(p.display_name, ''), nullif(u.full_name, ''), u.username)
                           FROM appointments_practitioner p JOIN accounts_user u ON u.id = p.user_id""", {}))
    rows = [PractitionerRow(pk, names.get(pk, str(pk)), booked.get(pk, (0, 0))[0], booked.get(pk, (0, 0))[1],
                            scheduled.get(pk, 0))
            for pk in sorted(set(booked) | set(scheduled))]
    return AppointmentFigures(*totals, practitioners=rows)


# --- panel 11: satisfaction ----------------------------------------------------------------
# The definitions are the feedback app's measures (feedback/selectors.py); this only reads them
# for the period and the location and puts them in the dashboard's shape.

@dataclass
class SatisfactionFigures:
    nps: feedback_selectors.Nps
    response: feedback_selectors.Rate
    practitioner_ratings: list[feedback_selectors.PractitionerRating]
    on_time: feedback_selectors.Rate
    detractor_followups_open: int
    recall: feedback_selectors.Rate

    @property
    def response_rate(self) -> float | None:
        return rate(self.response.numerator, self.response.denominator)

    @property
    def followups_on_time_rate(self) -> float | None:
        return rate(self.on_time.numerator, self.on_time.denominator)

    @property
    def recall_conversion_rate(self) -> float | None:
        return rate(self.recall.numerator, self.recall.denominator)


def kpi_satisfaction(*, scope: Scope) -> SatisfactionFigures:
    """NPS, response rate, practitioner ratings and follow-ups done on time of the period (by the
    location of the visit, when one is chosen); the detractor follow-ups open at the period's end;
    recall conversion (recalls have no visit, so no location: the filter does not apply)."""
    start, end, location = scope.period.lo, scope.period.hi, scope.location_id
    nps, ratings = feedback_selectors.answer_figures(start=start, end=end, location_id=location)
    return SatisfactionFigures(
        nps=nps, response=feedback_selectors.survey_response_rate(start=start, end=end, location_id=location),
        practitioner_ratings=ratings,
        on_time=feedback_selectors.followups_on_time(start=start, end=end, location_id=location),
        detractor_followups_open=feedback_selectors.detractor_followups_open_at(at=end, location_id=location).count(),
        recall=feedback_selectors.recall_conversion(start=start, end=end))


# --- the members behind a figure ------------------------------------------------------------

SEGMENTS = ("active", "repeat", "new", "retained", "churned", "lifecycle_active", "lifecycle_dormant",
            "lifecycle_lapsed", "never_visited", "referred", "rfm", "detractors", "detractor_followups_open")


def segment_member_ids(*, scope: Scope, segment: str, r: int | None = None, f: int | None = None) -> list[int]:
    """The ids of the members a figure counts, in id order."""
    period = scope.period
    visits, cond = visits_from(scope.location_id), counted()
    in_period = f"v.visited_at >= %(lo)s AND v.visited_at < %(hi)s AND {cond}"
    if segment in ("active", "repeat"):
        having = " HAVING count(*) >= 2" if segment == "repeat" else ""
        sql = f"SELECT v.member_id FROM {visits} WHERE {in_period} GROUP BY v.member_id{having} ORDER BY 1"
        return [row[0] for row in _fetch(sql, scope.params())]
    if segment in ("retained", "churned"):
        previous = period.previous()
        sql = f"""SELECT v.member_id FROM {visits}
                  WHERE v.visited_at >= %(prev_lo)s AND v.visited_at < %(hi)s AND {cond}
                  GROUP BY v.member_id HAVING bool_or(v.visited_at < %(lo)s)
                     AND {'' if segment == 'retained' else 'NOT '}bool_or(v.visited_at >= %(lo)s) ORDER BY 1"""
        return [row[0] for row in _fetch(sql, scope.params(prev_lo=previous.lo))]
    if segment == "new":
        sql = "SELECT id FROM members_member WHERE status <> 'merged' AND joined_on BETWEEN %(s)s AND %(e)s ORDER BY 1"
        return [row[0] for row in _fetch(sql, {"s": period.start, "e": period.end})]
    if segment == "referred":
        sql = """SELECT id FROM members_member WHERE status <> 'merged' AND referred_by_id IS NOT NULL
                 AND joined_on BETWEEN %(s)s AND %(e)s ORDER BY 1"""
        return [row[0] for row in _fetch(sql, {"s": period.start, "e": period.end})]
    if segment == "never_visited":
        sql = f"""SELECT m.id FROM members_member m WHERE m.status <> 'merged' AND m.joined_on <= %(end)s
                  AND NOT EXISTS (SELECT 1 FROM {visits} WHERE v.member_id = m.id AND v.visited_at < %(hi)s
                                  AND {cond}) ORDER BY 1"""
        return [row[0] for row in _fetch(sql, scope.params(end=period.end))]
    if segment == "rfm":
        return [row[0] for row in rfm_scores(scope=scope) if row[4] == r and row[5] == f]
    if segment == "detractors":
        return feedback_selectors.detractor_member_ids(start=period.lo, end=period.hi, location_id=scope.location_id)
    if segment == "detractor_followups_open":
        return list(feedback_selectors.detractor_followups_open_at(at=period.hi, location_id=scope.location_id)
                    .values_list("member_id", flat=True).distinct().order_by("member_id"))
    if segment.startswith("lifecycle_"):
        settings_row = insights_settings()
        active_from = local_start(period.end - timedelta(days=settings_row.active_days))
        lapsed_from = local_start(period.end - timedelta(days=settings_row.lapsed_days))
        having = {"lifecycle_active": "max(v.visited_at) >= %(active_from)s",
                  "lifecycle_dormant": "max(v.visited_at) < %(active_from)s AND max(v.visited_at) >= %(lapsed_from)s",
                  "lifecycle_lapsed": "max(v.visited_at) < %(lapsed_from)s"}[segment]
        sql = f"""SELECT v.member_id FROM {visits} WHERE v.visited_at < %(hi)s AND {cond}
                  GROUP BY v.member_id HAVING {having} ORDER BY 1"""
        return [row[0] for row in _fetch(sql, scope.params(active_from=active_from, lapsed_from=lapsed_from))]
    raise ValueError(segment)


def members_visits_revenue(*, member_ids: list[int], lo: datetime, hi: datetime) -> dict[int, tuple[int, Decimal]]:
    """Per member with a counted visit in [lo, hi): the number of visits and their revenue, by the
    definitions above (a campaign's measured results read them)."""
    sql = f"""
        SELECT v.member_id, count(*), sum(v.total - v.refunded_total)
        FROM visits_visit v
        WHERE v.member_id = ANY(%(members)s::bigint[]) AND v.visited_at >= %(lo)s AND v.visited_at < %(hi)s
          AND {counted()}
        GROUP BY v.member_id"""
    return {member_id: (visits, revenue) for member_id, visits, revenue in
            _fetch(sql, {"members": member_ids, "lo": lo, "hi": hi})}


# --- panel 12: campaigns ------------------------------------------------------------------
# The campaigns app measures each campaign once its measurement period is over (campaigns/
# results.py: treated against the control group, incremental revenue with its 95 % interval, cost,
# ROI) and stores the figures; this panel only reads them.

@dataclass
class CampaignRow:
    campaign_id: int
    name: str
    measured_from: datetime
    measured_until: datetime
    treated: int
    control: int
    incremental_revenue: Decimal | None
    incremental_revenue_low: Decimal | None
    incremental_revenue_high: Decimal | None
    significant: bool | None
    cost: Decimal
    incremental_margin: Decimal | None
    roi: float | None


@dataclass
class CampaignFigures:
    campaigns: list[CampaignRow]

    @property
    def measured(self) -> int:
        return len(self.campaigns)

    @property
    def significant(self) -> int:
        return sum(1 for row in self.campaigns if row.significant)

    def _sum(self, name: str) -> Decimal:
        return money(sum((getattr(row, name) for row in self.campaigns if getattr(row, name) is not None),
                         Decimal(0)))

    @property
    def incremental_revenue(self) -> Decimal:
        return self._sum("incremental_revenue")

    @property
    def incremental_margin(self) -> Decimal:
        return self._sum("incremental_margin")

    @property
    def cost(self) -> Decimal:
        return money(sum((row.cost for row in self.campaigns if row.incremental_margin is not None), Decimal(0)))

    @property
    def roi(self) -> float | None:
        """(Σ incremental margin − Σ cost) / Σ cost over the campaigns with a control group."""
        cost = self.cost
        if not cost:
            return None
        return round(float((self.incremental_margin - cost) / cost), RATE_PLACES)


def _decimal(value) -> Decimal | None:
    return None if value is None else money(Decimal(value))


def kpi_campaigns(*, scope: Scope) -> CampaignFigures:
    """The campaigns whose measurement period (as stored with their results) ends in the period,
    with their stored results (campaigns have no location: the filter does not apply)."""
    from campaigns.models import CampaignResult

    results = (CampaignResult.objects.select_related("campaign")
               .filter(measured_until__gte=scope.period.lo, measured_until__lt=scope.period.hi)
               .order_by("measured_until", "campaign_id"))
    rows = []
    for result in results:
        figures = result.figures
        groups = figures.get("groups", {})
        rows.append(CampaignRow(
            campaign_id=result.campaign_id, name=result.campaign.name, measured_from=result.measured_from,
            measured_until=result.measured_until, treated=groups.get("treated", {}).get("members", 0),
            control=groups.get("control", {}).get("members", 0),
            incremental_revenue=_decimal(figures.get("incremental_revenue")),
            incremental_revenue_low=_decimal(figures.get("incremental_revenue_low")),
            incremental_revenue_high=_decimal(figures.get("incremental_revenue_high")),
            significant=figures.get("significant"),
            cost=money(Decimal(figures.get("offer_cost") or 0) + Decimal(figures.get("message_cost") or 0)),
            incremental_margin=_decimal(figures.get("incremental_margin")), roi=figures.get("roi")))
    return CampaignFigures(rows)


# --- panel 13: treatment packages -----------------------------------------------------------

@dataclass
class PackagePanel:
    figures: object  # packages.selectors.PackageFigures of the period
    outstanding_sessions: int
    outstanding_value: Decimal
    renewal: object  # packages.selectors.PackageRenewal of the period


def kpi_packages(*, scope: Scope) -> PackagePanel:
    """Packages sold, sessions used, expired and refunded in the period with their recognised
    value, and the sessions outstanding at the period's end at their recognised value: the
    packages app's own selectors (packages.selectors.package_figures, outstanding_sessions, the
    figures of its liability section), and the package renewal rate (package_renewal). Packages
    have no location: the filter does not apply."""
    from packages.selectors import outstanding_sessions, package_figures, package_renewal

    outstanding = outstanding_sessions(scope.period.hi)
    return PackagePanel(figures=package_figures(lo=scope.period.lo, hi=scope.period.hi),
                        outstanding_sessions=outstanding.sessions, outstanding_value=money(outstanding.value),
                        renewal=package_renewal(lo=scope.period.lo, hi=scope.period.hi))
