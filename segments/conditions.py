"""The segment definition language: what a condition may say, how a definition is checked, and how
it compiles to one SQL query over members (docs/segments.md describes every kind).

A definition is `{"all": [item, …]}`: a member matches when every item matches. An item is a
condition `{"kind": …, "negate": false, …parameters}` or an OR group `{"any": [condition, …],
"negate": false}` that matches when at least one of its conditions does. `negate` turns an item
around. `{"all": []}` matches every active member.

Every condition compiles to a `Q` over `members.Member` built from EXISTS subqueries and plain
column tests, so a whole definition is one WHERE clause: no Python loop ever looks at members.
Windows of "N days" count local days in the clinic's time zone: a visit on today's local date is 0
days ago, and "within N days" means 0..N days ago (docs/segments.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property

from django.core.exceptions import ValidationError
from django.db.models import (
    BigIntegerField,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThanOrEqual, In, LessThan, LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.models import Booking, Location
from feedback.models import FollowUpTask
from insights.models import LifecycleStage, MemberBought, MemberFirst, RfmCellName
from insights.rollups import rollups_usable
from insights.selectors import add_months, counted_visits
from members.models import ConsentRecord, Member
from members.selectors import consent_granted_member_ids
from points.models import STORED_VALUE_ASSETS, Account, Asset
from points.rules import local_date, local_midnight
from recommendations.selectors import due_member_ids, recommended_member_ids
from segments.models import MemberScore
from tiers.models import MemberTier, Tier, TierChange
from visits.models import CatalogueItem, Category, Visit, VisitLine

MAX_ITEMS = 30
MAX_GROUP = 20
MAX_DAYS = 3660
MAX_LIST = 200

# Stage of members with no counted visit at all (they have no stored score).
NO_VISIT = "no_visit"
CONSENT_PURPOSES = (ConsentRecord.Purpose.MARKETING_SMS, ConsentRecord.Purpose.MARKETING_EMAIL,
                    ConsentRecord.Purpose.MARKETING_WECHAT, ConsentRecord.Purpose.SURVEYS)


@dataclass(frozen=True)
class Context:
    """The evaluation instant, its local day, and whether the visit rollups answer the "last
    visit", "first visit" and "bought" conditions exactly: they are built in the clinic's time
    zone and no visit is later than the instant (always so for now), so a member's latest
    counted local day by the instant is the latest in the rollups."""

    at: datetime
    today: date

    @classmethod
    def of(cls, at: datetime | None) -> Context:
        at = at or timezone.now()
        return cls(at=at, today=local_date(at))

    @cached_property
    def rollups(self) -> bool:
        """Asked (one query) only by definitions with a condition the rollups answer."""
        return rollups_usable(self.at)

    def days_ago(self, days: int) -> datetime:
        """The first instant of the local day `days` days before today."""
        return local_midnight(self.today - timedelta(days=days))


class Problem(Exception):
    """A parameter of one condition is wrong; `conditions_clean` adds where."""


# --- parameter checks ---------------------------------------------------------------------

def _int(params: dict, name: str, *, required: bool = False, low: int = 0, high: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise Problem(_("“%(name)s” is required.") % {"name": name})
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Problem(_("“%(name)s” must be a whole number.") % {"name": name})
    try:
        number = int(value)
    except ValueError:
        raise Problem(_("“%(name)s” must be a whole number.") % {"name": name}) from None
    if number < low or (high is not None and number > high):
        if high is None:
            raise Problem(_("“%(name)s” must be at least %(low)s.") % {"name": name, "low": low})
        raise Problem(_("“%(name)s” must be between %(low)s and %(high)s.") % {"name": name, "low": low, "high": high})
    return number


def _money(params: dict, name: str) -> str | None:
    from decimal import Decimal, InvalidOperation

    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Problem(_("“%(name)s” must be an amount.") % {"name": name}) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise Problem(_("“%(name)s” must be an amount of at least 0.") % {"name": name})
    return str(amount.quantize(Decimal("0.01")))


def _range(params: dict, lo: str | None, hi: str | None) -> None:
    if lo is not None and hi is not None and float(hi) < float(lo):
        raise Problem(_("The upper limit cannot be below the lower limit."))
    if lo is None and hi is None:
        raise Problem(_("Give a lower limit, an upper limit or both."))


def _date(params: dict, name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise Problem(_("“%(name)s” must be a date (YYYY-MM-DD).") % {"name": name}) from None


def _choices(params: dict, name: str, allowed, *, required: bool = True) -> list[str]:
    values = params.get(name)
    if values in (None, "", []):
        if required:
            raise Problem(_("Choose at least one value for “%(name)s”.") % {"name": name})
        return []
    if not isinstance(values, list) or len(values) > MAX_LIST:
        raise Problem(_("“%(name)s” must be a list.") % {"name": name})
    unknown = [str(v) for v in values if v not in allowed]
    if unknown:
        raise Problem(_("Unknown value for “%(name)s”: %(values)s.") % {"name": name, "values": ", ".join(unknown)})
    return list(dict.fromkeys(values))


def _ids(params: dict, name: str, model, *, required: bool = True) -> list[int]:
    values = params.get(name)
    if values in (None, "", []):
        if required:
            raise Problem(_("Choose at least one value for “%(name)s”.") % {"name": name})
        return []
    if not isinstance(values, list) or len(values) > MAX_LIST:
        raise Problem(_("“%(name)s” must be a list.") % {"name": name})
    try:
        ids = list(dict.fromkeys(int(v) for v in values if not isinstance(v, bool)))
    except (TypeError, ValueError):
        raise Problem(_("“%(name)s” must list ids.") % {"name": name}) from None
    if len(ids) != len(values):
        raise Problem(_("“%(name)s” must list ids.") % {"name": name})
    found = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if missing := [str(i) for i in ids if i not in found]:
        raise Problem(_("These ids of “%(name)s” do not exist: %(ids)s.") % {"name": name, "ids": ", ".join(missing)})
    return ids


def _bool(params: dict, name: str, *, default: bool | None = None) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise Problem(_("“%(name)s” must be true or false.") % {"name": name})
    return value


# --- the kinds ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    code: str
    label: object
    clean: Callable[[dict], dict]
    compile: Callable[[dict, Context], Q]
    # False for kinds whose complement would select members by their medical flag.
    negatable: bool = True


def _visits(member_ref: str = "pk"):
    return counted_visits().filter(member_id=OuterRef(member_ref))


def _window(visits, params: dict, ctx: Context):
    visits = visits.filter(visited_at__lte=ctx.at)
    if params.get("days") is not None:
        visits = visits.filter(visited_at__gte=ctx.days_ago(params["days"]))
    return visits


# tier: {"tiers": [id…], "mode": "current" | "ever"}
def _tier_clean(p: dict) -> dict:
    return {"tiers": _ids(p, "tiers", Tier), "mode": _choices({"mode": [p.get("mode", "current")]}, "mode",
                                                              ("current", "ever"))[0]}


def _tier_q(p: dict, ctx: Context) -> Q:
    entry = Tier.objects.order_by("rank").values_list("pk", flat=True).first()
    if entry in p["tiers"]:
        # A member without a tier state holds the entry tier (as insights.selectors.kpi_tiers
        # counts), so: no tier state outside the chosen tiers. One NOT EXISTS, an anti-join.
        q = ~Q(Exists(MemberTier.objects.filter(member_id=OuterRef("pk")).exclude(tier_id__in=p["tiers"])))
    else:
        q = Q(Exists(MemberTier.objects.filter(member_id=OuterRef("pk"), tier_id__in=p["tiers"])))
    if p["mode"] == "ever":
        q |= Q(Exists(TierChange.objects.filter(member_id=OuterRef("pk"), to_tier_id__in=p["tiers"],
                                                created_at__lte=ctx.at)))
    return q


# points_balance: {"min": int, "max": int}
def _balance_clean(p: dict) -> dict:
    low, high = _int(p, "min"), _int(p, "max")
    _range(p, low, high)
    return {"min": low, "max": high}


def _balance_q(p: dict, ctx: Context) -> Q:
    accounts = Account.objects.filter(member_id=OuterRef("pk"), asset=Asset.POINTS)
    if p["min"]:
        in_range = accounts.filter(balance__gte=p["min"])
        if p["max"] is not None:
            in_range = in_range.filter(balance__lte=p["max"])
        return Q(Exists(in_range))
    # A member without an account has a balance of 0, in range: no account above the maximum.
    return ~Q(Exists(accounts.filter(balance__gt=p["max"])))


# stored_value_balance: {"min": "500.00", "max": …}: the card's balance (paid-in plus bonus, yuan)
def _card_clean(p: dict) -> dict:
    low, high = _money(p, "min"), _money(p, "max")
    _range(p, low, high)
    if low is None and high is None:
        raise Problem(_("Give at least a minimum or a maximum."))
    return {"min": low, "max": high}


def _card_q(p: dict, ctx: Context) -> Q:
    # The two stored-value accounts (cents); a member without one has a balance of 0.
    cents = Subquery(Account.objects.filter(member_id=OuterRef("pk"), asset__in=STORED_VALUE_ASSETS)
                     .order_by().values("member_id").annotate(total=Sum("balance")).values("total"),
                     output_field=BigIntegerField())
    balance = Coalesce(cents, Value(0, output_field=BigIntegerField()))
    q = Q()
    if p["min"] is not None:
        q &= Q(GreaterThanOrEqual(balance, Value(int(Decimal(p["min"]) * 100))))
    if p["max"] is not None:
        q &= Q(LessThanOrEqual(balance, Value(int(Decimal(p["max"]) * 100))))
    return q


# spend: {"min": "1000.00", "max": …, "days": N or null for all time}
def _spend_clean(p: dict) -> dict:
    low, high = _money(p, "min"), _money(p, "max")
    _range(p, low, high)
    return {"min": low, "max": high, "days": _int(p, "days", low=1, high=MAX_DAYS)}


def _range_q(value, p: dict) -> Q:
    """`value` (never NULL) within the condition's min and max."""
    q = Q()
    if p["min"] is not None and float(p["min"]) > 0:
        q &= Q(GreaterThanOrEqual(value, Value(Decimal(p["min"]))))
    if p["max"] is not None:
        q &= Q(LessThanOrEqual(value, Value(Decimal(p["max"]))))
    return q


def _per_member(visits, aggregate, output_field):
    """One member's aggregate over `visits` (correlated on the member), 0 when there are none.
    Correlated on purpose: PostgreSQL evaluates it after the cheaper tests of the same row, as an
    index-only scan of `visit_member_time_cover` (its INCLUDE columns), so a segment whose other
    conditions leave few members reads only their visits; alone it reads each member's visits
    once, like a grouping of the whole window would."""
    value = Subquery(visits.order_by().values("member_id").annotate(value=aggregate).values("value"),
                     output_field=output_field)
    return Coalesce(value, Value(0, output_field=output_field))


def _spend_q(p: dict, ctx: Context) -> Q:
    # A visit not counted is refunded in full (total = refunded_total, a check constraint keeps
    # refunded_total <= total) or free: either adds 0, so the paid-and-not-refunded visits give
    # the same sum, and their test reads only columns of the index.
    visits = _window(Visit.objects.filter(member_id=OuterRef("pk"), total__gt=F("refunded_total")), p, ctx)
    return _range_q(_per_member(visits, Sum(F("total") - F("refunded_total")),
                                DecimalField(max_digits=16, decimal_places=2)), p)


# visit_count: {"min": int, "max": int, "days": N or null}
def _count_clean(p: dict) -> dict:
    low, high = _int(p, "min"), _int(p, "max")
    _range(p, low, high)
    return {"min": low, "max": high, "days": _int(p, "days", low=1, high=MAX_DAYS)}


def _count_q(p: dict, ctx: Context) -> Q:
    return _range_q(_per_member(_window(_visits(), p, ctx), Count("id"), BigIntegerField()), p)


# last_visit: {"op": "within_days" | "more_than_days" | "on_or_after" | "before", "days": N, "date": "…"}
LAST_VISIT_OPS = ("within_days", "more_than_days", "on_or_after", "before")


def _last_visit_clean(p: dict) -> dict:
    op = _choices({"op": [p.get("op")]}, "op", LAST_VISIT_OPS)[0]
    if op in ("within_days", "more_than_days"):
        return {"op": op, "days": _int(p, "days", required=True, high=MAX_DAYS)}
    day = _date(p, "date")
    if day is None:
        raise Problem(_("“%(name)s” is required.") % {"name": "date"})
    return {"op": op, "date": day}


# Stand-ins for "no visit" in comparisons of the latest or first visit, so that a member without
# one gives true or false (never NULL) and "negate" turns exactly those members around.
NEVER_BEFORE = datetime.min.replace(tzinfo=UTC)
NEVER_AFTER = datetime.max.replace(tzinfo=UTC)


def _visit_time(ctx: Context, order: str, none):
    """The member's latest (order "-visited_at") or first ("visited_at") counted visit by `at`,
    `none` if there is none: one probe of `visit_member_time_cover` per member."""
    visits = _visits().filter(visited_at__lte=ctx.at).order_by(order).values("visited_at")[:1]
    return Coalesce(Subquery(visits, output_field=DateTimeField()), Value(none, output_field=DateTimeField()))


def _last_visit_q(p: dict, ctx: Context) -> Q:
    if ctx.rollups:
        # The local day of the latest counted visit, one row per member who has one: the visit
        # is on or after a local midnight exactly when its local day is on or after that day.
        day = (ctx.today - timedelta(days=p["days"]) if p["op"] in ("within_days", "more_than_days")
               else date.fromisoformat(p["date"]))
        lookup = "last_day__gte" if p["op"] in ("within_days", "on_or_after") else "last_day__lt"
        return Q(Exists(MemberFirst.objects.filter(member_id=OuterRef("pk"), **{lookup: day})))
    since = (ctx.days_ago(p["days"]) if p["op"] in ("within_days", "more_than_days")
             else local_midnight(date.fromisoformat(p["date"])))
    if p["op"] in ("within_days", "on_or_after"):
        return Q(GreaterThanOrEqual(_visit_time(ctx, "-visited_at", NEVER_BEFORE), since))
    # Some visit, and the latest before `since`: a member who never visited compares as never after.
    return Q(LessThan(_visit_time(ctx, "-visited_at", NEVER_AFTER), since))


# first_visit: {"op": "within_days", "days": N} (new members) or {"op": "never"}
def _first_visit_clean(p: dict) -> dict:
    op = _choices({"op": [p.get("op", "within_days")]}, "op", ("within_days", "never"))[0]
    if op == "never":
        return {"op": op}
    return {"op": op, "days": _int(p, "days", required=True, high=MAX_DAYS)}


def _first_visit_q(p: dict, ctx: Context) -> Q:
    if ctx.rollups:
        # Correlated on the member (a primary-key probe, or a hashed join at the top level).
        firsts = MemberFirst.objects.filter(member_id=OuterRef("pk"))
        if p["op"] == "never":
            return ~Q(Exists(firsts))
        return Q(Exists(firsts.filter(first_day__gte=ctx.today - timedelta(days=p["days"]))))
    if p["op"] == "never":
        return ~Q(Exists(_visits().filter(visited_at__lte=ctx.at)))
    return Q(GreaterThanOrEqual(_visit_time(ctx, "visited_at", NEVER_BEFORE), ctx.days_ago(p["days"])))


# bought: {"items": [id…], "categories": [id…], "item_kind": "treatment" | "product" | null, "days": N or null}
def _bought_clean(p: dict) -> dict:
    items = _ids(p, "items", CatalogueItem, required=False)
    categories = _ids(p, "categories", Category, required=False)
    kind = p.get("item_kind") or None
    if kind is not None:
        kind = _choices({"item_kind": [kind]}, "item_kind", CatalogueItem.Kind.values)[0]
    if not items and not categories and kind is None:
        raise Problem(_("Choose treatments or products, categories, or a kind."))
    return {"items": items, "categories": categories, "item_kind": kind,
            "days": _int(p, "days", low=1, high=MAX_DAYS)}


def _bought_what(rows, p: dict):
    """Visit lines, or the rollup's rows, of the condition's items or categories and kind."""
    what = Q()
    if p["items"]:
        what |= Q(item_id__in=p["items"])
    if p["categories"]:
        what |= Q(category_id__in=p["categories"])
    if what:
        rows = rows.filter(what)
    if p["item_kind"]:
        rows = rows.filter(item_id__in=CatalogueItem.objects.filter(kind=p["item_kind"]).values("pk"))
    return rows


def _bought_q(p: dict, ctx: Context) -> Q:
    if ctx.rollups:
        # The same rule, kept per member, local day, item and category by the rollups. Correlated:
        # at the top level PostgreSQL joins it (a semi-join); in an "any of" group it probes the
        # member's rows of `insights_bought_member` instead of hashing every member who bought.
        bought = MemberBought.objects.filter(member_id=OuterRef("pk"), day__lte=ctx.today)
        if p["days"] is not None:
            bought = bought.filter(day__gte=ctx.today - timedelta(days=p["days"]))
        return Q(Exists(_bought_what(bought, p)))
    # A line not refunded in full is on a counted visit exactly when the visit was paid and not
    # refunded in full, or was free (insights.selectors.counted).
    # Uncorrelated, as a set of member ids: at the top level PostgreSQL joins it like EXISTS (a
    # hashed semi-join), and in an "any of" group it is computed once and looked up per member
    # (a hashed subplan) instead of reading each member's visit lines.
    lines = VisitLine.objects.filter(
        Q(visit__total__gt=F("visit__refunded_total")) | Q(visit__total=0),
        refunded_quantity__lt=F("quantity"), visit__visited_at__lte=ctx.at)
    if p["days"] is not None:
        lines = lines.filter(visit__visited_at__gte=ctx.days_ago(p["days"]))
    return Q(pk__in=_bought_what(lines, p).values("visit__member_id"))


# tag: {"tags": [str…], "match": "any" | "all"}
def _tag_clean(p: dict) -> dict:
    tags = p.get("tags")
    if not isinstance(tags, list) or not tags or len(tags) > MAX_LIST:
        raise Problem(_("Choose at least one value for “%(name)s”.") % {"name": "tags"})
    # Member tags are kept trimmed and in lower case (members.services), so are these.
    cleaned = list(dict.fromkeys(str(t).strip().lower() for t in tags if str(t).strip()))
    if not cleaned or any(len(t) > 40 for t in cleaned):
        raise Problem(_("Each tag can have at most 40 characters."))
    return {"tags": cleaned, "match": _choices({"match": [p.get("match", "any")]}, "match", ("any", "all"))[0]}


def _tag_q(p: dict, ctx: Context) -> Q:
    return Q(tags__overlap=p["tags"]) if p["match"] == "any" else Q(tags__contains=p["tags"])


# gender: {"genders": [...]}
def _gender_clean(p: dict) -> dict:
    return {"genders": _choices(p, "genders", Member.Gender.values)}


def _gender_q(p: dict, ctx: Context) -> Q:
    return Q(gender__in=p["genders"])


# age: {"min": years, "max": years}, whole years on today's local date
def _age_clean(p: dict) -> dict:
    low, high = _int(p, "min", high=150), _int(p, "max", high=150)
    _range(p, low, high)
    return {"min": low, "max": high}


def _age_q(p: dict, ctx: Context) -> Q:
    q = Q(birthday__isnull=False)
    if p["min"] is not None:
        q &= Q(birthday__lte=add_months(ctx.today, -12 * p["min"]))
    if p["max"] is not None:
        q &= Q(birthday__gt=add_months(ctx.today, -12 * (p["max"] + 1)))
    return q


# birthday_month: {"months": [1…12]} or {"relative": "current" | "next"}
def _birthday_clean(p: dict) -> dict:
    if p.get("relative"):
        return {"relative": _choices({"relative": [p["relative"]]}, "relative", ("current", "next"))[0]}
    return {"months": sorted(int(m) for m in _choices(p, "months", list(range(1, 13))))}


def _birthday_q(p: dict, ctx: Context) -> Q:
    if "relative" in p:
        month = ctx.today.month if p["relative"] == "current" else add_months(ctx.today.replace(day=1), 1).month
        return Q(birthday__month=month)
    return Q(birthday__month__in=p["months"])


# joined: {"on_or_after": date, "on_or_before": date} or {"within_days": N}
def _joined_clean(p: dict) -> dict:
    if p.get("within_days") not in (None, ""):
        return {"within_days": _int(p, "within_days", high=MAX_DAYS)}
    after, before = _date(p, "on_or_after"), _date(p, "on_or_before")
    if after is None and before is None:
        raise Problem(_("Give a first day, a last day or a number of days."))
    if after and before and before < after:
        raise Problem(_("The last day cannot be before the first."))
    return {"on_or_after": after, "on_or_before": before}


def _joined_q(p: dict, ctx: Context) -> Q:
    if "within_days" in p:
        return Q(joined_on__gte=ctx.today - timedelta(days=p["within_days"]), joined_on__lte=ctx.today)
    q = Q()
    if p["on_or_after"]:
        q &= Q(joined_on__gte=p["on_or_after"])
    if p["on_or_before"]:
        q &= Q(joined_on__lte=p["on_or_before"])
    return q


# referral: {"referred": true/false, "referrers": [member id…]}
def _referral_clean(p: dict) -> dict:
    referrers = _ids(p, "referrers", Member, required=False)
    referred = _bool(p, "referred", default=True)
    if referrers and not referred:
        raise Problem(_("Referrers can only be chosen for referred members."))
    return {"referred": referred, "referrers": referrers}


def _referral_q(p: dict, ctx: Context) -> Q:
    if p["referrers"]:
        return Q(referred_by_id__in=p["referrers"])
    return Q(referred_by__isnull=not p["referred"])


# source: {"sources": [...]}: how the member came to the clinic
def _source_clean(p: dict) -> dict:
    return {"sources": _choices(p, "sources", Member.Source.values)}


def _source_q(p: dict, ctx: Context) -> Q:
    return Q(source__in=p["sources"])


# location: {"locations": [id…]}: the location of most of the member's checked-out appointments
def _location_clean(p: dict) -> dict:
    return {"locations": _ids(p, "locations", Location)}


def _location_q(p: dict, ctx: Context) -> Q:
    top = (Booking.objects.filter(member_id=OuterRef("pk"), visit__isnull=False, visit__visited_at__lte=ctx.at)
           .values("location_id").annotate(n=Count("id")).order_by("-n", "location_id").values("location_id")[:1])
    return Q(In(Subquery(top), p["locations"]))


# consent: {"purpose": "marketing_sms" …}: the latest record for it grants it
def _consent_clean(p: dict) -> dict:
    return {"purpose": _choices({"purpose": [p.get("purpose")]}, "purpose", CONSENT_PURPOSES)[0]}


def _consent_q(p: dict, ctx: Context) -> Q:
    return Q(pk__in=consent_granted_member_ids(purpose=p["purpose"], at=ctx.at))


# recall_due: {"within_days": N}: an open recall follow-up due by the end of today + N days
def _recall_clean(p: dict) -> dict:
    return {"within_days": _int(p, "within_days", high=365) or 0}


def _recall_q(p: dict, ctx: Context) -> Q:
    due_by = local_midnight(ctx.today + timedelta(days=p["within_days"] + 1))
    return Q(Exists(FollowUpTask.objects.filter(member_id=OuterRef("pk"), kind=FollowUpTask.Kind.RECALL,
                                                status=FollowUpTask.Status.OPEN, due_at__lt=due_by)))


# rfm_cell: {"cells": [...]}: the cell the nightly job stored
def _cell_clean(p: dict) -> dict:
    return {"cells": _choices(p, "cells", RfmCellName.values)}


def _cell_q(p: dict, ctx: Context) -> Q:
    return Q(Exists(MemberScore.objects.filter(member_id=OuterRef("pk"), cell__in=p["cells"])))


# rfm_score: {"r": [1…5], "f": [...], "m": [...]}: stored scores, any left out is not tested
def _score_clean(p: dict) -> dict:
    cleaned = {key: sorted(int(v) for v in _choices(p, key, [1, 2, 3, 4, 5], required=False))
               for key in ("r", "f", "m")}
    if not any(cleaned.values()):
        raise Problem(_("Choose scores for recency, frequency or spend."))
    return cleaned


def _score_q(p: dict, ctx: Context) -> Q:
    scores = MemberScore.objects.filter(member_id=OuterRef("pk"), r__isnull=False)
    for key in ("r", "f", "m"):
        if p[key]:
            scores = scores.filter(**{f"{key}__in": p[key]})
    return Q(Exists(scores))


# lifecycle: {"stages": [...]}: the stage the nightly job stored, or no_visit
def _stage_clean(p: dict) -> dict:
    return {"stages": _choices(p, "stages", [*LifecycleStage.values, NO_VISIT])}


def _stage_q(p: dict, ctx: Context) -> Q:
    stages = [s for s in p["stages"] if s != NO_VISIT]
    scores = MemberScore.objects.filter(member_id=OuterRef("pk"))
    if NO_VISIT in p["stages"]:
        return ~Q(Exists(scores.exclude(lifecycle__in=stages)))
    return Q(Exists(scores.filter(lifecycle__in=stages)))


KINDS: dict[str, Kind] = {kind.code: kind for kind in [
    Kind("tier", gettext_lazy("Tier"), _tier_clean, _tier_q),
    Kind("points_balance", gettext_lazy("Points balance"), _balance_clean, _balance_q),
    Kind("stored_value_balance", gettext_lazy("Stored-value balance"), _card_clean, _card_q),
    Kind("spend", gettext_lazy("Total spend"), _spend_clean, _spend_q),
    Kind("visit_count", gettext_lazy("Number of visits"), _count_clean, _count_q),
    Kind("last_visit", gettext_lazy("Last visit"), _last_visit_clean, _last_visit_q),
    Kind("first_visit", gettext_lazy("First visit"), _first_visit_clean, _first_visit_q),
    Kind("bought", gettext_lazy("Bought"), _bought_clean, _bought_q),
    Kind("tag", gettext_lazy("Tag"), _tag_clean, _tag_q),
    Kind("gender", gettext_lazy("Gender"), _gender_clean, _gender_q),
    Kind("age", gettext_lazy("Age"), _age_clean, _age_q),
    Kind("birthday_month", gettext_lazy("Birthday month"), _birthday_clean, _birthday_q),
    Kind("joined", gettext_lazy("Joined"), _joined_clean, _joined_q),
    Kind("referral", gettext_lazy("Referred"), _referral_clean, _referral_q),
    Kind("source", gettext_lazy("Source channel"), _source_clean, _source_q),
    Kind("location", gettext_lazy("Location visited most"), _location_clean, _location_q),
    Kind("consent", gettext_lazy("Consent"), _consent_clean, _consent_q),
    Kind("recall_due", gettext_lazy("Recall due"), _recall_clean, _recall_q),
    Kind("rfm_cell", gettext_lazy("RFM cell"), _cell_clean, _cell_q),
    Kind("rfm_score", gettext_lazy("RFM scores"), _score_clean, _score_q),
    Kind("lifecycle", gettext_lazy("Lifecycle stage"), _stage_clean, _stage_q),
]}


# --- from the recommendations' nightly tables (docs/recommendations.md) ----------------------

def _item(params: dict, name: str) -> int:
    value = params.get(name)
    if value is None or value == "":
        raise Problem(_("“%(name)s” is required.") % {"name": name})
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise Problem(_("“%(name)s” must be an id.") % {"name": name})
    if not CatalogueItem.objects.filter(pk=int(value)).exists():
        raise Problem(_("These ids of “%(name)s” do not exist: %(ids)s.") % {"name": name, "ids": value})
    return int(value)


def _score(params: dict, name: str) -> float:
    value = params.get(name)
    if value is None or value == "":
        raise Problem(_("“%(name)s” is required.") % {"name": name})
    try:
        number = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not 0 <= number <= 1:
        raise Problem(_("“%(name)s” must be a number from 0 to 1.") % {"name": name})
    return round(number, 4)


# recommended: {"item": id, "min_score": 0..1}: the item would be recommended with at least that score
def _recommended_clean(p: dict) -> dict:
    return {"item": _item(p, "item"), "min_score": _score(p, "min_score")}


def _recommended_q(p: dict, ctx: Context) -> Q:
    return Q(pk__in=recommended_member_ids(item_id=p["item"], min_score=p["min_score"], as_of=ctx.at))


# due_for: {"item": id, "within_days": N}: the item's interval has passed since the last purchase
def _due_for_clean(p: dict) -> dict:
    return {"item": _item(p, "item"), "within_days": _int(p, "within_days", high=365) or 0}


def _due_for_q(p: dict, ctx: Context) -> Q:
    return Q(pk__in=due_member_ids(item_id=p["item"], within_days=p["within_days"], as_of=ctx.at))


KINDS.update({kind.code: kind for kind in [
    # Not negatable: both leave out members with contraindications for an item needing clearance,
    # and "not" would then select them (docs/segments.md).
    Kind("recommended", gettext_lazy("Recommended item"), _recommended_clean, _recommended_q, negatable=False),
    Kind("due_for", gettext_lazy("Due for an item"), _due_for_clean, _due_for_q, negatable=False),
]})


# Kinds that test only the member's own row.
COLUMN_KINDS = frozenset({"tag", "gender", "age", "birthday_month", "joined", "referral", "source"})


# --- the whole definition -----------------------------------------------------------------

def _condition_clean(raw, where: str) -> dict:
    if not isinstance(raw, dict):
        raise ValidationError(_("%(where)s: a condition must be an object.") % {"where": where})
    kind = KINDS.get(raw.get("kind"))
    if kind is None:
        raise ValidationError(_("%(where)s: unknown condition kind “%(kind)s”.")
                              % {"where": where, "kind": raw.get("kind")})
    try:
        params = kind.clean({k: v for k, v in raw.items() if k not in ("kind", "negate")})
        negate = _bool(raw, "negate", default=False)
        if negate and not kind.negatable:
            raise Problem(_("This condition cannot be turned around with “not”."))
    except Problem as problem:
        raise ValidationError(_("%(where)s (%(kind)s): %(problem)s")
                              % {"where": where, "kind": kind.label, "problem": problem}) from None
    return {"kind": kind.code, "negate": negate, **params}


def conditions_clean(raw) -> dict:
    """The definition checked and normalised, or ValidationError saying which condition is wrong
    and why."""
    if raw is None:
        raw = {"all": []}
    if not isinstance(raw, dict) or not isinstance(raw.get("all"), list) or set(raw) - {"all"}:
        raise ValidationError(_("A segment definition must be an object with a list “all”."))
    if len(raw["all"]) > MAX_ITEMS:
        raise ValidationError(_("At most %(n)s conditions.") % {"n": MAX_ITEMS})
    items = []
    for number, item in enumerate(raw["all"], start=1):
        where = _("Condition %(n)s") % {"n": number}
        if isinstance(item, dict) and "any" in item:
            group = item["any"]
            if not isinstance(group, list) or not group:
                raise ValidationError(_("%(where)s: an “any of” group needs at least one condition.")
                                      % {"where": where})
            if len(group) > MAX_GROUP:
                raise ValidationError(_("%(where)s: at most %(n)s conditions in a group.")
                                      % {"where": where, "n": MAX_GROUP})
            if set(item) - {"any", "negate"}:
                raise ValidationError(_("%(where)s: a group has only “any” and “negate”.") % {"where": where})
            try:
                negate = _bool(item, "negate", default=False)
            except Problem as problem:
                raise ValidationError(f"{where}: {problem}") from None
            inner = [_condition_clean(c, _("%(where)s, option %(n)s") % {"where": where, "n": k})
                     for k, c in enumerate(group, start=1)]
            if negate and not all(KINDS[c["kind"]].negatable for c in inner):
                raise ValidationError(_("%(where)s: this group cannot be turned around with “not”.") % {"where": where})
            items.append({"any": inner, "negate": negate})
        else:
            items.append(_condition_clean(item, where))
    return {"all": items}


def _one(condition: dict, ctx: Context) -> Q:
    params = {k: v for k, v in condition.items() if k not in ("kind", "negate")}
    q = KINDS[condition["kind"]].compile(params, ctx)
    return ~q if condition.get("negate") else q


# --- the grouped form of the per-member visit aggregates ----------------------------------
#
# Correlated (the kinds above): each aggregate condition is a subquery probing the member's visits
# in `visit_member_time_cover`, run only for the members the cheaper tests leave. Grouped: all the
# top-level aggregate conditions (alone or in groups made only of them) are answered by ONE
# `GROUP BY member_id` over the counted visits of their widest window, with each condition's
# window as a FILTER of its aggregate; its member ids are joined once (a semi- or anti-join).
# The rule choosing between them is `_grouped_wanted` (docs/segments.md, Performance).

AGGREGATE_KINDS = frozenset({"spend", "visit_count", "last_visit", "first_visit"})
# With the rollups, "last visit" and "first visit" are one stored day per member: not aggregates.
ROLLUP_AGGREGATE_KINDS = frozenset({"spend", "visit_count"})
# Kinds that usually leave most members: they do not keep the grouped form from being chosen.
WIDE_KINDS = frozenset({"bought", "last_visit", "first_visit"})


def _aggregate_test(condition: dict, ctx: Context, name: str) -> tuple[dict, Q, bool]:
    """One aggregate condition as (annotations named from `name`, a test of them over a member's
    counted visits, whether a member with no counted visit by `ctx.at` matches), negation applied."""
    kind, p = condition["kind"], condition
    since = ctx.days_ago(p["days"]) if p.get("days") is not None else None
    window = Q(visited_at__gte=since) if since is not None else None
    money = DecimalField(max_digits=16, decimal_places=2)
    if kind == "spend":
        # Counted visits not paid add 0 (see _spend_q), so the sum over counted visits is the same.
        value = Coalesce(Sum(F("total") - F("refunded_total"), filter=window, output_field=money),
                         Value(0, output_field=money))
        test, absent = _range_q(F(name), p), not (p["min"] is not None and float(p["min"]) > 0)
    elif kind == "visit_count":
        value = Count("id", filter=window)
        test, absent = _range_q(F(name), p), not p["min"]
    elif kind == "last_visit":
        since = (ctx.days_ago(p["days"]) if p["op"] in ("within_days", "more_than_days")
                 else local_midnight(date.fromisoformat(p["date"])))
        if p["op"] in ("within_days", "on_or_after"):
            value = Coalesce(Max("visited_at"), Value(NEVER_BEFORE, output_field=DateTimeField()))
            test = Q(GreaterThanOrEqual(F(name), since))
        else:
            value = Coalesce(Max("visited_at"), Value(NEVER_AFTER, output_field=DateTimeField()))
            test = Q(LessThan(F(name), since))
        absent = False
    elif kind == "first_visit":
        if p["op"] == "never":
            value, test, absent = Count("id"), Q(**{name: 0}), True
        else:
            value = Coalesce(Min("visited_at"), Value(NEVER_BEFORE, output_field=DateTimeField()))
            test, absent = Q(GreaterThanOrEqual(F(name), ctx.days_ago(p["days"]))), False
    else:
        raise ValueError(kind)
    if condition.get("negate"):
        test, absent = ~test, not absent
    return {name: value}, test, absent


def _window_start(conditions: list[dict], ctx: Context) -> datetime | None:
    """The first instant any of these conditions reads, None for all of a member's history."""
    starts = []
    for c in conditions:
        if c["kind"] not in ("spend", "visit_count") or c.get("days") is None:
            return None
        starts.append(ctx.days_ago(c["days"]))
    return min(starts)


class _Grouped:
    """Builds the member-id sets of the grouped form; names the annotations uniquely."""

    def __init__(self, ctx: Context):
        self.ctx, self.names = ctx, 0

    def test(self, condition: dict) -> tuple[dict, Q, bool]:
        self.names += 1
        return _aggregate_test(condition, self.ctx, f"agg_{self.names}")

    def members(self, annotations: dict, test: Q, absent: bool, conditions: list[dict]) -> Q:
        """Members for whom `test` holds over their counted visits, given whether it holds for a
        member with none: one grouping, joined as a set of ids (or its complement)."""
        visits = counted_visits().filter(visited_at__lte=self.ctx.at)
        if (start := _window_start(conditions, self.ctx)) is not None:
            visits = visits.filter(visited_at__gte=start)
        grouped = visits.order_by().values("member_id").annotate(**annotations)
        if absent:
            # Members without a visit in the window match: all but those grouped that fail.
            return ~Q(pk__in=grouped.filter(~test).values("member_id"))
        return Q(pk__in=grouped.filter(test).values("member_id"))


def _pure(item: dict, kinds: frozenset = AGGREGATE_KINDS) -> bool:
    """An aggregate condition, or an "any of" group made only of them."""
    return all(c["kind"] in kinds for c in item.get("any", [item]))


def _grouped_wanted(items: list[dict], kinds: frozenset = AGGREGATE_KINDS) -> bool:
    """The rule choosing the grouped form: at least two aggregate conditions (of `kinds`) at the
    top level (alone or in "any of" groups made only of them), so that one grouping replaces two
    or more probes per member, and no top-level condition (not negated) of another kind than those,
    "bought", "last visit" and "first visit". Such a condition (a tag, birthday month, consent,
    stored stage…) usually leaves few members, for whom the correlated probes read less than a
    grouping of every visit; a negated one, or a "bought", usually leaves most of them. Aggregate
    options of a group that also has other options stay correlated: they are tested only for the
    members the other options leave."""
    aggregates = sum(len(item.get("any", [item])) for item in items if _pure(item, kinds))
    narrowing = any("any" not in item and not item.get("negate")
                    and item["kind"] not in kinds | WIDE_KINDS for item in items)
    return aggregates >= 2 and not narrowing


def _group_q(item: dict, ctx: Context) -> Q:
    group = Q()
    # PostgreSQL tests an OR's arms in the order written and stops at the first true one:
    # the tests of the member's own columns first, then one-probe reads of the rollups, the
    # aggregates of the member's visits last.
    def cost(condition: dict) -> int:
        if condition["kind"] in COLUMN_KINDS:
            return 0
        return 1 if condition["kind"] in WIDE_KINDS and ctx.rollups else 2

    for condition in sorted(item["any"], key=cost):
        group |= _one(condition, ctx)
    return ~group if item.get("negate") else group


def conditions_q(conditions: dict, *, at: datetime | None = None) -> Q:
    """The definition as one condition over members, evaluated at `at` (now if None). The
    definition must have passed `conditions_clean`."""
    ctx = Context.of(at)
    items = conditions.get("all", [])
    reads = any(c["kind"] in WIDE_KINDS for item in items for c in item.get("any", [item]))
    kinds = ROLLUP_AGGREGATE_KINDS if reads and ctx.rollups else AGGREGATE_KINDS
    grouped = _Grouped(ctx) if _grouped_wanted(items, kinds) else None
    q = Q()
    # Top-level aggregate conditions and groups made only of them: one grouping for all.
    top = [item for item in items if grouped and _pure(item, kinds)]
    for item in items:
        if item in top:
            continue
        q &= _group_q(item, ctx) if "any" in item else _one(item, ctx)
    if top:
        annotations, test, absent, read = {}, Q(), True, []
        for item in top:
            item_test, item_absent = Q(), False
            for condition in item.get("any", [item]):
                names, one, one_absent = grouped.test(condition)
                annotations |= names
                item_test |= one
                item_absent = item_absent or one_absent
                read.append(condition)
            if "any" in item and item.get("negate"):
                item_test, item_absent = ~item_test, not item_absent
            test &= item_test
            absent = absent and item_absent
        q &= grouped.members(annotations, test, absent, read)
    return q
