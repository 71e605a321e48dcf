"""The nightly learning of a clinic's recommendation signals, from its visit lines before a given
instant (docs/recommendations.md):

- **repeat intervals**: for each member and item, the local days on which the member bought it;
  the gaps between consecutive days, over all members; an item's interval is their median, kept
  when there are at least MIN_REPEATS gaps;
- **co-purchase**: a member "bought B with A" when they bought B on the day of a purchase of A or
  within WINDOW_DAYS after it; for each pair, the members who did (support, at least
  MIN_SUPPORT), the confidence (of the members who bought A, the share who did) and the lift
  (confidence over the share of all buying members who ever bought B), kept when the lift is
  above MIN_LIFT;
- **popularity**: in the POPULAR_DAYS before, per tier (the members' current tier) and for all
  members, the share of the members who visited that bought each item; the top POPULAR_TOP.

Everything is a few set-based statements over one temporary table of distinct
(member, item, local day) purchases, so the run costs seconds at a million visit lines. Lines
refunded in full and lines without a catalogue item do not count.
"""
# ruff: noqa: S608 - the SQL is built from this module's constant fragments; values are parameters

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from points.rules import clinic_zone
from recommendations.models import Learning

MIN_REPEATS = 5
WINDOW_DAYS = 30
MIN_SUPPORT = 5
MIN_LIFT = 1.0
POPULAR_DAYS = 90
POPULAR_TOP = 20
# A tier's own popularity is learned when at least this many of its members visited in the period;
# below that its members get the popularity among all members.
POPULAR_MIN_TIER_MEMBERS = 20
# A member's tier (`tiers_membertier` row `alias`, left-joined): theirs, or the entry tier while
# they have never moved up (as tiers.selectors.member_current_tier).
MEMBER_TIER_SQL = "coalesce({alias}.tier_id, (SELECT id FROM tiers_tier WHERE rank = 0 ORDER BY id LIMIT 1))"


@dataclass(frozen=True)
class Learned:
    visit_lines: int
    intervals: int
    associations: int
    popular: int


def _zone_name() -> str:
    return str(clinic_zone())


def signals_learn(*, before: datetime) -> Learned:
    """Replace the clinic's stored signals by those learned from its visits before `before`.
    Call inside a transaction (the temporary table lives until its end)."""
    params = {"before": before, "tz": _zone_name(), "window": WINDOW_DAYS, "min_repeats": MIN_REPEATS,
              "min_support": MIN_SUPPORT, "min_lift": MIN_LIFT, "since": before - timedelta(days=POPULAR_DAYS),
              "top": POPULAR_TOP, "min_tier": POPULAR_MIN_TIER_MEMBERS}
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS recs_purchase")
        cursor.execute("""
            CREATE TEMPORARY TABLE recs_purchase ON COMMIT DROP AS
            SELECT v.member_id, l.item_id, (v.visited_at AT TIME ZONE %(tz)s)::date AS day,
                   bool_or(v.visited_at >= %(since)s) AS recent, count(*) AS lines
            FROM visits_visit v JOIN visits_visitline l ON l.visit_id = v.id
            WHERE v.visited_at < %(before)s AND l.item_id IS NOT NULL AND l.refunded_quantity < l.quantity
            GROUP BY 1, 2, 3""", params)
        cursor.execute("SELECT coalesce(sum(lines), 0)::bigint FROM recs_purchase")
        visit_lines = cursor.fetchone()[0]
        cursor.execute("CREATE INDEX ON recs_purchase (member_id, day)")
        cursor.execute("ANALYZE recs_purchase")
        cursor.execute("DELETE FROM recommendations_iteminterval")
        cursor.execute("""
            INSERT INTO recommendations_iteminterval (item_id, days, repeats, members)
            SELECT item_id, greatest(1, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY gap))),
                   count(*), count(DISTINCT member_id)
            FROM (SELECT member_id, item_id, day - lag(day) OVER (PARTITION BY member_id, item_id ORDER BY day) AS gap
                  FROM recs_purchase) gaps
            WHERE gap IS NOT NULL
            GROUP BY item_id HAVING count(*) >= %(min_repeats)s""", params)
        intervals = cursor.rowcount
        cursor.execute("DELETE FROM recommendations_itemassociation")
        cursor.execute("""
            WITH buyers AS (SELECT item_id, count(DISTINCT member_id) AS n FROM recs_purchase GROUP BY item_id),
            everyone AS (SELECT count(DISTINCT member_id) AS n FROM recs_purchase),
            pairs AS (
                SELECT a.item_id, b.item_id AS related_id, count(DISTINCT a.member_id) AS n
                FROM recs_purchase a JOIN recs_purchase b
                  ON b.member_id = a.member_id AND b.item_id <> a.item_id
                 AND b.day >= a.day AND b.day <= a.day + %(window)s
                GROUP BY 1, 2 HAVING count(DISTINCT a.member_id) >= %(min_support)s)
            INSERT INTO recommendations_itemassociation
                (item_id, related_id, pair_members, item_members, related_members, confidence, lift)
            SELECT p.item_id, p.related_id, p.n, ba.n, bb.n, p.n::float / ba.n,
                   (p.n::float / ba.n) / (bb.n::float / e.n)
            FROM pairs p JOIN buyers ba ON ba.item_id = p.item_id JOIN buyers bb ON bb.item_id = p.related_id
            CROSS JOIN everyone e
            WHERE (p.n::float / ba.n) / (bb.n::float / e.n) > %(min_lift)s""", params)
        associations = cursor.rowcount
        cursor.execute("DELETE FROM recommendations_itempopularity")
        cursor.execute(f"""
            WITH recent AS (
                SELECT p.member_id, p.item_id, {MEMBER_TIER_SQL.format(alias="t")} AS tier_id
                FROM recs_purchase p LEFT JOIN tiers_membertier t ON t.member_id = p.member_id
                WHERE p.recent),
            visitors AS (SELECT tier_id, count(DISTINCT member_id) AS n FROM recent GROUP BY tier_id),
            per_tier AS (
                SELECT r.tier_id, r.item_id, count(DISTINCT r.member_id) AS buyers FROM recent r
                JOIN visitors v ON v.tier_id = r.tier_id AND v.n >= %(min_tier)s
                GROUP BY 1, 2),
            overall AS (SELECT NULL::bigint AS tier_id, item_id, count(DISTINCT member_id) AS buyers
                        FROM recent GROUP BY item_id),
            counted AS (
                SELECT pt.tier_id, pt.item_id, pt.buyers, pt.buyers::float / v.n AS share
                FROM per_tier pt JOIN visitors v ON v.tier_id = pt.tier_id
                UNION ALL
                SELECT NULL, o.item_id, o.buyers, o.buyers::float / (SELECT count(DISTINCT member_id) FROM recent)
                FROM overall o),
            ranked AS (SELECT *, row_number() OVER (PARTITION BY tier_id ORDER BY buyers DESC, item_id) AS rank
                       FROM counted)
            INSERT INTO recommendations_itempopularity (tier_id, item_id, buyers, share, rank)
            SELECT tier_id, item_id, buyers, share, rank FROM ranked WHERE rank <= %(top)s""", params)
        popular = cursor.rowcount
    return Learned(visit_lines=visit_lines, intervals=intervals, associations=associations, popular=popular)


@transaction.atomic
def recommendations_learn(*, now: datetime | None = None) -> Learning:
    """The nightly run: learn from every visit before `now` and record the run. Running it again
    replaces the stored signals with the same ones."""
    now = now or timezone.now()
    started = time.perf_counter()
    learned = signals_learn(before=now)
    return Learning.objects.create(before=now, finished_at=timezone.now(), visit_lines=learned.visit_lines,
                                   intervals=learned.intervals, associations=learned.associations,
                                   popular=learned.popular, seconds=time.perf_counter() - started)
