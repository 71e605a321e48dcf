from decimal import Decimal

import pytest

from members.services import member_register
from points.models import LoyaltySettings
from storedvalue.models import StoredValueSettings, TopUpPlan
from tiers.models import Tier
from visits.services import catalogue_item_create, category_create


@pytest.fixture
def catalogue(db):
    injectables = category_create(name="注射类", code="injectables")
    skincare = category_create(name="护肤品", code="skincare")
    return {
        "filler": catalogue_item_create(kind="treatment", name="玻尿酸填充", sku="HA-1", category=injectables,
                                        price=Decimal("3000.00"), duration_minutes=60),
        "cream": catalogue_item_create(kind="product", name="修护面霜", sku="CR-1", category=skincare,
                                       price=Decimal("333.33")),
    }


@pytest.fixture
def rules(db) -> LoyaltySettings:
    rules, _created = LoyaltySettings.objects.get_or_create(pk=1)
    rules.points_per_currency_unit = Decimal("1")
    rules.signup_bonus = 0
    rules.first_visit_bonus = 0
    rules.pending_days = 0
    rules.save()
    Tier.objects.update(discount_percent=0, earn_multiplier=Decimal(1))
    return rules


@pytest.fixture
def card_rules(db) -> StoredValueSettings:
    row, _created = StoredValueSettings.objects.get_or_create(pk=1)
    return row


@pytest.fixture
def member(front_desk, rules, card_rules):
    return member_register(name="张小美", phone="13812345678", actor=front_desk)


@pytest.fixture
def plan_5000(db) -> TopUpPlan:
    return TopUpPlan.objects.create(name="充5000送500", pay_amount=Decimal("5000"), bonus_amount=Decimal("500"),
                                    bonus_valid_days=365)
