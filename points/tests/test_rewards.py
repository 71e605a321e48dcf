from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from points.coupons import coupon_consume
from points.models import Coupon, Entry, Lot, Redemption, Reward
from points.rewards import redemption_cancel, reward_create, reward_delete, reward_redeem, reward_update
from points.selectors import ledger_verify, reward_list, reward_offers
from points.tests.factories import account_of, days, points_give
from tiers.models import Tier
from tiers.services import tier_set_manual
from visits.models import Visit


@pytest.fixture
def serum_reward(serum) -> Reward:
    return reward_create(name="精华液小样", kind=Reward.Kind.PRODUCT, points_cost=300, item=serum)


def redeem(member, reward) -> Redemption:
    return reward_redeem(member=member, reward=reward, actor=None)


def nothing_moved(member, balance: int, entries: int) -> bool:
    return account_of(member).balance == balance and Entry.objects.count() == entries


def test_redeeming_spends_the_soonest_expiring_points_and_takes_one_from_stock(member, serum):
    now = timezone.now()
    later = points_give(member, 500, expires_at=now + days(300))
    soon = points_give(member, 200, expires_at=now + days(10))
    reward = reward_create(name="精华液", kind=Reward.Kind.PRODUCT, points_cost=300, item=serum, stock=5)

    redemption = redeem(member, reward)

    assert (redemption.points, redemption.status, redemption.entry.amount) == (300, "completed", -300)
    assert redemption.entry.kind == Entry.Kind.REDEEM
    assert [Lot.objects.get(entry=e).remaining for e in (soon, later)] == [0, 400]
    assert account_of(member).balance == 400
    reward.refresh_from_db()
    assert reward.stock == 4


def test_out_of_stock_is_refused_and_nothing_moves(member, serum):
    points_give(member, 1000)
    reward = reward_create(name="限量礼盒", kind=Reward.Kind.PRODUCT, points_cost=300, item=serum, stock=1)
    redeem(member, reward)
    entries = Entry.objects.count()

    with pytest.raises(ValidationError, match="out of stock"):
        redeem(member, reward)

    assert nothing_moved(member, 700, entries)
    reward.refresh_from_db()
    assert reward.stock == 0


def test_the_per_member_limit_counts_completed_redemptions(member, make_member, serum):
    reward = reward_create(name="新客礼", kind=Reward.Kind.PRODUCT, points_cost=100, item=serum,
                           per_member_limit=1)
    other = make_member("李四")
    points_give(member, 1000)
    points_give(other, 1000)
    first = redeem(member, reward)

    with pytest.raises(ValidationError, match="the most allowed"):
        redeem(member, reward)
    assert redeem(other, reward).member == other

    redemption_cancel(redemption=first, actor=None, reason="顾客改主意")
    assert redeem(member, reward).status == Redemption.Status.COMPLETED


def test_a_tier_restricted_reward_needs_the_tier(member, manager, serum):
    gold = Tier.objects.order_by("rank").last()
    reward = reward_create(name="金卡专享", kind=Reward.Kind.PRODUCT, points_cost=100, item=serum,
                           allowed_tiers=[gold])
    points_give(member, 1000)

    with pytest.raises(ValidationError, match=gold.name):
        redeem(member, reward)

    tier_set_manual(member=member, tier=gold, actor=manager, reason="VIP")
    assert redeem(member, reward).points == 100


def test_not_enough_points_is_refused_and_nothing_moves(member, serum_reward):
    points_give(member, 299)
    points_give(member, 500, available_from=timezone.now() + days(7))
    entries = Entry.objects.count()

    with pytest.raises(ValidationError, match="299 available, 300 needed"):
        redeem(member, serum_reward)

    assert nothing_moved(member, 799, entries)
    assert not Redemption.objects.exists()


def test_an_inactive_reward_cannot_be_redeemed(member, serum_reward):
    points_give(member, 1000)
    reward_update(reward=serum_reward, active=False)

    with pytest.raises(ValidationError, match="no longer offered"):
        redeem(member, serum_reward)


def test_a_coupon_reward_issues_the_coupon(member, make_template):
    template = make_template(name="100元代金券", amount=Decimal("100.00"))
    reward = reward_create(name="100元代金券", kind=Reward.Kind.COUPON, points_cost=1000,
                           coupon_template=template)
    points_give(member, 1000)

    redemption = redeem(member, reward)

    assert redemption.coupon.template == template
    assert (redemption.coupon.member, redemption.coupon.source) == (member, Coupon.Source.REWARD)


def test_a_coupon_reward_the_member_may_not_hold_moves_nothing(member, make_template):
    template = make_template(per_member_limit=1)
    reward = reward_create(name="代金券", kind=Reward.Kind.COUPON, points_cost=100, coupon_template=template)
    points_give(member, 1000)
    redeem(member, reward)
    entries = Entry.objects.count()

    with pytest.raises(ValidationError, match="the most one member may have"):
        redeem(member, reward)

    assert nothing_moved(member, 900, entries)


def test_cancelling_gives_points_stock_back_and_voids_the_coupon(member, make_template):
    now = timezone.now()
    soon = points_give(member, 600, expires_at=now + days(10))
    reward = reward_create(name="代金券", kind=Reward.Kind.COUPON, points_cost=500,
                           coupon_template=make_template(), stock=3)
    redemption = redeem(member, reward)

    cancelled = redemption_cancel(redemption=redemption, actor=None, reason="兑换错了")

    assert cancelled.status == Redemption.Status.CANCELLED
    assert Lot.objects.get(entry=soon).remaining == 600
    assert account_of(member).balance == 600
    reward.refresh_from_db()
    assert reward.stock == 3
    assert Coupon.objects.get(pk=redemption.coupon_id).status == Coupon.Status.VOID
    with pytest.raises(ValidationError, match="already been cancelled"):
        redemption_cancel(redemption=redemption, actor=None, reason="again")
    assert ledger_verify() == []


def test_a_redemption_whose_coupon_was_used_cannot_be_cancelled(member, make_template):
    points_give(member, 600)
    reward = reward_create(name="代金券", kind=Reward.Kind.COUPON, points_cost=500,
                           coupon_template=make_template())
    redemption = redeem(member, reward)
    visit = Visit.objects.create(member=member, visited_at=timezone.now(), subtotal=Decimal("100"),
                                 coupon_discount=Decimal("50"), total=Decimal("50"))
    coupon_consume(coupon=redemption.coupon, visit=visit, discount=Decimal("50"), at=timezone.now())

    with pytest.raises(ValidationError, match="has been used"):
        redemption_cancel(redemption=redemption, actor=None, reason="退")


def test_offers_say_what_a_member_can_redeem_and_why_not(member, serum):
    cheap = reward_create(name="小样", kind=Reward.Kind.PRODUCT, points_cost=100, item=serum)
    dear = reward_create(name="正装", kind=Reward.Kind.PRODUCT, points_cost=5000, item=serum)
    gone = reward_create(name="礼盒", kind=Reward.Kind.PRODUCT, points_cost=50, item=serum, stock=0)
    points_give(member, 200)

    offers = {offer.reward: offer for offer in reward_offers(member=member, rewards=reward_list())}

    assert offers[cheap].can_redeem
    assert "200 available, 5000 needed" in offers[dear].refusal
    assert "out of stock" in offers[gone].refusal


def test_a_reward_needs_what_it_gives_and_one_with_redemptions_is_kept(member, serum):
    with pytest.raises(ValidationError) as missing:
        reward_create(name="空", kind=Reward.Kind.PRODUCT, points_cost=10)
    assert "item" in missing.value.message_dict

    reward = reward_create(name="小样", kind=Reward.Kind.PRODUCT, points_cost=10, item=serum)
    points_give(member, 10)
    redeem(member, reward)
    with pytest.raises(ValidationError, match="deactivate it instead"):
        reward_delete(reward=reward)
