"""API conventions: write endpoints refuse fields they do not know (400 on the field, nothing
changed), the schema says so, and the category multipliers can be addressed by the category's
stable code."""

from decimal import Decimal

import pytest
import yaml

from clinic_loyalty import api_input
from points.models import CategoryMultiplier
from points.rules import loyalty_settings
from visits.services import category_create


@pytest.fixture
def api(staff_client, manager):
    return staff_client(manager)


def _refused(response, *names):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == set(names)


def test_unknown_fields_are_refused_on_settings_and_records(api):
    before = loyalty_settings().signup_bonus
    _refused(api.put("/api/v1/points/settings/", {"signup_bonus": 7, "signup_bonsu": 8},
                     content_type="application/json"), "signup_bonsu")
    assert loyalty_settings().signup_bonus == before

    _refused(api.patch("/api/v1/messaging/settings/", {"quiet_hour_start": "22:00"},
                       content_type="application/json"), "quiet_hour_start")
    _refused(api.post("/api/v1/tiers/", {"rank": 5, "name": "Gold+", "colour": "gold"},
                      content_type="application/json"), "colour")
    _refused(api.post("/api/v1/members/", {"name": "周美", "phone": "13812340000", "nickname": "x"},
                      content_type="application/json"), "nickname")
    _refused(api.post("/api/v1/staff/", {"username": "x", "email": "x@clinic.test", "full_name": "X", "rol": "owner"},
                      content_type="application/json"), "rol")


def test_known_read_only_fields_sent_back_are_accepted(api):
    response = api.patch("/api/v1/messaging/settings/", {"marketing_weekly_cap": 2},
                         content_type="application/json")
    assert response.status_code == 200
    again = api.patch("/api/v1/messaging/settings/", response.json(), content_type="application/json")
    assert again.status_code == 200, again.json()


def test_the_schema_says_unknown_fields_are_refused(anon_client):
    components = yaml.safe_load(anon_client.get("/api/schema/").content)["components"]["schemas"]
    strict = [name for name, schema in components.items() if schema.get("additionalProperties") is False]
    assert strict, "no request body is marked as refusing unknown fields"
    assert any("LoyaltySettings" in name for name in strict)
    assert api_input.IGNORED == {"csrfmiddlewaretoken"}


def test_category_multipliers_by_stable_code(api):
    laser = category_create(name="激光", code="laser")
    skin = category_create(name="护肤", code="skin")

    response = api.put("/api/v1/points/settings/", {"category_multipliers": {"laser": "2.00", str(skin.pk): "1.50"}},
                       content_type="application/json")

    assert response.status_code == 200, response.json()
    assert dict(CategoryMultiplier.objects.values_list("category_id", "multiplier")) == {
        laser.pk: Decimal("2.00"), skin.pk: Decimal("1.50")}
    assert response.json()["category_multipliers_by_code"] == {"laser": "2.00", "skin": "1.50"}
    _refused(api.put("/api/v1/points/settings/", {"category_multipliers": {"nails": "2.00"}},
                     content_type="application/json"), "category_multipliers")
    _refused(api.put("/api/v1/points/settings/", {"category_multipliers": {"laser": "2.00", str(laser.pk): "1.00"}},
                     content_type="application/json"), "category_multipliers")
