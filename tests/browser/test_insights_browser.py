"""An owner opens Insights in Chromium, changes the period, sees the numbers and the charts
change (the campaigns and the packages panels too), and downloads tables as CSV."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.models import User
from campaigns.results import campaign_results_compute
from campaigns.tests.helpers import at_local, launch_at, make_campaign, run_at
from checkout.services import LineInput, PaymentInput, checkout_complete
from insights.tests.history import VisitRecord, _due, history_make
from members.models import Member
from packages.services import package_product_create
from tests.browser.test_manager_settings_browser import log_in
from visits.models import CatalogueItem

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def history(browser_clinic, django_db_blocker):
    """The generated history, a campaign whose measurement ends in February 2024 (launched on
    2 January, offers valid 7 days, then the days after the window), and a 3-session package sold
    in January 2024 with one session used in February; the two package visits join the history."""
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        owner = User.objects.get(username="owner")
        history = history_make(owner)
        campaign = make_campaign(owner, name="一月回访", starts_on=date(2024, 1, 2), holdout_percent=50,
                                 bonus_points=100, validity_days=7)
        launch_at(campaign, owner, at_local(date(2024, 1, 2), 8))
        run_at(at_local(date(2024, 1, 2), 10))
        result = campaign_results_compute(campaign=campaign, now=at_local(date(2024, 6, 1), 4))
        treatment = CatalogueItem.objects.get(sku="HYDRA")
        package = package_product_create(name="水光3次卡", sku="PKG-HYDRA3", category=treatment.category,
                                         price=Decimal("3000.00"), sessions=3, treatments=[treatment],
                                         validity_months=12)
        member = history.members[5]
        buyer = Member.objects.get(pk=member.id)
        for at, lines, paid in (
                (datetime(2024, 1, 10, 12, tzinfo=ZoneInfo("Asia/Shanghai")),
                 [LineInput(item_id=package.item_id)], [PaymentInput("cash", _due(Decimal("3000.00"), buyer))]),
                (datetime(2024, 2, 5, 12, tzinfo=ZoneInfo("Asia/Shanghai")),
                 [LineInput(item_id=treatment.pk, package_id=package.pk)], [])):
            visit = checkout_complete(member=buyer, actor=owner, at=at, lines=lines, payments=paid).visit
            history.visits.append(VisitRecord(buyer.pk, at, visit.total))
            if paid:
                history.package_paid = visit.total  # the price less the member's tier discount
        history.campaign_end = local_day(result.measured_until)
        return history


def local_day(at: datetime) -> date:
    return at.astimezone(ZoneInfo("Asia/Shanghai")).date()


def visits_between(history, start: date, end: date) -> int:
    return sum(1 for v in history.counted() if start <= v.day <= end)


def series_length(page: Page) -> int:
    return page.evaluate("echarts.getInstanceByDom(document.querySelector('[data-chart=series]'))"
                         ".getOption().xAxis[0].data.length")


def test_an_owner_changes_the_period_and_exports_a_table(browser_clinic, history, live_site, artifacts_dir,
                                                          page, tmp_path):
    log_in(page, live_site, browser_clinic, "owner")
    page.click("#nav-insights")
    expect(page.locator("#panel-sales")).to_be_visible()

    page.fill("input[name=from]", "2024-01-01")
    page.fill("input[name=to]", "2024-01-31")
    page.click("button[name=preset][value=custom]")
    expect(page.locator("#kpi-visits .kpi-value")).to_have_text(
        str(visits_between(history, date(2024, 1, 1), date(2024, 1, 31))))
    expect(page.locator("[data-chart=series][data-drawn='1'] canvas").first).to_be_visible()
    assert series_length(page) == 31
    expect(page.locator("#kpi-campaigns_measured .kpi-value")).to_have_text("0")
    expect(page.locator("#kpi-pk_sold .kpi-value")).to_have_text("1")
    expect(page.locator("#kpi-pk_used .kpi-value")).to_have_text("0")
    expect(page.locator("#kpi-pk_outstanding .kpi-value")).to_have_text("3")

    page.fill("input[name=from]", "2024-02-01")
    page.fill("input[name=to]", "2024-02-29")
    page.click("button[name=preset][value=custom]")
    february = visits_between(history, date(2024, 2, 1), date(2024, 2, 29))
    expect(page.locator("#kpi-visits .kpi-value")).to_have_text(str(february))
    expect(page.locator("#period-label")).to_contain_text("2024年2月1日 周四 – 2024年2月29日 周四")
    assert series_length(page) == 29
    expect(page.locator("[data-chart=cohorts][data-drawn='1'] canvas").first).to_be_visible()
    expect(page.locator("#panel-satisfaction [data-chart=satisfaction][data-drawn='1'] canvas").first).to_be_visible()
    expect(page.locator("#kpi-nps .kpi-value")).to_have_text("—")  # no survey answers in this history
    # Panel 12: the campaign's measurement ended in February; panel 13: February used a session.
    assert date(2024, 2, 1) <= history.campaign_end <= date(2024, 2, 29)
    expect(page.locator("#kpi-campaigns_measured .kpi-value")).to_have_text("1")
    expect(page.locator("#campaign-results a")).to_have_text("一月回访")
    expect(page.locator("#panel-campaigns [data-chart=campaigns][data-drawn='1'] canvas").first).to_be_visible()
    expect(page.locator("#kpi-pk_used .kpi-value")).to_have_text("1")
    expect(page.locator("#kpi-pk_sold .kpi-value")).to_have_text("0")
    expect(page.locator("#kpi-pk_outstanding .kpi-value")).to_have_text("2")
    # 2 of 3 sessions left: the price paid less floor(price × 1 / 3) cents.
    cents = int(history.package_paid * 100)
    expect(page.locator("#kpi-pk_outstanding_value .kpi-value")).to_have_text(
        f"¥{Decimal(cents - cents // 3) / 100:.2f}")
    page.screenshot(path=artifacts_dir / "insights-dashboard.png", full_page=True)

    with page.expect_download() as download_info:
        page.click("[data-export=series-csv]")
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = saved.read_text(encoding="utf-8-sig").strip().splitlines()
    assert download.suggested_filename == "series-2024-02-01-2024-02-29.csv"
    assert len(rows) == 1 + 29
    assert sum(int(row.split(",")[1]) for row in rows[1:]) == february

    with page.expect_download() as download_info:
        page.click("[data-export=campaigns-csv]")
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    campaign_rows = saved.read_text(encoding="utf-8-sig").strip().splitlines()
    assert campaign_rows[1].startswith("一月回访,") and len(campaign_rows) == 3


def test_the_dashboard_fits_a_phone(browser_clinic, history, live_site, artifacts_dir, page):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_site, browser_clinic, "owner")
    page.goto(live_site.url(browser_clinic.host, "/insights/?preset=custom&from=2023-10-01&to=2024-03-31"))

    expect(page.locator("[data-chart=rfm][data-drawn='1'] canvas").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts_dir / "insights-dashboard-phone.png", full_page=True)
