"""Reads for tiers: a member's tier, the spend and visits that count toward it, progress to the
next tier, and what keeps the current one.

A visit counts when something was paid for it and not all of it was refunded: its net paid
(total − refunded) is more than zero. Its spend is that net paid (less the stored-value card's
share when the clinic does not count card spend toward tiers). Imported history counts like
checkouts. With a window of N months, a visit on the clinic-local day D counts up to and
including the day D + N months, and drops out the day after."""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from clinics.context import clinic_zone, local_date, local_midnight
from clinics.formatting import day_text
from members.models import Member
from members.selectors import export_rows
from storedvalue.models import StoredValueSettings
from tiers.models import MemberTier, Tier, TierChange, TierProgramme
from visits.models import ZERO, Payment, Visit

Basis = TierProgramme.Basis


class TierMetrics(NamedTuple):
    spend: Decimal
    visits: int


NO_METRICS = TierMetrics(ZERO, 0)


@dataclass(frozen=True)
class TierProgress:
    tier: Tier
    metrics: TierMetrics
    next_tier: Tier | None
    spend_needed: Decimal | None
    visits_needed: int | None


@dataclass(frozen=True)
class TierRetention:
    """What keeps the member in `tier`. `falls_short_on` is the first day on which, without new
    visits, the member no longer meets the tier (None: never); `downgrade_on` the first day the
    evaluation may then move them down; the spend and visits needed are what must be added by
    `downgrade_on` to still meet the tier on that day (None: not a criterion of the programme)."""

    tier: Tier
    qualifies_now: bool
    below_since: datetime | None
    falls_short_on: date | None
    downgrade_on: date | None
    spend_needed: Decimal | None
    visits_needed: int | None


@dataclass(frozen=True)
class MemberTierSummary:
    programme: TierProgramme
    state: MemberTier | None
    metrics: TierMetrics
    progress: TierProgress
    retention: TierRetention


@dataclass(frozen=True)
class _Standing:
    programme: TierProgramme
    ladder: list[Tier]
    state: MemberTier | None
    tier: Tier
    metrics: TierMetrics


def programme_get() -> TierProgramme:
    return TierProgramme.objects.filter(pk=1).first() or TierProgramme(pk=1)


def tiers_list() -> list[Tier]:
    return list(Tier.objects.order_by("rank"))


def tier_ladder(tiers: list[Tier]) -> list[Tier]:
    """The tiers by rank, starting with the entry tier. A clinic whose programme was never
    installed has one unsaved entry tier with no benefits."""
    return tiers or [Tier(rank=0, name=_("Regular"))]


def months_add(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def window_first_day(*, programme: TierProgramme, on: date) -> date | None:
    """The earliest visit day that still counts on `on` (None: the whole history counts)."""
    if not programme.window_months:
        return None
    start = months_add(on, -programme.window_months)
    return start if months_add(start, programme.window_months) >= on else start + timedelta(days=1)


def visit_drops_out_on(*, programme: TierProgramme, visited_on: date) -> date:
    return months_add(visited_on, programme.window_months) + timedelta(days=1)


MONEY_FIELD = DecimalField(max_digits=12, decimal_places=2)


# A visit's spend toward tiers: what it came to less refunds, less what the stored-value card paid
# net of refunds when the clinic does not count card spend (the stored-value setting
# `spend_counts_toward_tiers`). The setting is read in the same statement (the CASE takes the card's
# share only when it is off), so the default costs nothing and no query is added. Written in SQL
# over the visits table (queries whose base table is visits_visit): it is in every tier
# evaluation and every checkout, and Django compiles plain SQL far faster than the same CASE,
# EXISTS and subquery as expressions.
_NET_PAID_SQL = f"""
CASE WHEN EXISTS (SELECT 1 FROM {StoredValueSettings._meta.db_table} s
                 WHERE s.id = 1 AND NOT s.spend_counts_toward_tiers)
THEN visits_visit.total - visits_visit.refunded_total - COALESCE(
    (SELECT SUM(p.amount) FROM {Payment._meta.db_table} p
     WHERE p.visit_id = visits_visit.id AND p.method = '{Payment.Method.STORED_VALUE.value}'), 0)
ELSE visits_visit.total - visits_visit.refunded_total END"""  # noqa: S608 - built from constants


def _net_paid() -> RawSQL:
    """A visit's spend toward tiers (see _NET_PAID_SQL)."""
    return RawSQL(_NET_PAID_SQL, [], output_field=MONEY_FIELD)  # noqa: S611 - constant text


def _counted_where(*, programme: TierProgramme, at: datetime, on: date | None) -> tuple[str, list]:
    """The rule for a visit (a row of visits_visit) that counts toward tiers on day `on` (default:
    the day of `at`), as SQL and its parameters: made by `at`, on or after the window's first day
    (local midnight) when the programme has a window, and not wholly refunded."""
    where = "visits_visit.visited_at <= %s AND visits_visit.total > visits_visit.refunded_total"
    first_day = window_first_day(programme=programme, on=on or local_date(at))
    if first_day is None:
        return where, [at]
    return f"{where} AND visits_visit.visited_at >= %s", [at, local_midnight(first_day)]


def counted_visits(*, programme: TierProgramme, at: datetime, on: date | None = None) -> QuerySet[Visit]:
    """Visits up to `at` that count toward tiers on day `on` (default: the day of `at`)."""
    where, params = _counted_where(programme=programme, at=at, on=on)
    return Visit.objects.filter(RawSQL(where, params, output_field=BooleanField()))  # noqa: S611 - constant text


def _metrics(row: dict) -> TierMetrics:
    return TierMetrics(row["spend"] or ZERO, row["visits"] or 0)


def member_tier_metrics(member: Member, at: datetime, *, programme: TierProgramme | None = None,
                        on: date | None = None) -> TierMetrics:
    """Spend and visits that count for the member's tier at `at` (or, for visits up to `at`,
    on the later day `on`). Plain SQL (the rules of `_counted_where` and `_NET_PAID_SQL`): checkout
    asks it every time."""
    programme = programme or programme_get()
    where, params = _counted_where(programme=programme, at=at, on=on)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT SUM({_NET_PAID_SQL}), COUNT(*) FROM {Visit._meta.db_table} "  # noqa: S608
                       f"WHERE visits_visit.member_id = %s AND {where}", [member.pk, *params])
        spend, visits = cursor.fetchone()
    return _metrics({"spend": spend, "visits": visits})


def tier_metrics_by_member(*, at: datetime, programme: TierProgramme,
                           member_ids: list[int] | None = None) -> dict[int, TierMetrics]:
    """Spend and visits of every active member with a counted visit, in one grouped query."""
    visits = counted_visits(programme=programme, at=at).filter(member__status=Member.Status.ACTIVE)
    if member_ids is not None:
        visits = visits.filter(member_id__in=member_ids)
    rows = visits.values("member_id").annotate(spend=Sum(_net_paid()), visits=Count("id")).order_by()
    return {row["member_id"]: _metrics(row) for row in rows}


def _criteria(basis: str) -> tuple[bool, bool]:
    """Whether spend, and whether visits, are criteria of a programme with this basis."""
    return basis != Basis.VISITS, basis != Basis.SPEND


def tier_meets(tier: Tier, metrics: TierMetrics, *, basis: str) -> bool:
    spend_ok = metrics.spend >= tier.min_spend
    visits_ok = metrics.visits >= tier.min_visits
    if basis == Basis.SPEND:
        return spend_ok
    if basis == Basis.VISITS:
        return visits_ok
    if basis == Basis.SPEND_OR_VISITS:
        return spend_ok or visits_ok
    return spend_ok and visits_ok


def tier_qualified(metrics: TierMetrics, *, programme: TierProgramme | None = None,
                   tiers: list[Tier] | None = None) -> Tier:
    """The highest tier whose thresholds the metrics meet, on the programme's basis."""
    programme = programme or programme_get()
    ladder = tier_ladder(tiers if tiers is not None else tiers_list())
    qualified = ladder[0]
    for tier in ladder[1:]:
        if tier_meets(tier, metrics, basis=programme.basis):
            qualified = tier
    return qualified


def tier_below(tier: Tier, ladder: list[Tier]) -> Tier:
    lower = [candidate for candidate in ladder if candidate.rank < tier.rank]
    return lower[-1] if lower else ladder[0]


def member_current_tier(member: Member) -> Tier:
    """The member's tier; the entry tier while they have never moved up."""
    holds = Exists(MemberTier.objects.filter(member_id=member.pk, tier=OuterRef("pk")))
    tier = Tier.objects.filter(holds | Q(rank=0)).order_by("-rank").first()
    return tier or tier_ladder([])[0]


def _needed(tier: Tier, metrics: TierMetrics, basis: str) -> tuple[Decimal | None, int | None]:
    uses_spend, uses_visits = _criteria(basis)
    return (max(tier.min_spend - metrics.spend, ZERO) if uses_spend else None,
            max(tier.min_visits - metrics.visits, 0) if uses_visits else None)


def _first_short_visit_day(*, member: Member, tier: Tier, metrics: TierMetrics,
                           programme: TierProgramme, at: datetime) -> date | None:
    """The visit day whose dropping out of the window first leaves the member short of `tier`,
    found in one query: running totals of spend and visits, oldest day first."""
    day = TruncDate("visited_at", tzinfo=clinic_zone())
    dropped_spend = Window(Sum(_net_paid()), order_by=day.asc())
    dropped_visits = Window(Count("id"), order_by=day.asc())
    short_on_spend = Q(dropped_spend__gt=metrics.spend - tier.min_spend)
    short_on_visits = Q(dropped_visits__gt=metrics.visits - tier.min_visits)
    short = {Basis.SPEND: short_on_spend, Basis.VISITS: short_on_visits,
             Basis.SPEND_OR_VISITS: short_on_spend & short_on_visits,
             Basis.SPEND_AND_VISITS: short_on_spend | short_on_visits}[programme.basis]
    return (counted_visits(programme=programme, at=at).filter(member=member)
            .annotate(day=day, dropped_spend=dropped_spend, dropped_visits=dropped_visits)
            .filter(short).order_by("day").values_list("day", flat=True).first())


def downgrade_earliest_on(*, programme: TierProgramme, short_on: date, reached_on: date) -> date:
    """The first evaluation day that may move a member down: the grace period after the later
    of the day they were found short and the day they reached the tier, and never the day the
    tier was reached."""
    grace = timedelta(days=programme.grace_days)
    return max(max(short_on, reached_on) + grace, reached_on + timedelta(days=1))


def _retention(*, member: Member, standing: _Standing, at: datetime) -> TierRetention:
    state, tier, metrics, programme = standing.state, standing.tier, standing.metrics, standing.programme
    qualifies_now = tier_meets(tier, metrics, basis=programme.basis)
    below_since = state.below_since if state else None
    if state is None or tier.rank == 0:
        return TierRetention(tier=tier, qualifies_now=True, below_since=None, falls_short_on=None,
                             downgrade_on=None, spend_needed=None, visits_needed=None)
    today = local_date(at)
    if not qualifies_now:
        falls_short_on = local_date(below_since) if below_since else today
    elif programme.window_months:
        last_day = _first_short_visit_day(member=member, tier=tier, metrics=metrics,
                                          programme=programme, at=at)
        falls_short_on = visit_drops_out_on(programme=programme, visited_on=last_day) if last_day else None
    else:
        falls_short_on = None
    if falls_short_on is None:
        return TierRetention(tier=tier, qualifies_now=qualifies_now, below_since=below_since,
                             falls_short_on=None, downgrade_on=None, spend_needed=None, visits_needed=None)
    downgrade_on = downgrade_earliest_on(programme=programme, short_on=falls_short_on,
                                         reached_on=local_date(state.since))
    left_then = member_tier_metrics(member, at, programme=programme, on=max(downgrade_on, today))
    spend_needed, visits_needed = _needed(tier, left_then, programme.basis)
    return TierRetention(tier=tier, qualifies_now=qualifies_now, below_since=below_since,
                         falls_short_on=falls_short_on, downgrade_on=downgrade_on,
                         spend_needed=spend_needed, visits_needed=visits_needed)


def _standing(member: Member, at: datetime) -> _Standing:
    programme = programme_get()
    ladder = tier_ladder(tiers_list())
    state = MemberTier.objects.filter(member=member).first()
    tier = next((t for t in ladder if state and t.pk == state.tier_id), ladder[0])
    if state is not None:
        state.tier = tier
    return _Standing(programme=programme, ladder=ladder, state=state, tier=tier,
                     metrics=member_tier_metrics(member, at, programme=programme))


def _progress(standing: _Standing) -> TierProgress:
    higher = [tier for tier in standing.ladder if tier.rank > standing.tier.rank]
    next_tier = higher[0] if higher else None
    spend_needed, visits_needed = (_needed(next_tier, standing.metrics, standing.programme.basis)
                                   if next_tier else (None, None))
    return TierProgress(tier=standing.tier, metrics=standing.metrics, next_tier=next_tier,
                        spend_needed=spend_needed, visits_needed=visits_needed)


def tier_progress(member: Member, at: datetime) -> TierProgress:
    """The member's tier, the next one up, and the spend and visits still needed for it."""
    return _progress(_standing(member, at))


def tier_retention(member: Member, at: datetime) -> TierRetention:
    return _retention(member=member, standing=_standing(member, at), at=at)


def member_tier_summary(member: Member, at: datetime) -> MemberTierSummary:
    """Progress and retention together, from one read of the member's standing: a fixed handful
    of queries whatever the member's history."""
    standing = _standing(member, at)
    return MemberTierSummary(programme=standing.programme, state=standing.state, metrics=standing.metrics,
                             progress=_progress(standing),
                             retention=_retention(member=member, standing=standing, at=at))


def member_tier_history(member: Member, *, limit: int = 50) -> list[TierChange]:
    return list(TierChange.objects.filter(member=member)
                .select_related("from_tier", "to_tier", "actor")[:limit])


def downgrade_reason_text(*, tier: str, below_since: date, grace_days: int) -> str:
    """Why a member moved down at the end of the grace period, in the active language."""
    return _("Below the thresholds of “%(tier)s” since %(date)s; the %(days)s-day grace period has "
             "ended.") % {"tier": tier, "date": day_text(below_since), "days": grace_days}


def tier_change_reason_text(change: TierChange) -> str:
    """Why the tier changed, for staff, in the request's language. A move down at the end of the
    grace period is worded now from what it was based on (the day the member fell short and the
    grace period, kept with its metrics); what staff typed and the other reasons are shown as
    written (as ledger entries' reasons are, `points.selectors.entry_reason_text`)."""
    metrics = change.metrics or {}
    if (change.kind == TierChange.Kind.DOWNGRADE and change.from_tier_id is not None
            and metrics.get("below_since") and metrics.get("grace_days") is not None):
        return downgrade_reason_text(tier=change.from_tier.name, below_since=date.fromisoformat(metrics["below_since"]),
                                     grace_days=metrics["grace_days"])
    return change.reason


def tiers_export(member: Member) -> dict:
    """The member's tier state and every tier change, oldest first, for an export."""
    state = MemberTier.objects.filter(member=member).select_related("tier").first()
    return {
        "tier": {"name": member_current_tier(member).name,
                 "since": state.since.isoformat() if state else None,
                 "below_since": state.below_since.isoformat() if state and state.below_since else None},
        "tier_history": export_rows(
            TierChange.objects.filter(member=member).order_by("created_at", "id"),
            "from_tier__name", "to_tier__name", "kind", "reason", "metrics", "actor_id", "created_at"),
    }
