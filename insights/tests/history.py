"""A generated visit history for the KPI tests, made through the real checkout and refund
services, and kept beside as plain records so that the tests can compute every KPI on their own."""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from checkout.services import LineInput, PaymentInput, checkout_complete, visit_refund
from members.models import Member
from members.services import member_register
from tiers.selectors import member_current_tier
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

ZONE = ZoneInfo("Asia/Shanghai")


@dataclass
class VisitRecord:
    member_id: int
    at: datetime
    total: Decimal
    refunded: Decimal = Decimal("0.00")
    voided: bool = False

    @property
    def day(self) -> date:
        return self.at.astimezone(ZONE).date()

    @property
    def net(self) -> Decimal:
        return self.total - self.refunded


@dataclass
class MemberRecord:
    id: int
    joined_on: date
    referred: bool


@dataclass
class History:
    members: list[MemberRecord]
    visits: list[VisitRecord]

    def counted(self) -> list[VisitRecord]:
        return [v for v in self.visits if not v.voided]


def local(day: date, hour: int = 11, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


def _due(gross: Decimal, member: Member) -> Decimal:
    discount = (gross * member_current_tier(member).discount_percent / 100).quantize(Decimal("0.01"),
                                                                                    rounding=ROUND_HALF_UP)
    return gross - discount


def history_make(owner) -> History:
    """About 40 members and 150 visits from September 2023 to June 2024: partial and full
    refunds, zero-value visits (one of them refunded, so voided), members with one visit, visits
    at 23:30 local on 31 January and on 29 February 2024, members who never came."""
    rng = random.Random(16)
    category = category_create(name="护理", code="care")
    treatment = catalogue_item_create(kind=CatalogueItem.Kind.TREATMENT, name="水光针", sku="HYDRA",
                                      category=category, price=Decimal("1280.00"), duration_minutes=60)
    cream = catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="修护霜", sku="CREAM",
                                  category=category, price=Decimal("199.90"))
    consult = catalogue_item_create(kind=CatalogueItem.Kind.TREATMENT, name="面诊", sku="CONSULT",
                                    category=category, price=Decimal("0.00"), duration_minutes=30)
    members = []
    for n in range(40):
        referrer = members[rng.randrange(len(members))] if members and n % 5 == 0 else None
        members.append(member_register(name=f"会员{n}", phone=f"1390000{n:04d}", actor=owner,
                                       referral_code=referrer.referral_code if referrer else "",
                                       joined_on=date(2023, 8, 1) + timedelta(days=rng.randrange(300))))
    plan = []
    start = date(2023, 9, 1)
    for member in members[:36]:
        for _visit in range(rng.choice((1, 1, 2, 3, 5, 7))):
            day = start + timedelta(days=rng.randrange(304))
            plan.append((local(day, rng.randint(9, 20), rng.choice((0, 15, 45))), member,
                         rng.choice((treatment, cream, cream, consult))))
    plan += [(local(date(2024, 1, 31), 23, 30), members[0], treatment),
             (local(date(2024, 2, 29), 10), members[1], cream),
             (local(date(2024, 2, 29), 23, 30), members[2], treatment),
             (local(date(2024, 3, 1), 0, 10), members[3], consult)]
    plan.sort(key=lambda item: item[0])
    visits = []
    results = []
    for at, member, item in plan:
        quantity = 2 if item == cream else 1
        due = _due(item.price * quantity, member)
        result = checkout_complete(member=member, actor=owner, at=at,
                                   lines=[LineInput(item_id=item.pk, quantity=quantity)],
                                   payments=[PaymentInput("cash", due)] if due else [])
        visits.append(VisitRecord(member.pk, at, result.visit.total))
        results.append(result)
    refunds = 0
    for record, result in zip(visits, results, strict=True):
        roll = rng.random()
        line = result.lines[0]
        if roll < 0.08 or (record.total == 0 and roll < 0.3):
            refund = visit_refund(visit=result.visit, lines=[(line.pk, line.quantity)], reason="不满意", actor=owner,
                                  at=record.at + timedelta(days=2))
            record.refunded += refund.amount
            record.voided = True
            refunds += 1
        elif roll < 0.16 and line.quantity == 2:
            refund = visit_refund(visit=result.visit, lines=[(line.pk, 1)], reason="退一件", actor=owner,
                                  at=record.at + timedelta(days=1))
            record.refunded += refund.amount
            refunds += 1
    assert refunds >= 5
    assert any(v.voided and v.total == 0 for v in visits)
    assert any(not v.voided and v.total == 0 for v in visits)
    return History([MemberRecord(m.pk, m.joined_on, m.referred_by_id is not None) for m in members], visits)
