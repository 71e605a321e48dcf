from decimal import Decimal

import pytest

from frontdesk.tests.conftest import catalogue, member, rules  # noqa: F401  (the front desk's clinic)
from storedvalue.models import StoredValueSettings, TopUpPlan
from visits.models import CatalogueItem
from visits.services import catalogue_item_create


@pytest.fixture
def cream_333(catalogue) -> CatalogueItem:  # noqa: F811  (the fixture, by name)
    """A product at ¥333.33: a price whose card splits and refunds do not come out in round cents."""
    return catalogue_item_create(kind="product", name="修护精华", sku="SE-1", category=catalogue["cream"].category,
                                 price=Decimal("333.33"))


@pytest.fixture
def card_rules(db) -> StoredValueSettings:
    row, _created = StoredValueSettings.objects.get_or_create(pk=1)
    return row


@pytest.fixture
def plan_5000(db) -> TopUpPlan:
    return TopUpPlan.objects.create(name="充5000送500", pay_amount=Decimal("5000"), bonus_amount=Decimal("500"),
                                    bonus_valid_days=365)
