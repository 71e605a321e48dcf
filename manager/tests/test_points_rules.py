"""Earning rules, category multipliers, expiry policy, the approval threshold and points as cash,
changed by a manager on the points-rules page."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from manager.forms import EARNING_FIELDS
from points.models import CategoryMultiplier, LoyaltySettings
from points.rules import category_multipliers, loyalty_settings_update

from .conftest import field_error


def rules_values(**changes) -> dict:
    rules = LoyaltySettings.objects.get(pk=1)
    values = {name: getattr(rules, name) for name in EARNING_FIELDS}
    values = {name: "" if value is None else value for name, value in values.items()}
    return {**values, **changes}


def rules_now() -> dict:
    rules = LoyaltySettings.objects.get(pk=1)
    return {name: getattr(rules, name) for name in EARNING_FIELDS}


def test_the_page_shows_every_rule_and_a_multiplier_per_category(manager_client, laser, skincare):
    loyalty_settings_update(category_multipliers={laser.pk: Decimal("2.00")})

    content = manager_client.get("/manage/points/").content.decode()

    for name in EARNING_FIELDS:
        assert f'name="{name}"' in content
    assert f'name="category_{laser.pk}"' in content and 'value="2.00"' in content
    assert f'name="category_{skincare.pk}"' in content


def test_a_manager_changes_the_earning_rules_and_multipliers(manager_client, laser, skincare):
    data = rules_values(points_per_currency_unit="2.5", rounding="nearest", signup_bonus="200",
                        first_visit_bonus="300", birthday_month_multiplier="2", referral_bonus_referrer="500",
                        referral_bonus_referee="250", max_points_per_visit="10000", pending_days="7",
                        **{f"category_{laser.pk}": "1.5", f"category_{skincare.pk}": ""})

    response = manager_client.post("/manage/points/", data)

    assert response.status_code == 302
    rules = LoyaltySettings.objects.get(pk=1)
    assert (rules.points_per_currency_unit, rules.rounding, rules.signup_bonus, rules.first_visit_bonus,
            rules.birthday_month_multiplier, rules.referral_bonus_referrer, rules.referral_bonus_referee,
            rules.max_points_per_visit, rules.pending_days) == (
        Decimal("2.5"), "nearest", 200, 300, Decimal(2), 500, 250, 10000, 7)
    assert category_multipliers() == {laser.pk: Decimal("1.50")}


def test_an_empty_cap_means_no_cap_and_an_emptied_multiplier_is_removed(manager_client, laser):
    loyalty_settings_update(max_points_per_visit=500, category_multipliers={laser.pk: Decimal(3)})

    response = manager_client.post("/manage/points/", rules_values(max_points_per_visit="",
                                                                   **{f"category_{laser.pk}": ""}))

    assert response.status_code == 302
    assert LoyaltySettings.objects.get(pk=1).max_points_per_visit is None
    assert not CategoryMultiplier.objects.exists()


@pytest.mark.parametrize(("policy", "months", "carry"), [("never", 24, 1), ("rolling", 6, 1),
                                                         ("year_end", 24, 0)])
def test_a_manager_sets_the_expiry_policy_and_warning(manager_client, policy, months, carry):
    response = manager_client.post("/manage/points/", rules_values(
        expiry_policy=policy, expiry_months=months, year_end_carry_years=carry, expiry_warning_days="14"))

    assert response.status_code == 302
    rules = LoyaltySettings.objects.get(pk=1)
    assert (rules.expiry_policy, rules.expiry_months, rules.year_end_carry_years, rules.expiry_warning_days) == (
        policy, months, carry, 14)


def test_a_manager_sets_the_adjustment_approval_threshold_and_points_as_cash(manager_client):
    response = manager_client.post("/manage/points/", rules_values(
        adjustment_approval_threshold="300", points_per_cash_unit="50", max_points_share_percent="30"))

    assert response.status_code == 302
    rules = LoyaltySettings.objects.get(pk=1)
    assert (rules.adjustment_approval_threshold, rules.points_per_cash_unit, rules.max_points_share_percent) == (
        300, 50, 30)


@pytest.mark.parametrize(("changes", "field"), [
    ({"birthday_month_multiplier": "0.5"}, "birthday_month_multiplier"),
    ({"points_per_currency_unit": "-1"}, "points_per_currency_unit"),
    ({"points_per_currency_unit": "lots"}, "points_per_currency_unit"),
    ({"rounding": "sideways"}, "rounding"),
    ({"expiry_policy": "rolling", "expiry_months": "0"}, "expiry_months"),
    ({"expiry_policy": "someday"}, "expiry_policy"),
    ({"max_points_share_percent": "120"}, "max_points_share_percent"),
    ({"points_per_cash_unit": "0"}, "points_per_cash_unit"),
    ({"adjustment_approval_threshold": "-5"}, "adjustment_approval_threshold"),
    ({"signup_bonus": ""}, "signup_bonus"),
])
def test_a_bad_rule_is_shown_next_to_its_field_and_nothing_changes(manager_client, laser, changes, field):
    before = rules_now()

    response = manager_client.post("/manage/points/", rules_values(
        **{"signup_bonus": "77", f"category_{laser.pk}": "2", **changes}))

    assert response.status_code == 400
    assert field_error(response, field)
    assert rules_now() == before
    assert category_multipliers() == {}


def test_a_negative_category_multiplier_is_shown_next_to_the_category(manager_client, laser):
    response = manager_client.post("/manage/points/", rules_values(**{f"category_{laser.pk}": "-1"}))

    assert response.status_code == 400
    assert field_error(response, f"category_{laser.pk}")
    assert category_multipliers() == {}


def test_the_rules_service_refuses_a_practitioner(practitioner):
    with pytest.raises(PermissionDenied):
        loyalty_settings_update(actor=practitioner, signup_bonus=99999)

    assert LoyaltySettings.objects.get(pk=1).signup_bonus != 99999
