"""A member's recommendations from the stored signals: which signal wins, the exclusions, the
reasons' wording, and the campaign selectors."""

from datetime import timedelta

import pytest
from django.utils import translation

from appointments.selectors import recall_list
from members.services import medical_profile_update
from recommendations.models import ItemAssociation, ItemInterval, ItemPopularity
from recommendations.selectors import item_related, member_recommendations, members_due_for, members_recommended
from recommendations.tests.conftest import NOW, buy, days_ago, new_member
from tiers.selectors import member_current_tier
from visits.services import catalogue_item_update


def pair(item, related, confidence, lift=2.0, members=10):
    return ItemAssociation.objects.create(item=item, related=related, pair_members=members, item_members=members,
                                          related_members=members, confidence=confidence, lift=lift)


def recommend(member, **kwargs):
    return {rec.item.pk: rec for rec in member_recommendations(member=member, as_of=NOW, limit=10, **kwargs)}


@pytest.fixture
def her(shop):
    return new_member("王小美", gender="female")


def test_an_item_past_its_interval_is_due_with_its_reason(shop, her):
    ItemInterval.objects.create(item=shop.facial, days=120, repeats=30, members=10)
    buy(her, [shop.facial], days_ago(142))

    rec = recommend(her)[shop.facial.pk]

    assert rec.signal == "due"
    assert rec.reason == "Due again: last 水光针 142 days ago, usual interval 120 days"
    assert rec.score == pytest.approx(1 / (1 + abs(__import__("math").log(142 / 120))), abs=1e-4)


def test_the_managers_interval_wins_over_the_learned_one(shop, her):
    ItemInterval.objects.create(item=shop.facial, days=120, repeats=30, members=10)
    catalogue_item_update(item=shop.facial, recall_days=200)
    buy(her, [shop.facial], days_ago(142))

    assert shop.facial.pk not in recommend(her)  # 142 < 0.85 × 200: bought within its cycle


def test_nearly_due_is_due_soon_and_before_that_the_treatment_is_left_out(shop, her):
    ItemInterval.objects.create(item=shop.facial, days=100, repeats=30, members=10)
    ItemInterval.objects.create(item=shop.botox, days=100, repeats=30, members=10)
    buy(her, [shop.facial], days_ago(90))
    buy(her, [shop.botox], days_ago(80))

    recs = recommend(her)

    assert recs[shop.facial.pk].reason == "Due soon: last 水光针 90 days ago, usual interval 100 days"
    assert shop.botox.pk not in recs


def test_bought_with_an_item_of_the_last_window_with_the_reason_for_her_and_him(shop, her):
    pair(shop.laser, shop.aftercare, 0.6)
    buy(her, [shop.laser], days_ago(3))
    him = new_member("李强", gender="male")
    buy(him, [shop.laser], days_ago(3))
    earlier = new_member("赵敏")
    buy(earlier, [shop.laser], days_ago(31))  # outside the 30-day window

    rec = recommend(her)[shop.aftercare.pk]

    assert (rec.signal, rec.score) == ("with", pytest.approx(0.6))
    assert rec.reason == "Often bought with 光子嫩肤 by members like her"
    assert recommend(him)[shop.aftercare.pk].reason == "Often bought with 光子嫩肤 by members like him"
    assert shop.aftercare.pk not in recommend(earlier)
    assert member_recommendations(member=her, as_of=NOW, to_member=True)[0].reason == (
        "Often bought with 光子嫩肤 by members like you")


def test_popular_in_her_tier_for_a_new_member_and_the_best_signal_wins(shop, her):
    tier = member_current_tier(her)
    ItemPopularity.objects.create(tier=tier, item=shop.serum, buyers=30, share=0.3, rank=1)
    ItemPopularity.objects.create(tier=tier, item=shop.aftercare, buyers=20, share=0.2, rank=2)
    ItemPopularity.objects.create(tier=None, item=shop.botox, buyers=99, share=0.5, rank=1)

    recs = member_recommendations(member=her, as_of=NOW)

    assert [rec.item.pk for rec in recs] == [shop.serum.pk, shop.aftercare.pk]
    assert recs[0].reason == f"Popular in the {tier.name} tier over the last 90 days"
    assert recs[0].score == pytest.approx(0.15)

    pair(shop.laser, shop.aftercare, 0.6)
    buy(her, [shop.laser], days_ago(1))
    assert member_recommendations(member=her, as_of=NOW)[0].signal == "with"


def test_without_popularity_of_her_tier_the_clinics_is_used(shop, her):
    ItemPopularity.objects.create(tier=None, item=shop.botox, buyers=99, share=0.5, rank=1)

    rec = recommend(her)[shop.botox.pk]

    assert rec.reason == "Popular with members over the last 90 days"


def test_inactive_items_are_never_recommended(shop, her):
    pair(shop.laser, shop.aftercare, 0.6)
    buy(her, [shop.laser], days_ago(3))
    catalogue_item_update(item=shop.aftercare, active=False)

    assert recommend(her) == {}


def test_treatments_needing_clearance_are_left_out_for_members_with_contraindications(shop, her, practitioner):
    pair(shop.laser, shop.filler, 0.5)
    pair(shop.laser, shop.aftercare, 0.4)
    catalogue_item_update(item=shop.filler, needs_clearance=True)
    buy(her, [shop.laser], days_ago(3))
    assert set(recommend(her)) == {shop.filler.pk, shop.aftercare.pk}

    medical_profile_update(member=her, actor=practitioner, contraindications="孕期")

    assert set(recommend(her)) == {shop.aftercare.pk}
    assert not members_recommended(item=shop.filler, as_of=NOW).exists()


def test_just_bought_items_are_not_suggested_again_but_consumables_may_be_later(shop, her):
    pair(shop.laser, shop.aftercare, 0.6)
    pair(shop.laser, shop.facial, 0.5)
    buy(her, [shop.aftercare, shop.facial], days_ago(20))
    buy(her, [shop.laser], days_ago(2))
    assert recommend(her) == {}  # both bought within the window; the facial has no interval

    later = new_member("孙丽")
    buy(later, [shop.aftercare, shop.facial], days_ago(40))
    buy(later, [shop.laser], days_ago(2))
    assert set(recommend(later)) == {shop.aftercare.pk, shop.facial.pk}
    ItemInterval.objects.create(item=shop.facial, days=100, repeats=30, members=10)
    assert set(recommend(later)) == {shop.aftercare.pk}  # the facial is within its cycle


def test_recommendations_see_nothing_from_as_of_on(shop, her):
    pair(shop.laser, shop.aftercare, 0.6)
    buy(her, [shop.laser], NOW + timedelta(hours=1))

    assert recommend(her) == {}


def test_reasons_in_chinese(shop, her):
    ItemInterval.objects.create(item=shop.facial, days=120, repeats=30, members=10)
    buy(her, [shop.facial], days_ago(142))

    with translation.override("zh-hans"):
        rec = member_recommendations(member=her, as_of=NOW)[0]

    assert rec.reason == "该做了：上次水光针在 142 天前，通常间隔 120 天"


def test_members_due_for_an_item_and_recommended_it(shop, her):
    ItemInterval.objects.create(item=shop.facial, days=100, repeats=30, members=10)
    buy(her, [shop.facial], days_ago(110))
    soon = new_member("赵敏")
    buy(soon, [shop.facial], days_ago(95))
    pair(shop.laser, shop.facial, 0.4)
    laser = new_member("孙丽")
    buy(laser, [shop.laser], days_ago(5))

    assert list(members_due_for(item=shop.facial, as_of=NOW)) == [her]
    assert set(members_due_for(item=shop.facial, within_days=5, as_of=NOW)) == {her, soon}
    assert set(members_recommended(item=shop.facial, min_score=0.5, as_of=NOW)) == {her, soon}
    assert set(members_recommended(item=shop.facial, min_score=0.3, as_of=NOW)) == {her, soon, laser}


def test_the_recall_list_uses_the_learned_interval_where_the_manager_set_none(shop, her):
    buy(her, [shop.botox], days_ago(100))
    assert recall_list() == []

    ItemInterval.objects.create(item=shop.botox, days=60, repeats=30, members=10)

    [entry] = recall_list()
    assert (entry.member, entry.treatment) == (her, shop.botox)
    catalogue_item_update(item=shop.botox, recall_days=365)
    assert recall_list() == []


def test_related_items_most_likely_first_and_only_active(shop):
    pair(shop.laser, shop.aftercare, 0.6, lift=1.5)
    pair(shop.laser, shop.serum, 0.3, lift=3.0)
    pair(shop.laser, shop.facial, 0.7)
    catalogue_item_update(item=shop.facial, active=False)

    related = item_related(item=shop.laser)

    assert [(r.item, r.confidence, r.lift) for r in related] == [(shop.aftercare, 0.6, 1.5), (shop.serum, 0.3, 3.0)]
