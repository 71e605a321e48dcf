"""An owner opens Insights in Chromium, changes the period, sees the numbers and the charts
change, and downloads a table as CSV."""

from datetime import date

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.models import User
from insights.tests.history import history_make
from tests.browser.test_manager_settings_browser import log_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def history(browser_clinic, django_db_blocker):
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        return history_make(User.objects.get(username="owner"))


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

    page.fill("input[name=from]", "2024-02-01")
    page.fill("input[name=to]", "2024-02-29")
    page.click("button[name=preset][value=custom]")
    february = visits_between(history, date(2024, 2, 1), date(2024, 2, 29))
    expect(page.locator("#kpi-visits .kpi-value")).to_have_text(str(february))
    expect(page.locator("#period-label")).to_contain_text("2024-02-01 – 2024-02-29")
    assert series_length(page) == 29
    expect(page.locator("[data-chart=cohorts][data-drawn='1'] canvas").first).to_be_visible()
    expect(page.locator("#panel-satisfaction [data-chart=satisfaction][data-drawn='1'] canvas").first).to_be_visible()
    expect(page.locator("#kpi-nps .kpi-value")).to_have_text("—")  # no survey answers in this history
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


def test_the_dashboard_fits_a_phone(browser_clinic, history, live_site, artifacts_dir, page):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_site, browser_clinic, "owner")
    page.goto(live_site.url(browser_clinic.host, "/insights/?preset=custom&from=2023-10-01&to=2024-03-31"))

    expect(page.locator("[data-chart=rfm][data-drawn='1'] canvas").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts_dir / "insights-dashboard-phone.png", full_page=True)
