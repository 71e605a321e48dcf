from collections.abc import Callable
from decimal import Decimal

import pytest

from members.models import Member
from members.services import member_register
from points.coupons import coupon_template_create
from points.models import CouponTemplate, LoyaltySettings
from points.rules import loyalty_settings
from visits.models import CatalogueItem, Category
from visits.services import catalogue_item_create, category_create


@pytest.fixture
def make_member(db) -> Callable[..., Member]:
    phones = iter(range(13800000001, 13800099999))

    def make(name: str = "张小美") -> Member:
        return member_register(name=name, phone=str(next(phones)), actor=None)

    return make


@pytest.fixture
def member(make_member) -> Member:
    return make_member()


@pytest.fixture
def rules(db) -> LoyaltySettings:
    return loyalty_settings()


@pytest.fixture
def skincare(db) -> Category:
    return category_create(name="护肤品", code="skincare")


@pytest.fixture
def laser(db) -> Category:
    return category_create(name="激光", code="laser")


@pytest.fixture
def serum(skincare) -> CatalogueItem:
    return catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="精华液", sku="SERUM",
                                 category=skincare, price=Decimal("380.00"))


@pytest.fixture
def facial(laser) -> CatalogueItem:
    return catalogue_item_create(kind=CatalogueItem.Kind.TREATMENT, name="光子嫩肤", sku="IPL",
                                 category=laser, price=Decimal("1200.00"), duration_minutes=60)


@pytest.fixture
def make_template(db) -> Callable[..., CouponTemplate]:
    def make(**fields) -> CouponTemplate:
        defaults = {"name": "满500减50", "kind": CouponTemplate.Kind.FIXED, "amount": Decimal("50.00"),
                    "valid_days": 30}
        return coupon_template_create(**{**defaults, **fields})

    return make
