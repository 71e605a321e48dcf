from decimal import Decimal

import pytest

from messaging.tests.conftest import make_member  # noqa: F401
from points.models import LoyaltySettings
from tiers.models import Tier
from visits.services import catalogue_item_create, category_create


@pytest.fixture
def cream(db):
    skincare = category_create(name="护肤品", code="skincare")
    return catalogue_item_create(kind="product", name="修护面霜", sku="CR-1", category=skincare,
                                 price=Decimal("500.00"))


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
