from decimal import Decimal

import pytest

from members.services import member_register
from packages.models import PackageProduct
from packages.services import package_product_create
from points.models import LoyaltySettings
from tiers.models import Tier
from visits.services import catalogue_item_create, category_create


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
def catalogue(db):
    laser = category_create(name="光电类", code="laser")
    return {
        "category": laser,
        "ipl": catalogue_item_create(kind="treatment", name="光子嫩肤", sku="IPL-1", category=laser,
                                     price=Decimal("800.00"), duration_minutes=45),
        "facial": catalogue_item_create(kind="treatment", name="水光护理", sku="HF-1", category=laser,
                                        price=Decimal("500.00"), duration_minutes=60),
        "cream": catalogue_item_create(kind="product", name="修护面霜", sku="CR-1", category=laser,
                                       price=Decimal("300.00")),
    }


@pytest.fixture
def ipl_package(catalogue) -> PackageProduct:
    """3 IPL sessions for ¥1,000.00: ¥333.33, ¥333.33, ¥333.34."""
    return package_product_create(name="光子嫩肤3次卡", sku="PKG-IPL3", category=catalogue["category"],
                                  price=Decimal("1000.00"), sessions=3, treatments=[catalogue["ipl"]],
                                  validity_months=12)


@pytest.fixture
def member(front_desk, rules):
    return member_register(name="张小美", phone="13812345678", actor=front_desk)
