"""An owner opens Insights in Chromium and sees the predictive CLV of panel 5: the figure per
active member, its distribution drawn as a chart, the fit's date and parameters; then follows
the link to the members by predicted CLV."""

import re

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.models import User
from insights.models import CustomerValueFit, MemberValuePrediction
from insights.tasks import customer_value_fit_nightly
from insights.tests.clv_history import clv_history_make
from points.rules import local_date
from tests.browser.test_manager_settings_browser import log_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def fit(browser_clinic, django_db_blocker):
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        clv_history_make(User.objects.get(username="owner"), local_date(timezone.now()))
        customer_value_fit_nightly.apply()
        fit = CustomerValueFit.objects.get()
        top = MemberValuePrediction.objects.order_by("-clv", "member_id").select_related("member").first()
        return fit, top.member.name


def drawn_bars(page: Page) -> list:
    return page.evaluate("echarts.getInstanceByDom(document.querySelector('[data-chart=clv]'))"
                         ".getOption().series[0].data")


def test_an_owner_sees_the_predicted_clv_and_its_members(browser_clinic, fit, live_site, artifacts_dir, page):
    stored, top_name = fit
    log_in(page, live_site, browser_clinic, "owner")
    page.click("#nav-insights")

    panel = page.locator("#predictive-clv")
    expect(panel).to_have_attribute("data-status", "fitted")
    expect(page.locator("#kpi-clv_per_active_member .kpi-value")).to_have_text(f"¥{stored.clv_per_active_member}")
    expect(page.locator("[data-chart=clv][data-drawn='1'] canvas").first).to_be_visible()
    assert drawn_bars(page) == [bucket["members"] for bucket in stored.distribution]
    cutoff = stored.cutoff_on  # in the clinic's language, as every page names a day
    expect(page.locator("#clv-fit")).to_contain_text(
        f"{cutoff.year}年{cutoff.month}月{cutoff.day}日 周{'一二三四五六日'[cutoff.weekday()]}")
    expect(page.locator("#clv-fit")).to_contain_text(f"r = {stored.r:.4g}")
    page.locator("#panel-value").screenshot(path=artifacts_dir / "insights-predictive-clv.png")

    page.click("#kpi-clv_per_active_member a")
    expect(page.locator("#clv-members tbody tr").first).to_contain_text(top_name)

    page.go_back()
    busiest = max(range(len(stored.distribution)), key=lambda i: stored.distribution[i]["members"])
    page.evaluate("i => echarts.getInstanceByDom(document.querySelector('[data-chart=clv]'))"
                  ".trigger('click', {dataIndex: i})", busiest)
    bucket = stored.distribution[busiest]
    expect(page).to_have_url(re.compile(rf"/insights/clv/members/\?min={re.escape(bucket['from'])}&max="
                                        rf"{re.escape(bucket['to'])}$"))
    expect(page.locator("#clv-members tbody tr")).to_have_count(min(bucket["members"], 50))
