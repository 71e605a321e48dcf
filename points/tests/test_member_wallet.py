"""A member redeeming for themselves (the portal) and their wallet: what the same redemption
service allows online, the coupons still to use and the history, each with its last local day."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from checkout.services import LineInput, PaymentInput, checkout_complete
from clinic_loyalty.qr import qr_svg
from points.coupons import coupon_issue, coupon_void
from points.models import Coupon, CouponTemplate, Entry, Redemption, Reward
from points.rewards import reward_create, reward_redeem
from points.selectors import (
    coupon_code_display,
    coupon_conditions,
    member_coupon_get,
    member_wallet,
    reward_list,
    reward_offers,
)
from points.tests.factories import account_of, points_give
from visits.models import Visit

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def coupon_reward(make_template) -> Reward:
    template = make_template(name="满500减50", valid_days=30, min_spend=Decimal("500.00"))
    return reward_create(name="50元券", kind=Reward.Kind.COUPON, points_cost=200, coupon_template=template)


def test_a_member_redeeming_online_gets_the_coupon_in_the_wallet_and_the_redemption_says_portal(
        member, coupon_reward):
    points_give(member, 500)

    redemption = reward_redeem(member=member, reward=coupon_reward, actor=None, by_member=True)

    assert redemption.channel == Redemption.Channel.PORTAL and redemption.actor is None
    assert account_of(member).balance == 300
    wallet = member_wallet(member=member)
    assert [item.coupon for item in wallet.active] == [redemption.coupon]
    assert wallet.active[0].usable and wallet.history == []
    assert redemption.coupon.source == Coupon.Source.REWARD


def test_staff_redemptions_stay_marked_as_front_desk(member, coupon_reward):
    points_give(member, 500)

    assert reward_redeem(member=member, reward=coupon_reward, actor=None).channel == Redemption.Channel.STAFF


def test_online_a_product_reward_is_refused_and_nothing_moves(member, serum):
    points_give(member, 500)
    reward = reward_create(name="精华液小样", kind=Reward.Kind.PRODUCT, points_cost=300, item=serum, stock=3)
    entries = Entry.objects.count()

    with pytest.raises(ValidationError, match="front desk"):
        reward_redeem(member=member, reward=reward, actor=None, by_member=True)

    assert account_of(member).balance == 500 and Entry.objects.count() == entries
    reward.refresh_from_db()
    assert reward.stock == 3


def test_the_online_offers_give_the_same_refusals_as_the_service(member, make_member, coupon_reward, serum):
    product = reward_create(name="精华液小样", kind=Reward.Kind.PRODUCT, points_cost=100, item=serum)
    limited = reward_create(name="限兑一次", kind=Reward.Kind.COUPON, points_cost=100,
                            coupon_template=coupon_reward.coupon_template, per_member_limit=1)
    points_give(member, 250)
    reward_redeem(member=member, reward=limited, actor=None, by_member=True)

    offers = {offer.reward.name: offer for offer in
              reward_offers(member=member, rewards=reward_list(), by_member=True)}

    assert "front desk" in offers["精华液小样"].refusal
    assert "already redeemed" in offers["限兑一次"].refusal
    assert "Not enough points" in offers["50元券"].refusal  # 150 left, 200 needed
    with pytest.raises(ValidationError, match="Not enough points"):
        reward_redeem(member=member, reward=coupon_reward, actor=None, by_member=True)
    staff_offers = {o.reward.name: o for o in reward_offers(member=member, rewards=[product])}
    assert staff_offers["精华液小样"].can_redeem


def test_the_wallet_shows_the_last_local_day_and_moves_used_expired_and_cancelled_to_history(
        member, make_member, make_template, facial):
    template = make_template(valid_days=7)
    issued_at = datetime(2026, 3, 10, 23, 30, tzinfo=SHANGHAI)
    issue = lambda: coupon_issue(member=member, template=template, source=Coupon.Source.MANUAL,  # noqa: E731
                                 actor=None, at=issued_at)
    ready, used, cancelled, lapsed = issue(), issue(), issue(), issue()
    coupon_void(coupon=cancelled, actor=None, reason="客人不要")
    Coupon.objects.filter(pk=used.pk).update(
        status=Coupon.Status.REDEEMED, redeemed_at=issued_at,
        redeemed_visit=Visit.objects.create(member=member, visited_at=issued_at, subtotal=Decimal("1"),
                                            total=Decimal("1")))
    Coupon.objects.filter(pk=lapsed.pk).update(valid_until=datetime(2026, 3, 12, tzinfo=SHANGHAI))
    coupon_issue(member=make_member(), template=template, source=Coupon.Source.MANUAL, actor=None, at=issued_at)

    wallet = member_wallet(member=member, at=datetime(2026, 3, 15, 12, tzinfo=SHANGHAI))

    assert [(item.coupon, item.state) for item in wallet.active] == [(ready, "ready")]
    assert wallet.active[0].last_day == date(2026, 3, 17)
    assert {(item.coupon.pk, item.state) for item in wallet.history} == {
        (used.pk, "used"), (cancelled.pk, "cancelled"), (lapsed.pk, "expired")}
    assert next(i for i in wallet.history if i.coupon == lapsed).last_day == date(2026, 3, 11)


def test_a_coupon_not_valid_yet_says_from_which_day(member, make_template):
    template = make_template(valid_days=None, valid_from=date(2026, 5, 1), valid_until=date(2026, 5, 31))
    coupon_issue(member=member, template=template, source=Coupon.Source.MANUAL, actor=None,
                 at=datetime(2026, 4, 20, tzinfo=SHANGHAI))

    item = member_wallet(member=member, at=datetime(2026, 4, 21, tzinfo=SHANGHAI)).active[0]

    assert (item.state, item.first_day, item.last_day) == ("not_yet", date(2026, 5, 1), date(2026, 5, 31))
    assert not item.usable


def test_a_member_gets_only_their_own_coupon(member, make_member, make_template):
    coupon = coupon_issue(member=member, template=make_template(), source=Coupon.Source.MANUAL, actor=None)

    assert member_coupon_get(member=member, pk=coupon.pk).coupon == coupon
    assert member_coupon_get(member=make_member(), pk=coupon.pk) is None


def test_conditions_say_what_the_coupon_gives_and_where(make_template, facial, laser):
    fixed = make_template(min_spend=Decimal("500.00"), categories=[laser])
    percent = make_template(name="九折", kind=CouponTemplate.Kind.PERCENT, amount=None, percent=10,
                            cap=Decimal("100.00"))
    free = make_template(name="免费光子", kind=CouponTemplate.Kind.FREE_ITEM, amount=None, free_item=facial)

    assert coupon_conditions(fixed, currency="CNY") == [
        "50.00 CNY off", "For a spend of at least 500.00 CNY", "Applies to: 激光"]
    assert coupon_conditions(percent, currency="CNY") == ["10% off", "At most 100.00 CNY off"]
    assert coupon_conditions(free, currency="CNY") == ["One free “光子嫩肤”"]


def test_the_code_is_shown_in_groups_and_its_qr_code_is_an_inline_svg():
    assert coupon_code_display("ABCD2345XY") == "ABCD-2345-XY"
    svg = qr_svg("ABCD2345XY", title="ABCD-2345-XY")
    assert svg.startswith("<svg") and "<title>ABCD-2345-XY</title>" in svg and "<path" in svg
    assert qr_svg("ABCD2345XZ") != qr_svg("ABCD2345XY")


def test_a_coupon_redeemed_online_is_taken_at_checkout_by_its_displayed_code(member, facial, make_template):
    template = make_template(valid_days=30, amount=Decimal("100.00"))
    reward = reward_create(name="百元券", kind=Reward.Kind.COUPON, points_cost=200, coupon_template=template)
    points_give(member, 500, at=timezone.now() - timedelta(days=1))
    coupon = reward_redeem(member=member, reward=reward, actor=None, by_member=True).coupon

    result = checkout_complete(member=member, lines=[LineInput(item_id=facial.pk)], actor=None,
                               coupon_code=coupon_code_display(coupon.code).lower(),
                               payments=[PaymentInput(method="cash", amount=Decimal("1100.00"))])

    coupon.refresh_from_db()
    assert result.visit.coupon_discount == Decimal("100.00")
    assert coupon.status == Coupon.Status.REDEEMED and coupon.redeemed_visit == result.visit
    assert member_wallet(member=member).history[0].state == "used"
