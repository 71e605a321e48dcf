"""Panels 12 and 13: the campaigns' measured results and the treatment packages, read from the
campaigns' and packages' own figures, checked against the campaign's stored figures and against
the package's price and sessions worked out here."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from campaigns.models import CampaignAudience
from campaigns.results import campaign_results_compute
from campaigns.tests.helpers import at_local, launch_at, make_campaign, run_at
from checkout.services import LineInput, PaymentInput, checkout_complete
from members.services import member_register
from packages.tests.conftest import catalogue, ipl_package, member, rules  # noqa: F401 - fixtures
from packages.tests.test_sell_use import sell, use
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
