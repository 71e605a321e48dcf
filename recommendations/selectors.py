"""Reads: a member's recommendations (one query over the member's own visit lines and the small
tables of the nightly learning), an item's related items, the members due for an item or
recommended it (for campaign segments), and an item's usual interval (for the recall list).

Scores, per candidate item (docs/recommendations.md):

- **due** (the member bought it and its interval has passed, or nearly: from DUE_SOON of it):
  WEIGHT_DUE / (1 + |ln(days since / interval)|), 1 on the day it falls due;
- **bought with** (the member bought A in the last WINDOW_DAYS and members who buy A often buy B
  within the window): WEIGHT_WITH × confidence(A → B);
- **popular** (in the member's tier over the last POPULAR_DAYS): WEIGHT_POPULAR × share.

An item keeps its best signal, and that signal's reason. Never recommended: inactive items; items
needing medical clearance to a member whose medical profile has contraindications; a treatment
bought within its cycle (before DUE_SOON of its interval; without an interval, within the
window); a product (a consumable, so it may be bought again) bought within the window, except as
due.
"""
# ruff: noqa: S608, S611 - the SQL is built from this module's constant fragments; values are parameters

import re
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg
from django.db import connection
from django.db.models import Expression, OuterRef, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from members.models import Member
from points.rules import clinic_zone
from recommendations.learning import MEMBER_TIER_SQL, POPULAR_DAYS, WINDOW_DAYS
from recommendations.models import ItemAssociation, ItemInterval, ItemPopularity
from visits.models import CatalogueItem

DUE_SOON = 0.85
WEIGHT_DUE = 1.0
WEIGHT_WITH = 1.0
WEIGHT_POPULAR = 0.5
DEFAULT_LIMIT = 5

# An item's interval: the manager's (its recall interval) where set, else the learned one. The
# SQL below and `interval_days_expression` (for the ORM) are the two spellings of this one rule.
INTERVAL_SQL = "coalesce(ci.recall_days, ii.days)"


def interval_days_expression(*, recall_days: Expression | str = "item__recall_days",
                              item_id: Expression | None = None) -> Expression:
    """The interval of an item, for querysets (the recall list): its `recall_days` (a field path
    or an expression over it) or else the learned interval of `item_id` (default: the outer
    row's `item_id`)."""
    learned = ItemInterval.objects.filter(item_id=item_id or OuterRef("item_id")).values("days")[:1]
    return Coalesce(recall_days, Subquery(learned))


# The member's purchases (last time per item), with days since (local days) and the interval.
_HISTORY = f"""
hist AS (
    SELECT v.member_id, l.item_id, max(v.visited_at) AS last_at
    FROM visits_visit v JOIN visits_visitline l ON l.visit_id = v.id
    WHERE {{members_v}} AND v.visited_at < %(as_of)s AND l.item_id IS NOT NULL AND l.refunded_quantity < l.quantity
      {{items_l}}
    GROUP BY 1, 2),
h AS (
    SELECT hist.member_id, hist.item_id, hist.last_at, ci.kind,
           (%(as_of)s AT TIME ZONE %(tz)s)::date - (hist.last_at AT TIME ZONE %(tz)s)::date AS days_since,
           {INTERVAL_SQL} AS interval_days
    FROM hist JOIN visits_catalogueitem ci ON ci.id = hist.item_id
    LEFT JOIN recommendations_iteminterval ii ON ii.item_id = hist.item_id)"""

# Who may be recommended item `ci` at all (member `m`).
_ALLOWED = """ci.active AND m.status = 'active'
    AND NOT (ci.needs_clearance AND EXISTS (SELECT 1 FROM members_medicalprofile mp
                                            WHERE mp.member_id = m.id AND mp.has_contraindications))"""

_SCORES = f"""
WITH {_HISTORY},
candidates AS (
    SELECT member_id, item_id, 'due' AS signal,
           %(w_due)s / (1 + abs(ln(greatest(days_since, 1)::float / interval_days))) AS score,
           item_id AS because_id, days_since, interval_days, NULL::bigint AS popular_tier_id
    FROM h WHERE interval_days IS NOT NULL AND days_since >= %(due_soon)s * interval_days {{items_h}}
    UNION ALL
    SELECT h.member_id, a.related_id, 'with', %(w_with)s * a.confidence, h.item_id, h.days_since, NULL, NULL
    FROM h JOIN recommendations_itemassociation a ON a.item_id = h.item_id
    WHERE h.days_since <= %(window)s {{items_a}}
    UNION ALL
    SELECT m.id, p.item_id, 'popular', %(w_popular)s * p.share, NULL, NULL, NULL, p.tier_id
    FROM members_member m LEFT JOIN tiers_membertier t ON t.member_id = m.id
    JOIN recommendations_itempopularity p
      ON p.tier_id = {MEMBER_TIER_SQL.format(alias="t")} OR (p.tier_id IS NULL AND NOT EXISTS (
          SELECT 1 FROM recommendations_itempopularity own WHERE own.tier_id = {MEMBER_TIER_SQL.format(alias="t")}))
    WHERE {{members_m}} {{items_p}}),
best AS (
    SELECT DISTINCT ON (member_id, item_id) member_id, item_id, signal, because_id, days_since, interval_days,
           popular_tier_id, max(score) OVER (PARTITION BY member_id, item_id) AS score
    FROM candidates c ORDER BY member_id, item_id, c.signal = 'due' DESC, c.score DESC)
SELECT b.member_id, b.item_id, b.score, b.signal, b.because_id, b.days_since, b.interval_days,
       ci.name, ci.kind, ci.price, ci.sku, bi.name AS because_name, tr.name AS tier_name, m.gender,
       b.popular_tier_id
FROM best b JOIN visits_catalogueitem ci ON ci.id = b.item_id
JOIN members_member m ON m.id = b.member_id
LEFT JOIN h ON h.member_id = b.member_id AND h.item_id = b.item_id
LEFT JOIN visits_catalogueitem bi ON bi.id = b.because_id
LEFT JOIN tiers_tier tr ON tr.id = b.popular_tier_id
WHERE {_ALLOWED}
  AND NOT (h.item_id IS NOT NULL AND b.signal <> 'due' AND (
      (ci.kind = 'product' AND h.days_since <= %(window)s)
      OR (ci.kind = 'treatment' AND h.interval_days IS NULL AND h.days_since <= %(window)s)
      OR (ci.kind = 'treatment' AND h.interval_days IS NOT NULL AND h.days_since < %(due_soon)s * h.interval_days)))"""


def _params(as_of: datetime | None, **extra) -> dict:
    return {"as_of": as_of or timezone.now(), "tz": str(clinic_zone()), "due_soon": DUE_SOON,
            "w_due": WEIGHT_DUE, "w_with": WEIGHT_WITH, "w_popular": WEIGHT_POPULAR, "window": WINDOW_DAYS, **extra}


def _scores_sql(*, one_member: bool, one_item: bool) -> str:
    return _SCORES.format(
        members_v="v.member_id = %(member)s" if one_member else "TRUE",
        # For one item, only the member's purchases of it and of the items it is bought with.
        items_l=("AND (l.item_id = %(item)s OR l.item_id IN (SELECT a.item_id FROM recommendations_itemassociation a"
                 " WHERE a.related_id = %(item)s))") if one_item else "",
        members_m="m.id = %(member)s" if one_member else "m.status = 'active'",
        items_h="AND item_id = %(item)s" if one_item else "",
        items_a="AND a.related_id = %(item)s" if one_item else "",
        items_p="AND p.item_id = %(item)s" if one_item else "")


def _positional(sql: str, params: dict) -> tuple[str, list]:
    """Named parameters to positional ones, for RawSQL subqueries."""
    values = []

    def take(match):
        values.append(params[match.group(1)])
        return "%s"

    return re.sub(r"%\((\w+)\)s", take, sql), values


@dataclass(frozen=True)
class Recommendation:
    item: CatalogueItem
    score: float
    signal: str  # due | with | popular
    reason: str
    because: str = ""  # the item it is bought with, or the item due again
    days_since: int | None = None
    interval_days: int | None = None


def _reason(row: dict, *, to_member: bool) -> str:
    values = {"item": row["because_name"], "days": row["days_since"], "interval": row["interval_days"],
              "tier": row["tier_name"], "period": POPULAR_DAYS}
    if row["signal"] == "due":
        overdue = row["days_since"] >= row["interval_days"]
        if to_member:
            text = (_("Due again: your last %(item)s was %(days)s days ago; it is usually repeated every "
                      "%(interval)s days") if overdue else
                    _("Due soon: your last %(item)s was %(days)s days ago; it is usually repeated every "
                      "%(interval)s days"))
        else:
            text = (_("Due again: last %(item)s %(days)s days ago, usual interval %(interval)s days") if overdue else
                    _("Due soon: last %(item)s %(days)s days ago, usual interval %(interval)s days"))
        return text % values
    if row["signal"] == "with":
        if to_member:
            return _("Often bought with %(item)s by members like you") % values
        if row["gender"] == Member.Gender.FEMALE:
            return pgettext("member is female", "Often bought with %(item)s by members like her") % values
        if row["gender"] == Member.Gender.MALE:
            return pgettext("member is male", "Often bought with %(item)s by members like him") % values
        return _("Often bought with %(item)s by similar members") % values
    if row["popular_tier_id"] is not None:
        if to_member:
            return _("Popular in your tier (%(tier)s) over the last %(period)s days") % values
        return _("Popular in the %(tier)s tier over the last %(period)s days") % values
    return _("Popular with members over the last %(period)s days") % values


def _recommendation(row: dict, *, to_member: bool) -> Recommendation:
    item = CatalogueItem(id=row["item_id"], name=row["name"], kind=row["kind"], price=Decimal(row["price"]),
                         sku=row["sku"])
    return Recommendation(item=item, score=round(row["score"], 4), signal=row["signal"],
                          reason=_reason(row, to_member=to_member), because=row["because_name"] or "",
                          days_since=row["days_since"], interval_days=row["interval_days"])


def member_recommendations(*, member: Member, limit: int = DEFAULT_LIMIT, as_of: datetime | None = None,
                           to_member: bool = False, kind: str | None = None) -> list[Recommendation]:
    """Up to `limit` items for the member, best first, each with its reason (worded for staff,
    or for the member herself with `to_member`). `as_of` (default now) sees only the visits before
    it. One query."""
    sql = _scores_sql(one_member=True, one_item=False)
    if kind is not None:
        sql += " AND ci.kind = %(kind)s"
    sql += " ORDER BY b.score DESC, b.item_id LIMIT %(limit)s"
    rows = _fetch_prepared(sql, _params(as_of, member=member.pk, limit=limit, kind=kind))
    return [_recommendation(row, to_member=to_member) for row in rows]


def _fetch_prepared(sql: str, params: dict) -> list[dict]:
    """Run `sql` as a server-side prepared statement. Planning this query costs several times
    running it (EXPLAIN ANALYZE at 100,000 members: 2.3 ms against 0.55 ms), so the connection
    keeps one generic plan (`plan_cache_mode`, which concerns only server-side prepared
    statements, and Django prepares none: its cursors bind parameters on the client). PostgreSQL
    plans it again by itself when the search path (the clinic) has changed since. This uses the
    connection's driver directly, after a Django cursor has set the clinic's search path, and logs
    the query where Django logs its own."""
    with connection.cursor():
        pass
    started = time.monotonic()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute(sql, params, prepare=True)
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return rows


def recommended_member_ids(*, item_id: int, min_score: float = 0.0, as_of: datetime | None = None) -> RawSQL:
    """The ids of the active members to whom item `item_id` would be recommended with at least
    `min_score`, as a subquery: the per-member query of `member_recommendations`, run for every
    member and this one item, with the same signals, scores and exclusions (whatever the item's
    rank among the member's suggestions)."""
    sql = f"SELECT s.member_id FROM ({_scores_sql(one_member=False, one_item=True)}) s WHERE s.score >= %(min_score)s"
    return RawSQL(*_positional(sql, _params(as_of, item=item_id, min_score=min_score)))


def due_member_ids(*, item_id: int, within_days: int = 0, as_of: datetime | None = None) -> RawSQL:
    """The ids of the active members due for item `item_id`, as a subquery: their last purchase of
    it was at least its interval ago (or will be within `within_days`), and nothing bars them from
    it. With `within_days` 0, exactly the members whose recommendations show the item as "due
    again"."""
    sql = f"""WITH {_HISTORY.format(members_v="TRUE", items_l="AND l.item_id = %(item)s")}
        SELECT h.member_id FROM h JOIN visits_catalogueitem ci ON ci.id = h.item_id
        JOIN members_member m ON m.id = h.member_id
        WHERE h.item_id = %(item)s AND h.interval_days IS NOT NULL
          AND h.days_since + %(within)s >= h.interval_days AND {_ALLOWED}"""
    return RawSQL(*_positional(sql, _params(as_of, item=item_id, within=within_days)))


def members_recommended(*, item: CatalogueItem, min_score: float = 0.0,
                        as_of: datetime | None = None) -> QuerySet[Member]:
    """Active members to whom `item` would be recommended with at least `min_score` (the segment
    condition "recommended"). A subquery: chain it, count it."""
    return Member.objects.filter(pk__in=recommended_member_ids(item_id=item.pk, min_score=min_score, as_of=as_of))


def members_due_for(*, item: CatalogueItem, within_days: int = 0, as_of: datetime | None = None) -> QuerySet[Member]:
    """Active members due for `item` (the segment condition "due for"). A subquery."""
    return Member.objects.filter(pk__in=due_member_ids(item_id=item.pk, within_days=within_days, as_of=as_of))


@dataclass(frozen=True)
class Related:
    item: CatalogueItem
    confidence: float
    lift: float
    pair_members: int


def item_related(*, item: CatalogueItem, limit: int = DEFAULT_LIMIT) -> list[Related]:
    """Active items members often buy with `item` (on the day or within the window after it),
    most likely first."""
    rows = (ItemAssociation.objects.filter(item=item, related__active=True).select_related("related")
            .order_by("-confidence", "-lift", "related_id")[:limit])
    return [Related(item=row.related, confidence=round(row.confidence, 4), lift=round(row.lift, 4),
                    pair_members=row.pair_members) for row in rows]


def item_interval(*, item: CatalogueItem) -> ItemInterval | None:
    return ItemInterval.objects.filter(item=item).first()


def popular_items(*, tier_id: int | None = None, limit: int = DEFAULT_LIMIT) -> list[int]:
    """Item ids most bought recently (by a tier's members, or by all members with None)."""
    return list(ItemPopularity.objects.filter(tier_id=tier_id).order_by("rank")
                .values_list("item_id", flat=True)[:limit])
