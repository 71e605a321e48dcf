from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from checkout.services import LineInput, PaymentInput, checkout_complete
from members.services import member_register
from points.models import LoyaltySettings
from points.rules import clinic_zone
from visits.services import catalogue_item_create, category_create


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
        "lasers": lasers,
    }


@pytest.fixture
def member(db):
    LoyaltySettings.objects.get_or_create(pk=1)
    return member_register(name="张小美", phone="13812345678", actor=None)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=clinic_zone())


@pytest.fixture
def visit_of():
    def make(member, item, at=None, actor=None):
        at = at or timezone.now() - timedelta(hours=30)
        return checkout_complete(member=member, actor=actor, at=at, lines=[LineInput(item_id=item.pk, quantity=1)],
                                 payments=[PaymentInput(method="cash", amount=item.price)]).visit

    return make
