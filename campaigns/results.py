"""Measured results of a campaign, treated against control, computed once by a job after the offer
window and the days after it, and stored (the page reads the stored row). Visits and revenue are
the insights' definitions (`insights.selectors.members_visits_revenue`). docs/campaigns.md states
every formula with a worked example."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from campaigns.models import Campaign, CampaignAudience, CampaignEvent, CampaignResult
from campaigns.selectors import campaign_settings
from insights.selectors import members_visits_revenue
from messaging.models import Message

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Welch:
    difference: float
    low: float
    high: float
    degrees_of_freedom: float | None


def welch_interval(treated: list[float], control: list[float], *, confidence: float = 0.95) -> Welch | None:
    """Welch's t-interval for mean(treated) − mean(control): the difference ± t(1−α/2, ν) × SE,
    SE = √(s₁²/n₁ + s₂²/n₂), ν by Welch–Satterthwaite. None with fewer than 2 members in a group."""
    n1, n2 = len(treated), len(control)
    if n1 < 2 or n2 < 2:
        return None
    m1, m2 = sum(treated) / n1, sum(control) / n2
    v1 = sum((x - m1) ** 2 for x in treated) / (n1 - 1)
    v2 = sum((x - m2) ** 2 for x in control) / (n2 - 1)
    a, b = v1 / n1, v2 / n2
    se = math.sqrt(a + b)
    if se == 0:
        return Welch(m1 - m2, m1 - m2, m1 - m2, None)
    df = (a + b) ** 2 / (a ** 2 / (n1 - 1) + b ** 2 / (n2 - 1))
    from scipy import stats  # imported when needed: it takes seconds, and launching a campaign imports this module

    t = float(stats.t.ppf(1 - (1 - confidence) / 2, df))
    return Welch(m1 - m2, m1 - m2 - t * se, m1 - m2 + t * se, df)


def measurement_period(campaign: Campaign) -> tuple[datetime, datetime] | None:
    """From the first offer's start to the last offer's end plus the clinic's days after the window
    (None before anything was given)."""
    span = campaign.grants.aggregate(lo=Min("valid_from"), hi=Max("valid_until"))
    if span["lo"] is None:
        return None
    return span["lo"], span["hi"] + timedelta(days=campaign_settings().after_window_days)


def _money(value: float | Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value).quantize(CENT))


def campaign_results_compute(*, campaign: Campaign, now: datetime | None = None) -> CampaignResult | None:
    """Compute and store the campaign's results (replacing earlier ones). Groups are as assigned
    (intention to treat): every treated member counts, whether the message reached them or not."""
    now = now or timezone.now()
    period = measurement_period(campaign)
    if period is None:
        return None
    lo, hi = period
    rules = campaign_settings()
    groups = {"treated": [], "control": []}
    for member_id, group in CampaignAudience.objects.filter(campaign=campaign).values_list("member_id", "group"):
        groups[group].append(member_id)
    activity = members_visits_revenue(member_ids=groups["treated"] + groups["control"], lo=lo, hi=min(hi, now))
    figures: dict = {"groups": {}}
    revenue: dict[str, list[float]] = {}
    for name, members in groups.items():
        per_member = [activity.get(m, (0, Decimal(0))) for m in members]
        n = len(members)
        visits = sum(v for v, _r in per_member)
        total = sum((r for _v, r in per_member), Decimal(0))
        revenue[name] = [float(r) for _v, r in per_member]
        figures["groups"][name] = {
            "members": n, "visits": visits, "visitors": sum(1 for v, _r in per_member if v),
            "visit_rate": round(sum(1 for v, _r in per_member if v) / n, 6) if n else None,
            "visits_per_member": round(visits / n, 6) if n else None,
            "revenue": _money(total), "revenue_per_member": _money(total / n) if n else None}
    grants = campaign.grants.aggregate(points=Sum("points"), coupons=Count("coupon"),
                                       redeemed=Count("coupon", filter=Q(coupon__status="redeemed")),
                                       discount=Sum("coupon__discount_given", filter=Q(coupon__status="redeemed")))
    points_cost = Decimal(grants["points"] or 0) * rules.point_cost
    coupon_cost = grants["discount"] or Decimal(0)
    offer_cost = points_cost + coupon_cost
    sent = (Message.objects.filter(guard_key__startswith=f"campaign:{campaign.pk}:",
                                   status__in=[Message.Status.SENT, Message.Status.QUEUED])
            .values("channel").annotate(n=Count("id")))
    message_cost = sum((rules.message_cost(row["channel"]) * row["n"] for row in sent), Decimal(0))
    treated, control = figures["groups"]["treated"], figures["groups"]["control"]
    treated["redemption_rate"] = round(grants["redeemed"] / grants["coupons"], 6) if grants["coupons"] else None
    control["redemption_rate"] = None
    treated["cost"], control["cost"] = _money(offer_cost + message_cost), "0.00"
    figures.update({"points_given": grants["points"] or 0, "coupons_given": grants["coupons"],
                    "coupons_redeemed": grants["redeemed"], "points_cost": _money(points_cost),
                    "coupon_cost": _money(coupon_cost), "offer_cost": _money(offer_cost),
                    "message_cost": _money(message_cost), "margin_rate": str(rules.gross_margin_rate),
                    "incremental_revenue": None, "incremental_revenue_low": None, "incremental_revenue_high": None,
                    "significant": None, "incremental_visits": None, "incremental_margin": None, "roi": None})
    n_treated = treated["members"]
    interval = welch_interval(revenue["treated"], revenue["control"])
    if treated["members"] and control["members"]:
        per_treated = sum(revenue["treated"]) / n_treated
        per_control = sum(revenue["control"]) / control["members"]
        incremental = Decimal(str(per_treated - per_control)) * n_treated
        figures["incremental_revenue"] = _money(incremental)
        figures["incremental_visits"] = round((treated["visits_per_member"] - control["visits_per_member"])
                                              * n_treated, 2)
        margin = incremental * rules.gross_margin_rate
        figures["incremental_margin"] = _money(margin)
        spent = offer_cost + message_cost
        figures["roi"] = round(float((margin - spent) / spent), 4) if spent else None
    if interval is not None:
        figures["incremental_revenue_low"] = _money(Decimal(str(interval.low)) * n_treated)
        figures["incremental_revenue_high"] = _money(Decimal(str(interval.high)) * n_treated)
        figures["degrees_of_freedom"] = None if interval.degrees_of_freedom is None else round(
            interval.degrees_of_freedom, 2)
        figures["significant"] = not (interval.low <= 0 <= interval.high)
    with transaction.atomic():
        result, _created = CampaignResult.objects.update_or_create(campaign=campaign, defaults={
            "computed_at": now, "measured_from": lo, "measured_until": hi, "figures": figures})
        CampaignEvent.objects.create(campaign=campaign, kind=CampaignEvent.Kind.RESULTS, at=now,
                                     detail={"incremental_revenue": figures["incremental_revenue"],
                                             "roi": figures["roi"]})
    return result


def campaign_results_due(*, now: datetime | None = None) -> int:
    """Compute the results of every finished or cancelled campaign whose measurement period has
    ended and whose results were not computed since."""
    now = now or timezone.now()
    done = 0
    for campaign in Campaign.objects.filter(status__in=[Campaign.Status.FINISHED, Campaign.Status.CANCELLED]):
        period = measurement_period(campaign)
        if period is None or period[1] > now:
            continue
        existing = CampaignResult.objects.filter(campaign=campaign).first()
        if existing is not None and existing.computed_at >= period[1]:
            continue
        campaign_results_compute(campaign=campaign, now=now)
        done += 1
    return done
