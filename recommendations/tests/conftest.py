from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from members.models import Member
from members.services import member_register
from visits.models import CatalogueItem, Visit, VisitLine
from visits.services import catalogue_item_create, category_create

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)  # noon in Shanghai


def buy(member: Member, items: list[CatalogueItem], at: datetime) -> Visit:
    """A visit with one line per item, written as imported history is (no points)."""
    total = sum((item.price for item in items), Decimal("0.00"))
    visit = Visit.objects.create(member=member, visited_at=at, source=Visit.Source.IMPORT, subtotal=total,
                                 total=total)
    VisitLine.objects.bulk_create(
        VisitLine(visit=visit, item=item, name=item.name, category=item.category, unit_price=item.price,
                  line_total=item.price) for item in items)
    return visit


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


_phones = iter(range(10_000))


def new_member(name: str = "张小美", **kwargs) -> Member:
    return member_register(name=name, phone=f"1391234{next(_phones):04d}", actor=None, **kwargs)


@dataclass
class Shop:
    laser: CatalogueItem
    aftercare: CatalogueItem
    botox: CatalogueItem
    facial: CatalogueItem
    serum: CatalogueItem
    filler: CatalogueItem


@pytest.fixture
def shop(db) -> Shop:
    return shop_make()


def shop_make() -> Shop:
    """Six catalogue items: treatments without a recall interval, products."""
    treatments = category_create(name="项目", code="treatments")
    products = category_create(name="产品", code="products")

    def treatment(name, sku, recall=None):
        return catalogue_item_create(kind="treatment", name=name, sku=sku, category=treatments,
                                     price=Decimal("1000.00"), duration_minutes=30, recall_days=recall)

    def product(name, sku):
        return catalogue_item_create(kind="product", name=name, sku=sku, category=products, price=Decimal("200.00"))

    return Shop(laser=treatment("光子嫩肤", "LSR"), aftercare=product("修护面膜", "AFT"),
                botox=treatment("肉毒素", "BTX"), facial=treatment("水光针", "FAC"),
                serum=product("精华液", "SER"), filler=treatment("玻尿酸", "HA"))
