from decimal import Decimal

import pytest

from frontdesk.tests.conftest import member, rules  # noqa: F401  (the front desk's clinic)
from packages.models import PackageProduct
from packages.services import package_product_create
from visits.services import catalogue_item_create, category_create


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
