"""Property: for random baskets (items, quantities, line discounts, a coupon, points as cash, a
tier discount and multipliers), the quote gives exactly what checkout then charges and awards."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkout.services import LineInput, PaymentInput, checkout_complete, checkout_quote
from members.services import member_register
from points.coupons import coupon_issue, coupon_template_create
from points.ledger import Source, account_for, ledger_credit
from points.models import CouponTemplate, Entry
from points.rules import loyalty_settings_update
from tiers.models import Tier
from visits.services import catalogue_item_create, category_create

baskets = st.lists(st.tuples(st.integers(0, 3), st.integers(1, 3), st.integers(0, 30)), min_size=1, max_size=4)


@pytest.fixture
def shop(db, front_desk):
    laser = category_create(name="激光", code="laser")
    skin = category_create(name="护肤", code="skin")
    items = [
        catalogue_item_create(kind="treatment", name="光子嫩肤", sku="IPL", category=laser, price=Decimal("880.00"),
                              duration_minutes=45),
        catalogue_item_create(kind="treatment", name="皮秒", sku="PICO", category=laser, price=Decimal("1999.90"),
                              duration_minutes=30),
        catalogue_item_create(kind="product", name="面霜", sku="CREAM", category=skin, price=Decimal("329.50")),
        catalogue_item_create(kind="product", name="面膜", sku="MASK", category=skin, price=Decimal("49.99")),
    ]
    loyalty_settings_update(category_multipliers={laser.pk: Decimal("1.50")}, first_visit_bonus=88,
                            points_per_currency_unit=Decimal("1"), pending_days=0)
    Tier.objects.filter(rank=0).update(discount_percent=3)
    template = coupon_template_create(name="满减", kind=CouponTemplate.Kind.PERCENT, percent=15,
                                      cap=Decimal("200.00"), valid_days=30)
    return {"items": items, "template": template, "counter": iter(range(10_000))}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(basket=baskets, with_coupon=st.booleans(), points=st.sampled_from([0, 100, 500, 2000]))
def test_the_quote_is_what_checkout_charges(shop, front_desk, basket, with_coupon, points):
    member = member_register(name="周美", phone=f"1390000{next(shop['counter']):04d}", actor=front_desk)
    ledger_credit(account=account_for(member, lock=True), amount=5000, kind=Entry.Kind.ADJUST,
                  source=Source("adjustment", member.pk), actor=None)
    code = coupon_issue(member=member, template=shop["template"], source="manual", actor=None).code \
        if with_coupon else ""
    lines = [LineInput(item_id=shop["items"][index].pk, quantity=quantity,
                       discount=Decimal(discount) if discount <= shop["items"][index].price * quantity else Decimal(0))
             for index, quantity, discount in basket]
    bill = {"member": member, "lines": lines, "actor": front_desk, "coupon_code": code, "points_to_use": points}
    try:
        quote = checkout_quote(**bill)
    except ValidationError as refused:
        with pytest.raises(ValidationError) as also:
            checkout_complete(payments=[PaymentInput("cash", None)], **bill)
        assert also.value.messages == refused.messages
        return

    result = checkout_complete(payments=[PaymentInput("cash", None)], **bill)

    visit = result.visit
    assert (quote.subtotal, quote.line_discount, quote.tier_discount, quote.coupon_discount, quote.points_discount,
            quote.total) == (visit.subtotal, visit.line_discount, visit.tier_discount, visit.coupon_discount,
                             visit.points_discount, visit.total)
    assert sum(p.amount for p in result.payments) == quote.total
    assert quote.points_earned == result.points_earned
    assert quote.bonus_points == sum(points for kind, points in result.bonuses.items() if kind != "referrer")
    assert quote.tier_change == (result.tier_change.to_tier.name if result.tier_change else None)
