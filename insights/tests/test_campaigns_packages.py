"""Panels 12 and 13: the campaigns' measured results and the treatment packages, read from the
campaigns' and packages' own figures, checked against the campaign's stored figures and against
the package's price and sessions worked out here."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from campaigns.models import CampaignAudience
from campaigns.results import campaign_results_compute
from campaigns.tests.helpers import at_local, launch_at, make_campaign, run_at
from checkout.services import LineInput, PaymentInput, checkout_complete, visit_refund
from members.services import member_register
from packages.models import PackagePurchase
from packages.services import package_refund
from packages.tests.conftest import catalogue, ipl_package, member, rules  # noqa: F401 - fixtures
from packages.tests.test_sell_use import sell, use
from points.ledger import lots_expire
from points.rules import local_date
from tiers.selectors import member_current_tier
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

DAY = date(2026, 6, 8)


@pytest.fixture
def measured(owner):
    """A campaign with a 50 % control group, visits of both groups, and its stored results."""
    members = [member_register(name=f"活动{n}", phone=f"1370000{n:04d}", actor=owner) for n in range(8)]
    campaign = make_campaign(owner, starts_on=DAY, holdout_percent=50, bonus_points=100, validity_days=7)
    launch_at(campaign, owner, at_local(DAY, 8))
    run_at(at_local(DAY, 10))
    groups = dict(CampaignAudience.objects.filter(campaign=campaign).values_list("member_id", "group"))
    item = catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="修护霜", sku="CREAM",
                                 category=category_create(name="产品", code="prod"), price=Decimal("100.00"))
    for n, buyer in enumerate(members):
        quantity = 4 if groups[buyer.pk] == "treated" else 1
        if n % 3 == 2:
            continue
        due = Decimal(100 * quantity) * (100 - member_current_tier(buyer).discount_percent) / 100
        checkout_complete(member=buyer, actor=owner, at=at_local(DAY + timedelta(days=2), 14),
                          lines=[LineInput(item_id=item.pk, quantity=quantity)], payments=[PaymentInput("cash", due)])
    return campaign_results_compute(campaign=campaign, now=at_local(DAY + timedelta(days=90), 4))


def test_the_campaigns_panel_shows_the_stored_results_of_campaigns_measured_in_the_period(
        measured, manager, staff_client):
    client = staff_client(manager)
    end = local_date(measured.measured_until)
    month = {"from": end.replace(day=1).isoformat(), "to": end.isoformat()}
    figures = measured.figures

    data = client.get("/api/v1/kpis/campaigns/", month).json()
    # Until the day before the measurement ended, the campaign is not measured yet.
    before = client.get("/api/v1/kpis/campaigns/", {"from": "2026-01-01",
                                                    "to": (end - timedelta(days=1)).isoformat()}).json()
    assert before["measured"] == 0 and before["campaigns"] == []

    assert data["measured"] == 1
    row = data["campaigns"][0]
    assert row["campaign"] == measured.campaign_id and row["url"] == f"/campaigns/{measured.campaign_id}/"
    assert (row["treated"], row["control"]) == (figures["groups"]["treated"]["members"],
                                                figures["groups"]["control"]["members"])
    assert row["incremental_revenue"] == figures["incremental_revenue"] == data["incremental_revenue"]
    assert row["incremental_revenue_low"] == figures["incremental_revenue_low"]
    assert row["significant"] is figures["significant"]
    cost = Decimal(figures["offer_cost"]) + Decimal(figures["message_cost"])
    assert Decimal(data["cost"]) == cost
    margin = Decimal(figures["incremental_margin"])
    assert data["roi"] == pytest.approx(float((margin - cost) / cost), abs=1e-6)
    assert Decimal(figures["incremental_revenue"]) > 0

    page = client.get("/insights/", month).content.decode()
    assert 'id="panel-campaigns"' in page and f'href="/campaigns/{measured.campaign_id}/"' in page
    assert f"¥{figures['incremental_revenue']}" in page
    rows = list(csv.reader(io.StringIO(client.get("/insights/export/campaigns.csv", month)
                                       .content.decode("utf-8-sig"))))
    assert rows[1][0] == measured.campaign.name and rows[1][5] == figures["incremental_revenue"]
    workbook = load_workbook(io.BytesIO(client.get("/insights/export/campaigns.xlsx", month).content))
    assert workbook.active.max_row == 3  # header, the campaign, all campaigns


def test_the_packages_figures_sit_next_to_stored_value(member, ipl_package, catalogue, front_desk,  # noqa: F811
                                                       manager, staff_client):
    # ¥1,000.00 for 3 sessions: using one recognises floor(100000 × 1 / 3) cents = ¥333.33.
    sell(member, ipl_package, front_desk, at=at_local(date(2026, 3, 2), 11))
    use(member, ipl_package, catalogue["ipl"], front_desk, at=at_local(date(2026, 3, 10), 11))
    use(member, ipl_package, catalogue["ipl"], front_desk, at=at_local(date(2026, 4, 1), 0, 10))
    client = staff_client(manager)

    march = client.get("/api/v1/kpis/stored-value/", {"from": "2026-03-01", "to": "2026-03-31"}).json()["packages"]
    april = client.get("/api/v1/kpis/stored-value/", {"from": "2026-04-01", "to": "2026-04-30"}).json()["packages"]

    assert (march["sold"], march["sales"], march["sessions_used"], march["used_value"]) == (1, "1000.00", 1, "333.33")
    assert (march["outstanding_sessions"], march["outstanding_value"]) == (2, "666.67")
    assert march["recognised"] == "333.33"
    # The second session, at 00:10 local on 1 April, is April's: floor(100000 × 2 / 3) − 33333 = 33333 cents.
    assert (april["sold"], april["sessions_used"], april["used_value"]) == (0, 1, "333.33")
    assert (april["outstanding_sessions"], april["outstanding_value"]) == (1, "333.34")
    page = client.get("/insights/", {"from": "2026-03-01", "to": "2026-03-31"}).content.decode()
    assert 'id="kpi-pk_outstanding_value"' in page and "¥666.67" in page
    rows = list(csv.reader(io.StringIO(client.get("/insights/export/storedvalue.csv",
                                                  {"from": "2026-03-01", "to": "2026-03-31"})
                                       .content.decode("utf-8-sig"))))
    assert [row for row in rows if row[1] == "666.67"]


def test_the_package_renewal_rate_counts_members_whose_package_ran_out_and_who_bought_another(
        ipl_package, catalogue, front_desk, manager, staff_client, owner):  # noqa: F811
    """Members whose 3-session package ran out (last session used, or the rest expired) and
    whether they bought another within 60 days; the expected figures are worked out here from the
    scenario's own dates."""
    people = {name: member_register(name=f"续卡{name}", phone=f"1392222{n:04d}", actor=owner)
              for n, name in enumerate("ABCDEFG")}
    ipl = catalogue["ipl"]
    bought: dict[str, list] = {name: [] for name in people}  # (when, refunded)
    ended: dict[str, object] = {}

    def buy(name, day, hour=11, minute=0):
        at = at_local(day, hour, minute)
        result = sell(people[name], ipl_package, front_desk, at=at)
        bought[name].append([at, False])
        return result

    def use_all(name, days, last_hour=11, last_minute=0):
        for n, day in enumerate(days):
            last = n == len(days) - 1
            use(people[name], ipl_package, ipl, front_desk,
                at=at_local(day, last_hour if last else 11, last_minute if last else 0))
        ended[name] = at_local(days[-1], last_hour, last_minute)

    # A: runs out on 20 March, buys again on 15 April (26 days): renewed.
    buy("A", date(2025, 3, 2))
    use_all("A", [date(2025, 3, 5), date(2025, 3, 10), date(2025, 3, 20)])
    buy("A", date(2025, 4, 15))
    # B: runs out at 23:30 local on 31 March (still March), buys again 66 days later: not renewed.
    buy("B", date(2025, 3, 1))
    use_all("B", [date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 31)], last_hour=23, last_minute=30)
    buy("B", date(2025, 6, 5))
    # C: bought in March 2024 (valid 12 months), one session used, the other two expire in March
    # 2025; buys again on 20 March: renewed.
    buy("C", date(2024, 3, 5))
    use(people["C"], ipl_package, ipl, front_desk, at=at_local(date(2024, 3, 6), 11))
    assert lots_expire(now=at_local(date(2025, 3, 15), 3)) >= 1
    ended["C"] = at_local(date(2025, 3, 15), 3)
    buy("C", date(2025, 3, 20))
    # D: still has sessions: not counted.
    buy("D", date(2025, 3, 3))
    use(people["D"], ipl_package, ipl, front_desk, at=at_local(date(2025, 3, 4), 11))
    # E: ran out on 28 February at 23:30 (February's), bought again on 5 March.
    buy("E", date(2025, 2, 1))
    use_all("E", [date(2025, 2, 2), date(2025, 2, 3), date(2025, 2, 28)], last_hour=23, last_minute=30)
    buy("E", date(2025, 3, 5))
    # F: the last session at 00:10 local on 1 April: April's, not March's.
    buy("F", date(2025, 3, 2))
    use_all("F", [date(2025, 3, 6), date(2025, 3, 7), date(2025, 4, 1)], last_hour=0, last_minute=10)
    # G: ran out on 12 March, bought another on 14 March but that sale was refunded: not renewed.
    buy("G", date(2025, 3, 1))
    use_all("G", [date(2025, 3, 2), date(2025, 3, 3), date(2025, 3, 12)])
    sale = buy("G", date(2025, 3, 14))
    line = sale.lines[0]
    visit_refund(visit=sale.visit, lines=[(line.pk, 1)], reason="不要了", actor=manager,
                 at=at_local(date(2025, 3, 15), 10))
    bought["G"][-1][1] = True

    def expected(first: date, last: date) -> tuple[int, int]:
        lo, hi = at_local(first, 0), at_local(last + timedelta(days=1), 0)
        out = [name for name, at in ended.items() if lo <= at < hi]
        renewed = [name for name in out
                   if any(when > bought[name][0][0] and when <= ended[name] + timedelta(days=60) and not refunded
                          for when, refunded in bought[name][1:])]
        return len(out), len(renewed)

    client = staff_client(manager)
    for first, last in ((date(2025, 3, 1), date(2025, 3, 31)), (date(2025, 2, 1), date(2025, 2, 28)),
                        (date(2025, 4, 1), date(2025, 4, 30)), (date(2025, 2, 1), date(2025, 4, 30))):
        data = client.get("/api/v1/kpis/stored-value/",
                          {"from": first.isoformat(), "to": last.isoformat()}).json()["packages"]["renewal"]
        n, r = expected(first, last)
        assert (data["ended"], data["renewed"], data["days"]) == (n, r, 60), (first, last)
        assert data["rate"] == (round(r / n, 6) if n else None)
    march = client.get("/api/v1/kpis/stored-value/", {"from": "2025-03-01", "to": "2025-03-31"}).json()
    # A, B, C and G ran out in March; A and C renewed.
    assert (march["packages"]["renewal"]["ended"], march["packages"]["renewal"]["renewed"]) == (4, 2)
    assert march["packages"]["renewal"]["rate"] == 0.5
    # A refund of unused sessions is not running out: D buys again, uses one and has the rest refunded.
    now = timezone.now()
    sell(people["D"], ipl_package, front_desk, at=now - timedelta(days=2))
    use(people["D"], ipl_package, ipl, front_desk, at=now - timedelta(days=1))
    latest = PackagePurchase.objects.filter(member=people["D"]).latest("purchased_at")
    package_refund(purchase=latest, actor=manager, reason="搬家")
    latest.lot.refresh_from_db()
    assert latest.lot.remaining == 0
    today = local_date(now)
    this_month = client.get("/api/v1/kpis/stored-value/", {"from": today.replace(day=1).isoformat(),
                                                            "to": today.isoformat()}).json()
    assert this_month["packages"]["renewal"] == {"ended": 0, "renewed": 0, "rate": None, "days": 60}
    page = client.get("/insights/", {"from": "2025-03-01", "to": "2025-03-31"}).content.decode()
    assert 'id="kpi-pk_renewal_rate"' in page and "50.0%" in page
