from decimal import Decimal

import pytest

from checkout.tests.conftest import rules  # noqa: F401  (one point per yuan, no bonuses)
from messaging.tests.conftest import make_member  # noqa: F401
from visits.services import catalogue_item_create, category_create


@pytest.fixture
def cream(db):
    skincare = category_create(name="护肤品", code="skincare")
    return catalogue_item_create(kind="product", name="修护面霜", sku="CR-1", category=skincare,
                                 price=Decimal("500.00"))
