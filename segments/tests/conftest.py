import itertools
from datetime import datetime
from decimal import Decimal

import pytest

from checkout.services import LineInput, PaymentInput, checkout_complete
from members.services import member_register
from points.models import LoyaltySettings
from points.rules import clinic_zone
from tiers.models import Tier
from visits.services import catalogue_item_create, category_create


def local(*args) -> datetime:
    return datetime(*args, tzinfo=clinic_zone())


# Every test evaluates its segments at this instant (local time in the test clinic).
AT = (2026, 6, 15, 12, 0)


@pytest.fixture
def at() -> datetime:
    return local(*AT)


@pytest.fixture
def catalogue(db):
    lasers = category_create(name="光电类", code="lasers")
    skincare = category_create(name="护肤品", code="skincare")
    return {
        "ipl": catalogue_item_create(kind="treatment", name="光子嫩肤", sku="IPL-1", category=lasers,
                                     price=Decimal("800.00"), duration_minutes=45, recall_days=30),
        "peel": catalogue_item_create(kind="treatment", name="果酸焕肤", sku="PEEL-1", category=lasers,
                                      price=Decimal("500.00"), duration_minutes=30),
        "cream": catalogue_item_create(kind="product", name="修护面霜", sku="CR-1", category=skincare,
                                       price=Decimal("300.00")),
        "lasers": lasers, "skincare": skincare,
    }


@pytest.fixture
def make_member(db):
    LoyaltySettings.objects.get_or_create(pk=1)
    Tier.objects.update(discount_percent=0)
    numbers = itertools.count(1)

    def make(name: str, **kwargs):
        n = next(numbers)
        return member_register(name=name, phone=f"1390000{n:04d}", actor=None, **kwargs)

    return make


@pytest.fixture
def visit():
    def make(member, item, at, quantity=1):
        return checkout_complete(member=member, actor=None, at=at,
                                 lines=[LineInput(item_id=item.pk, quantity=quantity)],
                                 payments=[PaymentInput(method="cash", amount=item.price * quantity)]).visit

    return make
