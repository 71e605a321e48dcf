import html
import re
from decimal import Decimal

import pytest
from django.test import Client

from messaging.tests.conftest import make_member, sms_provider  # noqa: F401
from points.coupons import coupon_template_create
from points.models import CouponTemplate
from visits.models import CatalogueItem, Category
from visits.services import catalogue_item_create, category_create

ROLES = ["owner", "manager", "front_desk", "practitioner"]
SETTINGS_ROLES = {"owner", "manager"}


@pytest.fixture
def manager_client(staff_client, manager) -> Client:
    return staff_client(manager)


@pytest.fixture
def desk_client(staff_client, front_desk) -> Client:
    return staff_client(front_desk)


@pytest.fixture
def laser(db) -> Category:
    return category_create(name="激光", code="laser")


@pytest.fixture
def skincare(db) -> Category:
    return category_create(name="护肤品", code="skincare")


@pytest.fixture
def facial(laser) -> CatalogueItem:
    return catalogue_item_create(kind=CatalogueItem.Kind.TREATMENT, name="光子嫩肤", sku="IPL", category=laser,
                                 price=Decimal("1200.00"), duration_minutes=60)


@pytest.fixture
def serum(skincare) -> CatalogueItem:
    return catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="精华液", sku="SERUM",
                                 category=skincare, price=Decimal("380.00"))


@pytest.fixture
def voucher(db) -> CouponTemplate:
    return coupon_template_create(name="满500减50", kind=CouponTemplate.Kind.FIXED, amount=Decimal("50.00"),
                                  min_spend=Decimal("500.00"), valid_days=30)


def field_error(response, name: str) -> str:
    """The error shown next to form field `name`, or '' if there is none."""
    found = re.findall(rf'<p class="error" id="id_{re.escape(name)}-error">(.*?)</p>', response.content.decode(),
                       re.S)
    return html.unescape(" ".join(found))


def form_token(response) -> str:
    match = re.search(r'name="form_token" value="([0-9a-f]{32})"', response.content.decode())
    assert match, "the form carries no one-time token"
    return match.group(1)

