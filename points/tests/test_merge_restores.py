"""Points given back after a member merge land in the survivor's account, in the lots the merge
moved, and the ledger agrees."""

from datetime import timedelta

from django.utils import timezone

from members.services import member_merge
from points.models import Lot, Reward
from points.rewards import redemption_cancel, reward_create, reward_redeem
from points.selectors import ledger_verify
from points.tests.factories import account_of, constraints_check, points_give


def test_cancelling_a_duplicates_redemption_after_the_merge_restores_into_the_moved_lot(
        make_member, serum, manager):
    # given a duplicate who redeemed 300 of a 1,000-point lot, and was then merged
    survivor, duplicate = make_member("张小美"), make_member("张小美")
    expires = timezone.now() + timedelta(days=200)
    points_give(duplicate, 1000, expires_at=expires)
    reward = reward_create(name="精华液小样", kind=Reward.Kind.PRODUCT, points_cost=300, item=serum, stock=5)
    redemption = reward_redeem(member=duplicate, reward=reward, actor=manager)
    member_merge(survivor=survivor, duplicate=duplicate, actor=manager)
    moved = Lot.objects.get(account__member=survivor)
    assert (moved.amount, moved.remaining) == (700, 700)

    # when the redemption is cancelled
    redemption_cancel(redemption=redemption, actor=manager, reason="换货")

    # then the 300 points are the survivor's (the moved lot has no room for them, so they come
    # back as a new lot), and the duplicate's account stays empty
    assert account_of(survivor).balance == 1000
    assert account_of(duplicate).balance == 0
    assert sum(Lot.objects.filter(account__member=survivor).values_list("remaining", flat=True)) == 1000
    constraints_check()
    assert ledger_verify() == []


def test_points_spent_after_the_merge_go_back_into_the_moved_lot(make_member, serum, manager):
    # given a duplicate's 1,000-point lot moved to the survivor, who then redeems 300 from it
    survivor, duplicate = make_member("张小美"), make_member("张小美")
    points_give(duplicate, 1000, expires_at=timezone.now() + timedelta(days=200))
    member_merge(survivor=survivor, duplicate=duplicate, actor=manager)
    reward = reward_create(name="精华液小样", kind=Reward.Kind.PRODUCT, points_cost=300, item=serum, stock=5)
    redemption = reward_redeem(member=survivor, reward=reward, actor=manager)

    # when it is cancelled
    redemption_cancel(redemption=redemption, actor=manager, reason="换货")

    # then the moved lot is whole again, with its own expiry, and no new lot was made
    [lot] = Lot.objects.filter(account__member=survivor)
    assert (lot.amount, lot.remaining) == (1000, 1000)
    assert ledger_verify() == []
