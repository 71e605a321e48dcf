"""The nightly learning on constructed histories whose intervals, supports and lifts are known."""

import pytest

from recommendations.learning import recommendations_learn, signals_learn
from recommendations.models import ItemAssociation, ItemInterval, ItemPopularity, Learning
from recommendations.tests.conftest import NOW, buy, days_ago, new_member
from tiers.selectors import member_current_tier


def test_an_items_interval_is_the_median_gap_between_repeat_purchases(shop):
    first, second = new_member(), new_member("李娜")
    for day in (300, 270, 230, 180):  # gaps 30, 40, 50
        buy(first, [shop.botox], days_ago(day))
    for day in (200, 140, 120):  # gaps 60, 20
        buy(second, [shop.botox], days_ago(day))
    for day in (100, 90, 80, 70, 60):  # gaps 10, 10, 10, 10: four, too few
        buy(first, [shop.facial], days_ago(day))
    buy(first, [shop.laser], days_ago(5))
    buy(first, [shop.laser], days_ago(5))  # the same day twice: one purchase, no gap

    signals_learn(before=NOW)

    botox = ItemInterval.objects.get(item=shop.botox)
    assert (botox.days, botox.repeats, botox.members) == (40, 5, 2)
    assert not ItemInterval.objects.filter(item__in=[shop.facial, shop.laser]).exists()


def test_the_median_of_an_even_number_of_gaps_is_the_mean_of_the_middle_two(shop):
    member = new_member()
    for day in (400, 390, 370, 340, 300, 250, 190):  # gaps 10, 20, 30, 40, 50, 60: median 35
        buy(member, [shop.filler], days_ago(day))

    signals_learn(before=NOW)

    assert ItemInterval.objects.get(item=shop.filler).days == 35


def test_visits_from_the_cut_off_on_are_not_seen(shop):
    member = new_member()
    for day in (100, 80, 60, 40, 20):  # four gaps before the cut-off, the fifth after
        buy(member, [shop.botox], days_ago(day))
    buy(member, [shop.botox], days_ago(-5))

    signals_learn(before=NOW)

    assert not ItemInterval.objects.exists()


def _basket_set(shop):
    """20 buying members. 10 had the laser; 6 of them took the aftercare too (3 in the same visit,
    3 within 10 days after), one 40 days after (outside the window); 1 more bought aftercare
    alone: aftercare buyers 8. The others bought a facial."""
    members = [new_member(f"会员{n}") for n in range(20)]
    for n, member in enumerate(members[:10]):
        at = days_ago(200 + n)
        if n < 3:
            buy(member, [shop.laser, shop.aftercare], at)
        else:
            buy(member, [shop.laser], at)
            if n < 6:
                buy(member, [shop.aftercare], days_ago(200 + n - 10))
            elif n == 6:
                buy(member, [shop.aftercare], days_ago(200 + n - 40))
    for member in members[10:]:
        buy(member, [shop.facial], days_ago(150))
    buy(members[10], [shop.aftercare], days_ago(100))
    return members


def test_co_purchase_within_the_window_is_scored_by_confidence_and_lift(shop):
    _basket_set(shop)

    signals_learn(before=NOW)

    pair = ItemAssociation.objects.get(item=shop.laser, related=shop.aftercare)
    assert (pair.pair_members, pair.item_members, pair.related_members) == (6, 10, 8)
    assert pair.confidence == pytest.approx(0.6)
    assert pair.lift == pytest.approx(0.6 / (8 / 20))
    # aftercare → laser: only the 3 same-visit members, below the minimum support of 5
    assert not ItemAssociation.objects.filter(item=shop.aftercare, related=shop.laser).exists()


def test_pairs_without_lift_are_not_kept(shop):
    members = [new_member(f"会员{n}") for n in range(6)]
    for member in members:  # everyone buys both: lift exactly 1
        buy(member, [shop.facial, shop.serum], days_ago(50))

    signals_learn(before=NOW)

    assert not ItemAssociation.objects.exists()


def test_popularity_is_per_tier_over_the_recent_period_and_for_everyone(shop):
    members = [new_member(f"会员{n}") for n in range(25)]
    for n, member in enumerate(members):
        buy(member, [shop.facial] if n < 15 else [shop.serum], days_ago(10))
        buy(member, [shop.botox], days_ago(200))  # outside the 90 days
    tier_id = member_current_tier(members[0]).pk

    signals_learn(before=NOW)

    rows = {(row.tier_id, row.item_id): row for row in ItemPopularity.objects.all()}
    assert set(rows) == {(tier_id, shop.facial.pk), (tier_id, shop.serum.pk),
                         (None, shop.facial.pk), (None, shop.serum.pk)}
    assert (rows[tier_id, shop.facial.pk].buyers, rows[tier_id, shop.facial.pk].rank) == (15, 1)
    assert rows[None, shop.serum.pk].share == pytest.approx(10 / 25)


def test_a_tier_with_few_recent_visitors_gets_no_popularity_of_its_own(shop):
    for n in range(5):
        buy(new_member(f"会员{n}"), [shop.facial], days_ago(3))

    signals_learn(before=NOW)

    assert list(ItemPopularity.objects.values_list("tier_id", "item_id", "buyers")) == [(None, shop.facial.pk, 5)]


def test_the_nightly_run_replaces_the_tables_and_records_itself(shop):
    _basket_set(shop)
    recommendations_learn(now=NOW)
    first = sorted(ItemAssociation.objects.values_list("item_id", "related_id", "pair_members"))

    learning = recommendations_learn(now=NOW)

    assert sorted(ItemAssociation.objects.values_list("item_id", "related_id", "pair_members")) == first
    assert Learning.objects.count() == 2
    assert learning.visit_lines == 10 + 8 + 10  # laser, aftercare, facial
    assert learning.associations == len(first)
