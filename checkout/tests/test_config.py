"""The checkout configuration kept per process: used while the clinic's stamp says it is current,
read again after any change to the settings, multipliers, programme or tiers, by any route."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction

from checkout.config import clinic_config
from points.models import CategoryMultiplier, LoyaltySettings
from points.rules import loyalty_settings_update
from tiers.models import Tier
from visits.services import category_create


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_an_unchanged_configuration_is_read_once_then_kept(db, django_assert_num_queries):
    first = clinic_config()

    # only the stamp is read the second time
    with django_assert_num_queries(1):
        second = clinic_config()

    assert second is first


def test_a_settings_change_through_the_service_is_seen_at_once(owner):
    clinic_config()

    loyalty_settings_update(points_per_currency_unit=Decimal("2"), actor=owner)

    assert clinic_config().rules.points_per_currency_unit == Decimal("2")


@pytest.mark.parametrize("statement", [
    "UPDATE points_loyaltysettings SET signup_bonus = 77",
    "UPDATE tiers_tierprogramme SET grace_days = 77",
    "UPDATE tiers_tier SET name = 'renamed' WHERE rank = 1",
    "INSERT INTO storedvalue_storedvaluesettings (id, split_rule, top_up_earns_points, spend_earns_points, "
    "spend_counts_toward_tiers, cash_out_charge_back_percent, renewal_threshold, renewal_days) "
    "VALUES (1, 'bonus_first', false, false, true, 100, 500, 30) "
    "ON CONFLICT (id) DO UPDATE SET split_rule = 'bonus_first', spend_earns_points = false",
])
def test_a_change_behind_the_services_back_is_seen_too(db, statement):
    before = clinic_config()

    sql(statement)
    after = clinic_config()

    def seen(config):
        return (config.rules.signup_bonus, config.programme.grace_days, config.ladder[1].name,
                config.stored_value.split_rule, config.stored_value.spend_earns_points)

    assert after is not before
    assert seen(after) != seen(before)


def test_a_category_multiplier_change_renews_the_stamp(db):
    category = category_create(name="激光", code="laser")
    before = clinic_config()

    CategoryMultiplier.objects.create(category=category, multiplier=Decimal("3"))

    assert clinic_config() is not before


def test_a_rolled_back_change_is_not_served_afterwards(db):
    clinic_config()

    with pytest.raises(RuntimeError), transaction.atomic():
        Tier.objects.filter(rank=1).update(name="只在回滚前")
        assert clinic_config().ladder[1].name == "只在回滚前"
        raise RuntimeError

    assert clinic_config().ladder[1].name == Tier.objects.get(rank=1).name != "只在回滚前"


def test_each_clinic_keeps_its_own_configuration(other_clinic):
    LoyaltySettings.objects.filter(pk=1).update(signup_bonus=5)
    assert clinic_config().rules.signup_bonus == 5
    home = connection.tenant

    connection.set_tenant(other_clinic)
    try:
        assert clinic_config().rules.signup_bonus != 5
    finally:
        connection.set_tenant(home)

    assert clinic_config().rules.signup_bonus == 5


def test_the_stored_value_rules_come_with_the_configuration(owner, django_assert_num_queries):
    from storedvalue.services import stored_value_settings_update

    stored_value_settings_update(actor=owner, split_rule="principal_first", spend_earns_points=False)
    clinic_config()

    with django_assert_num_queries(1):
        config = clinic_config()

    assert (config.stored_value.split_rule, config.stored_value.spend_earns_points) == ("principal_first", False)


def test_whether_a_campaign_multiplies_points_follows_the_campaigns(owner):
    from campaigns.campaign_services import campaign_cancel, campaign_create
    from campaigns.models import Campaign

    assert clinic_config().campaign_multipliers is False  # the clinic's own birthday campaign gives no multiplier

    campaign = campaign_create(actor=owner, name="会员日双倍积分", starts_on=date(2026, 6, 8),
                               ends_on=date(2026, 12, 31), schedule=Campaign.Schedule.MONTHLY, day=8,
                               validity_days=1, points_multiplier=Decimal("2"))
    assert clinic_config().campaign_multipliers is True

    # a write behind the services' back renews the stamp too
    sql("UPDATE campaigns_campaign SET points_multiplier = NULL WHERE id = %s", [campaign.pk])
    assert clinic_config().campaign_multipliers is False
    sql("UPDATE campaigns_campaign SET points_multiplier = 2 WHERE id = %s", [campaign.pk])
    assert clinic_config().campaign_multipliers is True

    # a cancelled campaign's grants stop multiplying
    campaign_cancel(campaign=campaign, actor=owner)
    assert clinic_config().campaign_multipliers is False
