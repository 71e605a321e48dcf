"""Measured results: Welch's interval against scipy's own and against the worked example of
docs/campaigns.md, and a campaign's results from real visits, checked by computing every figure
here from the visits made."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from scipy import stats

from campaigns.models import CampaignAudience, CampaignResult
from campaigns.results import campaign_results_compute, campaign_results_due, welch_interval
from campaigns.tests.helpers import at_local, launch_at, make_campaign, run_at
from checkout.services import LineInput, PaymentInput, checkout_complete
from tiers.selectors import member_current_tier
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

DAY = date(2026, 6, 8)


def test_welch_interval_of_the_worked_example():
    # docs/campaigns.md: treated 300, 500, 0, 200; control 100, 0, 0, 100.
    interval = welch_interval([300, 500, 0, 200], [100, 0, 0, 100])
    assert interval.difference == 200
    assert interval.degrees_of_freedom == pytest.approx(3.4588, abs=1e-4)
    # SE = √(43333.33/4 + 3333.33/4) = 108.012; t(0.975, 3.4588) = 2.9565
    assert interval.low == pytest.approx(200 - 2.95645 * 108.01234, abs=0.01)
    assert interval.high == pytest.approx(519.33, abs=0.01)


@pytest.mark.parametrize(("treated", "control"), [
    ([120.0, 80, 0, 0, 300, 45.5, 0, 990], [0.0, 0, 100, 35, 0]),
    ([10.0, 10, 10, 11], [1.0, 2, 3, 4, 5, 6]),
])
def test_welch_interval_matches_scipy(treated, control):
    expected = stats.ttest_ind(treated, control, equal_var=False)
    ci = expected.confidence_interval(0.95)
    interval = welch_interval(treated, control)
    assert (interval.low, interval.high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert interval.degrees_of_freedom == pytest.approx(expected.df)


def test_too_few_members_give_no_interval():
    assert welch_interval([1.0], [1.0, 2.0]) is None


def test_results_from_visits_treated_against_control(owner, make_member):
    members = [make_member(f"会员{n}") for n in range(8)]
    campaign = make_campaign(owner, starts_on=DAY, holdout_percent=50, bonus_points=100, validity_days=7,
                             messages={"sms": {"body": "{campaign}"}})
    launch_at(campaign, owner, at_local(DAY, 8))
    run_at(at_local(DAY, 10))
    groups = dict(CampaignAudience.objects.filter(campaign=campaign).values_list("member_id", "group"))
    treated = [m for m in members if groups[m.pk] == "treated"]
    control = [m for m in members if groups[m.pk] == "control"]
    assert len(treated) == len(control) == 4
    item = catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="修护霜", sku="CREAM",
                                 category=category_create(name="产品", code="prod"), price=Decimal("100.00"))

    def buy(member, quantity: int, day: date) -> Decimal:
        due = Decimal(100 * quantity) * (100 - member_current_tier(member).discount_percent) / 100
        result = checkout_complete(member=member, actor=owner, at=at_local(day, 14),
                                   lines=[LineInput(item_id=item.pk, quantity=quantity)],
                                   payments=[PaymentInput("cash", due)])
        return result.visit.total

    revenue = {m.pk: Decimal(0) for m in members}
    visits = {m.pk: 0 for m in members}
    plan = [(treated[0], 3, DAY + timedelta(days=1)), (treated[1], 5, DAY + timedelta(days=2)),
            (treated[3], 2, DAY + timedelta(days=20)), (control[0], 1, DAY + timedelta(days=3)),
            (control[3], 1, DAY + timedelta(days=30)),
            # outside the measured period (7 days + 30 after): not counted
            (control[1], 9, DAY + timedelta(days=60)), (treated[2], 9, DAY - timedelta(days=3))]
    for member, quantity, day in plan:
        total = buy(member, quantity, day)
        if DAY <= day < DAY + timedelta(days=37):
            revenue[member.pk] += total
            visits[member.pk] += 1

    result = campaign_results_compute(campaign=campaign, now=at_local(DAY + timedelta(days=90), 4))

    figures = result.figures
    t = [float(revenue[m.pk]) for m in treated]
    c = [float(revenue[m.pk]) for m in control]
    per_t, per_c = sum(t) / 4, sum(c) / 4
    incremental = (per_t - per_c) * 4
    assert Decimal(figures["incremental_revenue"]) == Decimal(str(incremental)).quantize(Decimal("0.01"))
    ci = stats.ttest_ind(t, c, equal_var=False).confidence_interval(0.95)
    assert float(figures["incremental_revenue_low"]) == pytest.approx(ci.low * 4, abs=0.01)
    assert float(figures["incremental_revenue_high"]) == pytest.approx(ci.high * 4, abs=0.01)
    assert figures["significant"] is (not (ci.low <= 0 <= ci.high))
    assert figures["groups"]["treated"]["members"] == 4
    assert figures["groups"]["treated"]["visit_rate"] == sum(1 for m in treated if visits[m.pk]) / 4
    assert figures["groups"]["control"]["visit_rate"] == sum(1 for m in control if visits[m.pk]) / 4
    assert figures["incremental_visits"] == pytest.approx(
        (sum(visits[m.pk] for m in treated) - sum(visits[m.pk] for m in control)) / 4 * 4)
    # 400 points at ¥0.01; 4 SMS at ¥0.05; margin 60 %
    assert figures["offer_cost"] == "4.00" and figures["message_cost"] == "0.20"
    spent = Decimal("4.20")
    margin = Decimal(str(incremental)) * Decimal("0.6")
    assert figures["roi"] == pytest.approx(float((margin - spent) / spent), abs=1e-4)


def test_the_results_job_waits_for_the_end_of_the_measured_period(owner, make_member):
    for n in range(4):
        make_member(f"会员{n}")
    campaign = make_campaign(owner, starts_on=DAY, holdout_percent=50, bonus_points=1, validity_days=7)
    launch_at(campaign, owner, at_local(DAY, 8))
    run_at(at_local(DAY, 10))
    assert campaign_results_due(now=at_local(DAY + timedelta(days=20))) == 0
    assert not CampaignResult.objects.exists()
    assert campaign_results_due(now=at_local(DAY + timedelta(days=40))) == 1
    assert campaign_results_due(now=at_local(DAY + timedelta(days=41))) == 0
    assert CampaignResult.objects.get().figures["groups"]["control"]["members"] == 2
