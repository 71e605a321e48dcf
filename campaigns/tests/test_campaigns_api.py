"""The campaigns API: create (bad input refused with the shared error shape), preview, launch with
an Idempotency-Key (a retry launches nothing twice), cancel, results, and the offers a member
holds for the front desk."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, CampaignAudience, CampaignEvent
from campaigns.running import campaigns_run_due


@pytest.fixture
def api(staff_client, owner):
    return staff_client(owner)


def body(**fields) -> dict:
    return {"name": "会员日", "starts_on": (timezone.localdate() + timedelta(days=1)).isoformat(),
            "bonus_points": 20, "holdout_percent": 0,
            "messages": {"sms": {"body": "{name}：{campaign}送您{points}积分"}}, **fields}


def test_create_preview_launch_once_cancel_and_results(api, make_member, front_desk, staff_client):
    members = [make_member(f"会员{n}") for n in range(5)]
    created = api.post("/api/v1/campaigns/", body(), content_type="application/json")
    assert created.status_code == 201, created.content
    campaign_id = created.json()["id"]
    assert created.json()["messages"]["sms"]["body"].startswith("{name}")

    preview = api.get(f"/api/v1/campaigns/{campaign_id}/preview/").json()
    assert (preview["targeted"], preview["treated"], preview["points"]) == (5, 5, 100)
    assert preview["reachable"] == {"sms": 5}

    first = api.post(f"/api/v1/campaigns/{campaign_id}/launch/", {}, content_type="application/json",
                     HTTP_IDEMPOTENCY_KEY="launch-1")
    second = api.post(f"/api/v1/campaigns/{campaign_id}/launch/", {}, content_type="application/json",
                     HTTP_IDEMPOTENCY_KEY="launch-1")
    assert first.status_code == second.status_code == 200
    assert second["Idempotent-Replay"] == "true"
    assert first.json()["status"] == "scheduled"
    assert CampaignEvent.objects.filter(campaign_id=campaign_id, kind="launched").count() == 1
    assert CampaignAudience.objects.filter(campaign_id=campaign_id).count() == 5
    again = api.post(f"/api/v1/campaigns/{campaign_id}/launch/", {}, content_type="application/json",
                     HTTP_IDEMPOTENCY_KEY="launch-2")
    assert again.status_code == 400 and again.json()["error"]["code"] == "validation_error"

    campaign = Campaign.objects.get(pk=campaign_id)
    campaigns_run_due(now=timezone.now() + timedelta(days=1, hours=14 - timezone.localtime().hour))
    offers = staff_client(front_desk).get(f"/api/v1/campaigns/members/{members[0].pk}/offers/")
    assert offers.status_code == 200

    cancelled = api.post(f"/api/v1/campaigns/{campaign_id}/cancel/", {"reason": "测试"},
                         content_type="application/json", HTTP_IDEMPOTENCY_KEY="cancel-1")
    campaign.refresh_from_db()
    if campaign.status == Campaign.Status.FINISHED:
        assert cancelled.status_code == 400
    else:
        assert cancelled.status_code == 200 and cancelled.json()["campaign"]["status"] == "cancelled"
    results = api.get(f"/api/v1/campaigns/{campaign_id}/results/").json()
    assert results["figures"] is None  # computed by the nightly job, never on request
    assert results["given"]["members"] in (0, 5)


def test_bad_input_is_refused_and_changes_nothing(api, make_member, front_desk, staff_client):
    make_member()
    unknown_coupon = api.post("/api/v1/campaigns/", body(coupon_template=999999), content_type="application/json")
    assert unknown_coupon.status_code == 400
    assert "coupon_template" in unknown_coupon.json()["error"]["fields"]
    bad_schedule = api.post("/api/v1/campaigns/", body(schedule="monthly", day=8, validity_days=40,
                                                       ends_on="2099-01-01"), content_type="application/json")
    assert bad_schedule.status_code == 400 and "validity_days" in bad_schedule.json()["error"]["fields"]
    bad_text = api.post("/api/v1/campaigns/", body(messages={"sms": {"body": "{nope}"}}),
                        content_type="application/json")
    assert bad_text.status_code == 400 and "messages.sms.body" in bad_text.json()["error"]["fields"]
    over_half = api.post("/api/v1/campaigns/", body(holdout_percent=60), content_type="application/json")
    assert over_half.status_code == 400
    assert not Campaign.objects.exclude(schedule="birthday").exists()
    budget = api.post("/api/v1/campaigns/", body(budget_points=1), content_type="application/json").json()
    refused = api.post(f"/api/v1/campaigns/{budget['id']}/launch/", {}, content_type="application/json")
    assert refused.status_code == 400 and "budget_points" in refused.json()["error"]["fields"]
    assert Campaign.objects.exclude(schedule="birthday").get().status == "draft"
    assert staff_client(front_desk).get("/api/v1/campaigns/").status_code == 403


def test_campaign_settings_are_read_and_changed_by_managers_only(api, front_desk, staff_client):
    assert api.get("/api/v1/campaigns/settings/").json()["gross_margin_rate"] == "0.600"
    changed = api.patch("/api/v1/campaigns/settings/", {"gross_margin_rate": "0.450", "sms_cost": "0.040"},
                        content_type="application/json")
    assert changed.status_code == 200 and changed.json()["sms_cost"] == "0.040"
    refused = api.patch("/api/v1/campaigns/settings/", {"gross_margin_rate": "1.5"}, content_type="application/json")
    assert refused.status_code == 400
    assert api.get("/api/v1/campaigns/settings/").json()["gross_margin_rate"] == "0.450"
    assert staff_client(front_desk).patch("/api/v1/campaigns/settings/", {"sms_cost": "1"},
                                          content_type="application/json").status_code == 403
