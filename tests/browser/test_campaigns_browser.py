"""A manager builds a campaign for a segment in Chromium, sees the launch preview, launches it,
and, once the offers were given and the results job has run, sees the results with their chart;
on a desktop and on a 390 px phone."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.roles import Role
from accounts.services import staff_create
from campaigns.models import Campaign
from campaigns.results import campaign_results_compute
from campaigns.running import campaigns_run_due
from conftest import TEST_PASSWORD
from members.models import ConsentRecord
from members.services import consent_record, member_register
from segments.services import segment_create

from .test_manager_settings_browser import log_in
from .test_portal_browser import in_thread

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def campaign_manager(browser_clinic, django_db_blocker):
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        for n in range(6):
            member = member_register(name=f"贵宾{n}", phone=f"1380000{n:04d}", actor=None, tags=["vip"])
            consent_record(member=member, purpose="marketing_sms", granted=True,
                           channel=ConsentRecord.Channel.FRONT_DESK, actor=None)
        member_register(name="普通会员", phone="13800009999", actor=None)
        segment_create(actor=None, name="VIP 贵宾", conditions={"all": [{"kind": "tag", "tags": ["vip"]}]})
        return staff_create(username="campaigner", email="campaigner@browserclinic.test", full_name="店长小周",
                            role=Role.MANAGER, password=TEST_PASSWORD)


@pytest.mark.parametrize("width", [1280, 390])
def test_a_manager_builds_launches_and_reads_the_results(browser_clinic, campaign_manager, live_site, artifacts_dir,
                                                         page: Page, width):
    clinic = browser_clinic.clinic
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_site, browser_clinic, campaign_manager.username)
    page.goto(live_site.url(browser_clinic.host, "/campaigns/"))
    page.click("#campaign-new")
    name = f"VIP 回馈 {width}"
    page.fill("#id_name", name)
    page.select_option("#id_segment", label="VIP 贵宾")
    page.fill("#id_send_time", "00:00")
    page.fill("#id_bonus_points", "88")
    page.fill("#id_holdout_percent", "50")
    page.fill("#id_sms_body", "{name}：{campaign}送您{points}积分")
    page.click("#campaign-save")

    expect(page.locator("#preview-targeted")).to_have_text("6")
    expect(page.locator("#preview-held-out")).to_have_text("3")
    page.screenshot(path=artifacts_dir / f"campaign-preview-{width}.png", full_page=True)
    page.click("#campaign-launch")
    expect(page.locator("#campaign-launch")).to_have_count(0)
    expect(page.locator("#campaign-status")).not_to_have_text("草稿" if clinic.language == "zh-hans" else "Draft")

    def give_and_measure() -> int:
        with tenant_context(clinic):
            campaign = Campaign.objects.get(name=name)
            campaigns_run_due(now=timezone.now())
            campaign_results_compute(campaign=campaign, now=timezone.now() + timedelta(days=60))
            return campaign.grants.count()

    assert in_thread(give_and_measure) == 3
    page.reload()
    expect(page.locator("#result-incremental")).to_contain_text("¥")
    expect(page.locator("#campaign-chart canvas")).to_be_visible()
    expect(page.locator("#campaign-given")).to_contain_text("3")
    page.screenshot(path=artifacts_dir / f"campaign-results-{width}.png", full_page=True)

    page.goto(live_site.url(browser_clinic.host, "/campaigns/calendar/"))
    expect(page.locator("#campaign-calendar")).to_contain_text(name)
