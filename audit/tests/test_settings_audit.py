"""The settings audit log: every settings service records one append-only change with the actor
and the values before and after; refused changes record nothing; the page, its filters, the
CSV export and the API."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction

from accounts.roles import Role
from accounts.services import staff_change_role, staff_deactivate
from appointments.schedule import appointment_policy_update
from audit.models import SettingsChange
from feedback.services import survey_settings_update
from insights.services import insights_settings_update
from messaging.models import MessageTemplate
from messaging.services import message_template_update, messaging_settings_update
from points.coupons import coupon_template_create, coupon_template_delete, coupon_template_update
from points.models import CouponTemplate, Reward
from points.rewards import reward_create, reward_update
from points.rules import loyalty_settings, loyalty_settings_update
from portal.services import portal_settings_update
from tiers.models import Tier
from tiers.services import programme_update, tier_create, tier_update
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create


def last() -> SettingsChange:
    return SettingsChange.objects.order_by("-id").first()


@pytest.fixture
def laser(db):
    return category_create(name="激光", code="laser")


def test_an_update_records_actor_object_and_only_the_changed_values(manager):
    loyalty_settings_update(actor=manager, signup_bonus=10)

    loyalty_settings_update(actor=manager, signup_bonus=25, pending_days=loyalty_settings().pending_days)

    change = last()
    assert change.actor == manager and change.actor_name == str(manager)
    assert (change.object_type, change.object_id, change.action) == ("points.loyaltysettings", "1", "updated")
    assert (change.before, change.after) == ({"signup_bonus": 10}, {"signup_bonus": 25})


def test_category_multipliers_are_recorded_with_the_earning_rules(manager, laser):
    loyalty_settings_update(actor=manager, category_multipliers={laser.pk: Decimal("2")})

    change = last()
    assert change.before == {"category_multipliers": {}}
    assert change.after == {"category_multipliers": {str(laser.pk): "2.00"}}


def test_nothing_changed_records_nothing(manager):
    loyalty_settings_update(actor=manager, signup_bonus=5)
    count = SettingsChange.objects.count()

    loyalty_settings_update(actor=manager, signup_bonus=5)

    assert SettingsChange.objects.count() == count


def test_a_refused_change_records_nothing_and_changes_nothing(manager, front_desk):
    count = SettingsChange.objects.count()
    with pytest.raises(ValidationError) as refused:
        loyalty_settings_update(actor=manager, expiry_policy="rolling", expiry_months=0)
    assert "expiry_months" in refused.value.message_dict
    with pytest.raises(PermissionDenied):
        insights_settings_update(actor=front_desk, active_days=10)
    with pytest.raises(ValidationError) as unknown:
        portal_settings_update(actor=manager, no_such_setting=True)
    assert "no_such_setting" in str(unknown.value)

    assert SettingsChange.objects.count() == count


def test_create_update_and_delete_of_a_coupon_template(manager, laser):
    template = coupon_template_create(actor=manager, name="满减", kind=CouponTemplate.Kind.FIXED,
                                      amount=Decimal("50.00"), valid_days=30, categories=[laser])
    created = last()
    assert created.action == "created" and created.before == {}
    assert created.after["name"] == "满减" and created.after["categories"] == [laser.pk]
    assert created.after["amount"] == "50.00"

    coupon_template_update(template=template, actor=manager, amount=Decimal("60.00"), categories=[])
    updated = last()
    assert updated.before == {"amount": "50.00", "categories": [laser.pk]}
    assert updated.after == {"amount": "60.00", "categories": []}

    pk = template.pk
    coupon_template_delete(template=template, actor=manager)
    deleted = last()
    assert (deleted.action, deleted.object_id, deleted.after) == ("deleted", str(pk), {})
    assert deleted.before["amount"] == "60.00"


def test_every_settings_service_writes_to_the_one_log(manager, owner, make_staff, laser):
    """Clinic settings, rules, multipliers, the tier programme and tiers, rewards, coupon
    templates, message templates, messaging, portal, KPI and survey settings, the booking
    policy, the catalogue, staff and roles: each adds a row of its own type."""
    treatment = catalogue_item_create(actor=manager, kind=CatalogueItem.Kind.TREATMENT, name="光子嫩肤",
                                      sku="IPL", category=laser, price=Decimal("800.00"), duration_minutes=60)
    template = coupon_template_create(actor=manager, name="礼券", kind=CouponTemplate.Kind.FIXED,
                                      amount=Decimal("20.00"), valid_days=10)
    reward = reward_create(actor=manager, name="礼券兑换", kind=Reward.Kind.COUPON, points_cost=100,
                           coupon_template=template)
    reward_update(reward=reward, actor=manager, points_cost=150)
    tier = tier_create(actor=manager, rank=9, name="Diamond", min_spend=Decimal("999999.00"), min_visits=999)
    tier_update(tier=tier, actor=manager, min_spend=Decimal("1000000.00"))
    programme_update(actor=manager, grace_days=45)
    messaging_settings_update(actor=manager, marketing_weekly_cap=3)
    message_template_update(template=MessageTemplate.objects.first(), actor=manager, body="{name} hi")
    portal_settings_update(actor=manager, join_enabled=True)
    insights_settings_update(actor=manager, active_days=100, lapsed_days=400)
    survey_settings_update(actor=manager, delay_hours=5, all_treatments=True)
    appointment_policy_update(actor=manager, cancel_window_hours=12)
    desk = make_staff(Role.FRONT_DESK)
    staff_change_role(user=desk, role=Role.PRACTITIONER, actor=owner)
    staff_deactivate(user=desk, actor=owner)

    types = set(SettingsChange.objects.filter(actor__in=[manager, owner]).values_list("object_type", flat=True))
    assert types >= {"visits.catalogueitem", "points.coupontemplate", "points.reward", "tiers.tier",
                     "tiers.tierprogramme", "messaging.messagingsettings", "messaging.messagetemplate",
                     "portal.portalsettings", "insights.insightssettings", "feedback.surveysettings",
                     "appointments.appointmentpolicy", "accounts.user"}
    assert SettingsChange.objects.get(object_type="tiers.tier", action="updated", object_id=str(tier.pk)).after == {
        "min_spend": "1000000.00"}
    assert treatment.pk
    staff = list(SettingsChange.objects.filter(object_type="accounts.user", object_id=str(desk.pk)).order_by("id"))
    assert [change.action for change in staff] == ["created", "updated", "updated"]
    assert staff[1].before == {"role": "front_desk"} and staff[1].after == {"role": "practitioner"}
    assert staff[2].before == {"is_active": True} and staff[2].after == {"is_active": False}


def test_the_log_is_append_only_in_the_database(manager):
    insights_settings_update(actor=manager, rfm_months=6)
    change = last()
    with pytest.raises(DatabaseError), transaction.atomic():
        SettingsChange.objects.filter(pk=change.pk).update(after={})
    with pytest.raises(DatabaseError), transaction.atomic():
        SettingsChange.objects.filter(pk=change.pk).delete()


# The page and the API


@pytest.fixture
def english(staff_client):
    def make(user):
        client = staff_client(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client
    return make


def _history(manager, owner):
    with time_machine.travel(datetime(2026, 3, 1, 2, 0, tzinfo=UTC), tick=False):
        insights_settings_update(actor=manager, rfm_months=7)
    with time_machine.travel(datetime(2026, 3, 5, 2, 0, tzinfo=UTC), tick=False):
        portal_settings_update(actor=owner, join_enabled=True)


def test_the_page_filters_by_who_what_and_days(manager, owner, english):
    _history(manager, owner)
    client = english(manager)

    everything = client.get("/manage/audit-log/")
    assert everything.status_code == 200
    body = everything.content.decode()
    assert 'data-type="insights.insightssettings"' in body and 'data-type="portal.portalsettings"' in body
    assert "KPI settings" in body

    by_owner = client.get("/manage/audit-log/", {"actor": owner.pk}).content.decode()
    assert 'data-type="portal.portalsettings"' in by_owner and 'data-type="insights.insightssettings"' not in by_owner

    kind = client.get("/manage/audit-log/", {"object_type": "insights.insightssettings"}).content.decode()
    assert 'data-field="rfm_months"' in kind and 'data-type="portal.portalsettings"' not in kind

    days = client.get("/manage/audit-log/", {"since": "2026-03-02", "until": "2026-03-05"}).content.decode()
    assert 'data-type="portal.portalsettings"' in days and 'data-type="insights.insightssettings"' not in days

    backwards = client.get("/manage/audit-log/", {"since": "2026-03-05", "until": "2026-03-01"})
    assert backwards.status_code == 400
    assert "The last day cannot be before the first." in backwards.content.decode()


def test_only_owners_and_managers_see_the_page(front_desk, english):
    assert english(front_desk).get("/manage/audit-log/").status_code == 403


def test_the_csv_export_has_a_row_per_changed_field(manager, owner, english):
    _history(manager, owner)

    response = english(manager).get("/manage/audit-log/", {"actor": manager.pk, "format": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Time", "By", "Action", "Setting", "Id", "Object", "Field", "Before", "After"]
    assert len(rows) == 2
    time, by, action, _setting, object_id, _object, field, before, after = rows[1]
    assert time == "2026-03-01 10:00:00"  # Shanghai
    assert (by, action, object_id, before, after) == (str(manager), "Changed", "1", "12", "7")
    assert field.lower().startswith("rfm")


def test_the_api_lists_and_filters(manager, owner, staff_client, front_desk):
    _history(manager, owner)
    api = staff_client(manager)

    page = api.get("/api/v1/audit/settings-changes/", {"object_type": "portal.portalsettings"}).json()
    assert page["count"] == 1
    result = page["results"][0]
    assert (result["actor"], result["action"], result["before"], result["after"]) == (
        owner.pk, "updated", {"join_enabled": False}, {"join_enabled": True})

    march = {"since": "2026-03-02", "until": "2026-03-31"}
    assert api.get("/api/v1/audit/settings-changes/", march).json()["count"] == 1
    bad = api.get("/api/v1/audit/settings-changes/", {"since": "2026-03-05", "until": "2026-03-01"})
    assert bad.status_code == 400 and "until" in bad.json()["error"]["fields"]
    assert staff_client(front_desk).get("/api/v1/audit/settings-changes/").status_code == 403


def test_tiers_unchanged_tier_is_not_recorded(manager):
    tier = Tier.objects.get(rank=0)
    count = SettingsChange.objects.count()
    tier_update(tier=tier, actor=manager, name=tier.name)
    assert SettingsChange.objects.count() == count
