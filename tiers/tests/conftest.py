import itertools
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from members.models import Member
from members.services import member_register
from tiers.models import Tier
from visits.models import Visit

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A moment in the test clinic's time zone."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def ladder(db) -> list[Tier]:
    """The test clinic's default tiers: 普通, 银卡, 金卡, 钻石卡."""
    return list(Tier.objects.order_by("rank"))


@pytest.fixture
def make_member(db):
    numbers = itertools.count(1)

    def make(name: str = "张小美") -> Member:
        n = next(numbers)
        return member_register(name=f"{name}{n}", phone=f"1390000{n:04d}", actor=None)

    return make


@pytest.fixture
def member(make_member) -> Member:
    return make_member()


@pytest.fixture
def make_visit(db):
    """A visit row as checkout or the importer would leave it."""

    def make(member: Member, amount: str, at: datetime, *, refunded: str = "0",
             source: str = Visit.Source.CHECKOUT) -> Visit:
        total = Decimal(amount)
        return Visit.objects.create(member=member, visited_at=at, subtotal=total, total=total,
                                    refunded_total=Decimal(refunded), source=source)

    return make
