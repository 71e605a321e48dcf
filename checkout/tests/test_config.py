"""The checkout configuration kept per process: used while the clinic's stamp says it is current,
read again after any change to the settings, multipliers, programme or tiers, by any route."""

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
])
def test_a_change_behind_the_services_back_is_seen_too(db, statement):
    before = clinic_config()

    sql(statement)
    after = clinic_config()

    assert after is not before
    assert (after.rules.signup_bonus, after.programme.grace_days, after.ladder[1].name) != (
        before.rules.signup_bonus, before.programme.grace_days, before.ladder[1].name)


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
