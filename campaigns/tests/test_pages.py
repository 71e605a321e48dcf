"""The manager's campaign pages: list, editor from a template, preview and launch, cancel, the
stored results with the chart's data, and the calendar with its holidays."""

import json
import re
from datetime import date, timedelta

from django.utils import timezone

from campaigns.models import Campaign, CampaignEvent
from campaigns.results import campaign_results_compute
from campaigns.running import campaigns_run_due
from campaigns.tests.helpers import at_local, launch_at, make_campaign, run_at


def token(html: str) -> str:
    return re.search(r'name="form_token" value="([0-9a-f]{32})"', html).group(1)


def test_create_from_a_template_preview_launch_and_cancel(staff_client, owner, make_member):
    for n in range(4):
        make_member(f"会员{n}")
    client = staff_client(owner)
    assert client.get("/campaigns/").status_code == 200
    form = client.get("/campaigns/new/?template=member_day")
    assert (form.status_code == 200 and "会员日" in form.content.decode()) or "Member day" in form.content.decode()
    today = timezone.localdate()
    data = {"form_token": token(form.content.decode()), "name": "会员日", "schedule": "monthly",
            "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=90)).isoformat(),
            "send_time": "10:00", "day": "8", "validity_days": "1", "bonus_points": "5", "holdout_percent": "25",
            "max_grants_per_member": "12", "sms_body": "{name}：今天是会员日"}
    saved = client.post("/campaigns/new/", data)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    campaign = Campaign.objects.exclude(schedule="birthday").get()
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="preview-targeted">4<' in page and 'id="preview-held-out">1<' in page

    launched = client.post(f"/campaigns/{campaign.pk}/launch/", {"form_token": token(page)})
    assert launched.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    client.post(f"/campaigns/{campaign.pk}/cancel/", {"form_token": token(page), "reason": "改期"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED
    assert CampaignEvent.objects.get(campaign=campaign, kind="cancelled").detail["reason"] == "改期"


def test_bad_input_on_the_form_is_shown_and_saves_nothing(staff_client, owner):
    client = staff_client(owner)
    form = client.get("/campaigns/new/").content.decode()
    refused = client.post("/campaigns/new/", {"form_token": token(form), "name": "坏", "schedule": "monthly",
                                              "starts_on": "2026-06-01", "ends_on": "2026-12-31", "day": "8",
                                              "validity_days": "40", "send_time": "10:00", "bonus_points": "0",
                                              "holdout_percent": "10", "max_grants_per_member": "1",
                                              "sms_body": "{nope}"})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert 'id="id_validity_days-error"' in page or 'id="id_sms_body-error"' in page
    assert not Campaign.objects.exclude(schedule="birthday").exists()


def test_results_page_reads_the_stored_results(staff_client, owner, make_member):
    for n in range(4):
        make_member(f"会员{n}")
    day = date(2026, 6, 8)
    campaign = launch_at(make_campaign(owner, starts_on=day, holdout_percent=50, bonus_points=5), owner,
                         at_local(day, 8))
    run_at(at_local(day, 10))
    client = staff_client(owner)
    assert 'id="campaign-chart"' not in client.get(f"/campaigns/{campaign.pk}/").content.decode()
    campaign_results_compute(campaign=campaign, now=at_local(day + timedelta(days=60)))
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    chart = json.loads(re.search(r'id="campaign-chart-data" type="application/json">(.*?)</script>', page,
                                 re.S).group(1))
    assert chart["revenue_per_member"] == ["0.00", "0.00"]
    assert 'id="result-incremental">¥0.00' in page


def test_calendar_marks_lunar_holidays(staff_client, owner):
    page = staff_client(owner).get("/campaigns/calendar/?year=2027").content.decode()
    assert "Spring Festival 春节" in page or "春节" in page
    assert "campaign-templates" in page
    assert campaigns_run_due() == {"campaigns": 0, "occurrences": 0, "granted": 0}


def test_front_desk_cannot_open_the_campaign_pages(staff_client, front_desk):
    assert staff_client(front_desk).get("/campaigns/").status_code == 403


def test_the_birthday_template_starts_a_birthday_campaign_and_the_offer_page_links_to_it(staff_client, owner):
    client = staff_client(owner)
    calendar = client.get("/campaigns/calendar/").content.decode()
    form = client.get("/campaigns/new/?template=birthday").content.decode()
    offer_page = client.get("/manage/birthday-offer/").content.decode()

    assert "/campaigns/new/?template=birthday" in calendar
    assert re.search(r'<option value="birthday" selected>', form)
    assert re.search(r'name="tier_gift"[^>]*checked', form)
    installed = Campaign.objects.get(schedule="birthday")
    assert f'id="birthday-campaign" href="/campaigns/{installed.pk}/"' in offer_page
    detail = client.get(f"/campaigns/{installed.pk}/")
    assert detail.status_code == 200 and installed.name in detail.content.decode()
