from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from points.coupons import (
    CODE_ALPHABET,
    CouponAlreadyIssued,
    CouponLine,
    coupon_consume,
    coupon_discount_for,
    coupon_issue,
    coupon_reinstate,
    coupon_void,
    coupons_expire,
)
from points.models import Coupon, CouponEvent, CouponTemplate
from points.selectors import coupon_by_code, coupon_list
from points.tests.factories import days
from visits.models import Visit

SHANGHAI = ZoneInfo("Asia/Shanghai")


def issue(member, template, **kwargs) -> Coupon:
    return coupon_issue(member=member, template=template, source=Coupon.Source.MANUAL, actor=None, **kwargs)


def line(item, total: str, quantity: int = 1) -> CouponLine:
    return CouponLine(category_id=item.category_id, item_id=item.pk, line_total=Decimal(total),
                      quantity=quantity)


def visit_for(member) -> Visit:
    return Visit.objects.create(member=member, visited_at=timezone.now(), subtotal=Decimal("500.00"),
                                total=Decimal("500.00"))


def test_issued_coupons_have_unique_friendly_codes_and_a_validity_in_the_clinic_zone(member, make_template):
    template = make_template(valid_days=7)
    issued_at = datetime(2026, 3, 10, 23, 30, tzinfo=SHANGHAI)

    coupons = [issue(member, template, at=issued_at) for _ in range(20)]

    codes = {coupon.code for coupon in coupons}
    assert len(codes) == 20
    assert all(len(code) == 10 and set(code) <= set(CODE_ALPHABET) for code in codes)
    assert coupons[0].valid_from == issued_at
    assert coupons[0].valid_until == datetime(2026, 3, 18, 0, 0, tzinfo=SHANGHAI)
    assert coupon_by_code(f" {coupons[0].code.lower()[:5]}-{coupons[0].code.lower()[5:]} ") == coupons[0]
    assert CouponEvent.objects.filter(coupon=coupons[0], kind=CouponEvent.Kind.ISSUED).count() == 1


def test_template_dates_bound_the_validity(member, make_template):
    template = make_template(valid_days=None, valid_from=date(2026, 5, 1), valid_until=date(2026, 5, 31))

    coupon = issue(member, template, at=datetime(2026, 4, 20, 12, tzinfo=SHANGHAI))

    assert coupon.valid_from == datetime(2026, 5, 1, tzinfo=SHANGHAI)
    assert coupon.valid_until == datetime(2026, 6, 1, tzinfo=SHANGHAI)
    with pytest.raises(ValidationError, match="can no longer be used"):
        issue(member, template, at=datetime(2026, 6, 1, 0, 1, tzinfo=SHANGHAI))


def test_the_per_member_limit_counts_every_coupon_but_cancelled_ones(member, make_member, make_template):
    template = make_template(per_member_limit=2)
    first = issue(member, template)
    issue(member, template)

    with pytest.raises(ValidationError, match="the most one member may have"):
        issue(member, template)
    assert issue(make_member("李四"), template).template == template

    coupon_void(coupon=first, actor=None, reason="发错了")
    assert issue(member, template).status == Coupon.Status.ISSUED


def test_inactive_templates_are_not_issued(member, make_template):
    with pytest.raises(ValidationError, match="no longer issued"):
        issue(member, make_template(active=False))


def test_a_dedupe_key_issues_once(member, make_template):
    template = make_template()
    first = issue(member, template, dedupe_key="birthday:2026:1")

    with pytest.raises(CouponAlreadyIssued) as again:
        issue(member, template, dedupe_key="birthday:2026:1")

    assert again.value.coupon == first
    assert Coupon.objects.count() == 1


def test_fixed_coupon_takes_its_amount_but_never_more_than_the_bill(member, make_template, serum):
    coupon = issue(member, make_template(amount=Decimal("50.00")))

    def discount(total: str) -> Decimal:
        return coupon_discount_for(coupon=coupon, member=member, lines=[line(serum, total)],
                                   at=timezone.now())

    assert (discount("380.00"), discount("30.00")) == (Decimal("50"), Decimal("30"))


def test_percent_coupon_is_capped(member, make_template, serum, facial):
    template = make_template(kind=CouponTemplate.Kind.PERCENT, amount=None, percent=15, cap=Decimal("100.00"))
    coupon = issue(member, template)
    now = timezone.now()

    small = coupon_discount_for(coupon=coupon, member=member, lines=[line(serum, "380.00")], at=now)
    big = coupon_discount_for(coupon=coupon, member=member,
                              lines=[line(serum, "380.00"), line(facial, "1200")], at=now)

    assert (small, big) == (Decimal("57.00"), Decimal("100.00"))


def test_free_item_coupon_takes_off_one_unit_of_that_item(member, make_template, serum, facial):
    template = make_template(kind=CouponTemplate.Kind.FREE_ITEM, amount=None, free_item=serum)
    coupon = issue(member, template)
    now = timezone.now()

    discount = coupon_discount_for(coupon=coupon, member=member,
                                   lines=[line(facial, "1200.00"), line(serum, "700.00", quantity=2)], at=now)

    assert discount == Decimal("350.00")
    with pytest.raises(ValidationError, match="add it to the bill"):
        coupon_discount_for(coupon=coupon, member=member, lines=[line(facial, "1200.00")], at=now)


def test_minimum_spend_and_categories_count_only_the_lines_the_coupon_applies_to(
        member, make_template, serum, facial, skincare):
    template = make_template(min_spend=Decimal("500.00"), categories=[skincare])
    coupon = issue(member, template)
    now = timezone.now()

    with pytest.raises(ValidationError, match=r"at least 500\.00"):
        coupon_discount_for(coupon=coupon, member=member, lines=[line(serum, "380.00"), line(facial, "1200")],
                            at=now)
    with pytest.raises(ValidationError, match="does not apply"):
        coupon_discount_for(coupon=coupon, member=member, lines=[line(facial, "1200")], at=now)
    assert coupon_discount_for(coupon=coupon, member=member, lines=[line(serum, "760.00", 2)],
                               at=now) == Decimal("50")


def test_a_coupon_is_only_for_its_member_and_within_its_validity(member, make_member, make_template, serum):
    coupon = issue(member, make_template(valid_days=3))
    lines = [line(serum, "380.00")]

    with pytest.raises(ValidationError, match="another member"):
        coupon_discount_for(coupon=coupon, member=make_member("李四"), lines=lines, at=timezone.now())
    with pytest.raises(ValidationError, match="expired"):
        coupon_discount_for(coupon=coupon, member=member, lines=lines, at=coupon.valid_until)
    with pytest.raises(ValidationError, match="can be used from"):
        coupon_discount_for(coupon=coupon, member=member, lines=lines, at=coupon.valid_from - days(1))


def test_a_coupon_is_used_once(member, make_template, serum):
    coupon = issue(member, make_template())
    now = timezone.now()
    first_visit, second_visit = visit_for(member), visit_for(member)

    coupon_consume(coupon=coupon, visit=first_visit, discount=Decimal("50.00"), at=now)
    stale = Coupon.objects.get(pk=coupon.pk)
    stale.status = Coupon.Status.ISSUED
    with pytest.raises(ValidationError, match="cannot be used"), transaction.atomic():
        coupon_consume(coupon=stale, visit=second_visit, discount=Decimal("50.00"), at=now)
    with pytest.raises(ValidationError, match="already been used"):
        coupon_discount_for(coupon=Coupon.objects.get(pk=coupon.pk), member=member,
                            lines=[line(serum, "380.00")], at=now)

    coupon.refresh_from_db()
    assert (coupon.status, coupon.redeemed_visit, coupon.discount_given) == (
        Coupon.Status.REDEEMED, first_visit, Decimal("50.00"))


def test_a_full_refund_gives_the_coupon_back_or_lets_it_expire(member, make_template):
    template = make_template(valid_days=3)
    still_valid, past = issue(member, template), issue(member, template, at=timezone.now() - days(10))
    coupon_consume(coupon=still_valid, visit=visit_for(member), discount=Decimal("50"), at=timezone.now())
    coupon_consume(coupon=past, visit=visit_for(member), discount=Decimal("50"), at=past.valid_from)

    assert coupon_reinstate(coupon=still_valid, actor=None).status == Coupon.Status.ISSUED
    assert coupon_reinstate(coupon=past, actor=None).status == Coupon.Status.EXPIRED
    still_valid.refresh_from_db()
    assert still_valid.redeemed_visit is None
    assert list(still_valid.events.values_list("kind", flat=True)) == ["issued", "redeemed", "reinstated"]


def test_coupons_expire_in_one_statement_and_only_once(member, make_template):
    template = make_template(valid_days=1)
    old = issue(member, template, at=timezone.now() - days(5))
    fresh = issue(member, template)
    now = timezone.now()

    assert coupons_expire(now=now) == 1
    assert coupons_expire(now=now) == 0

    old.refresh_from_db()
    assert old.status == Coupon.Status.EXPIRED
    assert old.events.filter(kind=CouponEvent.Kind.EXPIRED).count() == 1
    assert list(coupon_list(member=member, usable_at=now)) == [fresh]
    assert set(coupon_list(member=member)) == {old, fresh}


def test_a_used_coupon_cannot_be_voided(member, make_template):
    coupon = issue(member, make_template())
    coupon_consume(coupon=coupon, visit=visit_for(member), discount=Decimal("50"), at=timezone.now())

    with pytest.raises(ValidationError, match="ready to use"):
        coupon_void(coupon=coupon, actor=None, reason="x")
