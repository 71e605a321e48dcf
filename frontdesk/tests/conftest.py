from decimal import Decimal

import pytest

from members.services import member_register
from points.models import LoyaltySettings
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
                                       price=Decimal("500.00")),
    }


@pytest.fixture
def rules(db) -> LoyaltySettings:
    """One point per yuan, no bonuses, no pending period, tiers without discounts."""
    rules, _created = LoyaltySettings.objects.get_or_create(pk=1)
    rules.points_per_currency_unit = Decimal("1")
    rules.signup_bonus = 0
    rules.first_visit_bonus = 0
    rules.pending_days = 0
    rules.adjustment_approval_threshold = 1000
    rules.save()
    Tier.objects.update(discount_percent=0, earn_multiplier=Decimal(1))
    return rules


@pytest.fixture
def member(front_desk, rules):
    return member_register(name="张小美", phone="13812345678", actor=front_desk)


from appointments.tests.conftest import World, monday, world  # noqa: E402, F401  (the appointments' clinic schedule)
from messaging.tests.conftest import make_member  # noqa: E402, F401  (members with their marketing consents)
