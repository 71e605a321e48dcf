"""The campaign settings page: owners and managers change what campaign results are measured
with; each change is in the audit log; bad input is refused on its field and changes nothing."""

from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import SettingsChange
from campaigns.models import CampaignSettings
from campaigns.selectors import campaign_settings
from manager.tests.conftest import field_error

URL = "/manage/campaign-settings/"
VALID = {"gross_margin_rate": "0.550", "sms_cost": "0.040", "email_cost": "0.010", "wechat_cost": "0.020",
         "point_cost": "0.0200", "after_window_days": "14", "default_holdout_percent": "20"}


def test_the_page_is_linked_from_settings_and_campaigns(manager_client):
    assert reverse("manager:campaign_settings") == URL
    assert URL in manager_client.get("/manage/").content.decode()
    assert URL in manager_client.get("/campaigns/").content.decode()
    page = manager_client.get(URL)
    assert page.status_code == 200
    assert 'name="gross_margin_rate" value="0.600"' in page.content.decode()


def test_a_manager_saves_the_settings_and_the_audit_log_shows_before_and_after(manager_client, manager):
    response = manager_client.post(URL, VALID)
    assert response.status_code == 302 and response["Location"] == URL
    saved = campaign_settings()
    assert (saved.gross_margin_rate, saved.sms_cost, saved.email_cost, saved.wechat_cost, saved.point_cost,
            saved.after_window_days, saved.default_holdout_percent) == (
        Decimal("0.550"), Decimal("0.040"), Decimal("0.010"), Decimal("0.020"), Decimal("0.0200"), 14, 20)
    change = SettingsChange.objects.get(object_type="campaigns.campaignsettings")
    assert change.actor == manager
    assert change.after["default_holdout_percent"] == 20 and change.after["after_window_days"] == 14
    assert change.before.get("default_holdout_percent") in (None, 10)
    log = manager_client.get(reverse("manager:audit_log")).content.decode()
    assert "campaign" in log.lower()


@pytest.mark.parametrize(("field", "value"), [("gross_margin_rate", "1.5"), ("default_holdout_percent", "60"),
                                              ("sms_cost", "-1"), ("after_window_days", "abc")])
def test_bad_input_is_refused_on_its_field_and_changes_nothing(manager_client, field, value):
    response = manager_client.post(URL, {**VALID, field: value})
    assert response.status_code == 400
    assert field_error(response, field)
    assert not CampaignSettings.objects.exists() or campaign_settings().default_holdout_percent == 10
    assert not SettingsChange.objects.filter(object_type="campaigns.campaignsettings").exists()


def test_the_english_page_shows_english_errors(manager_client):
    manager_client.cookies["django_language"] = "en"
    response = manager_client.post(URL, {**VALID, "default_holdout_percent": "60"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "less than or equal to 50" in field_error(response, "default_holdout_percent")


@pytest.mark.parametrize("role", ["front_desk", "practitioner"])
def test_other_roles_may_not_open_or_change_it(request, staff_client, role):
    client = staff_client(request.getfixturevalue(role))
    assert client.get(URL).status_code == 403
    assert client.post(URL, VALID).status_code == 403
    assert not CampaignSettings.objects.exists()
