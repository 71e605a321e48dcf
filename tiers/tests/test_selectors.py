from datetime import date, timedelta
from decimal import Decimal

import pytest

from tiers.models import MemberTier, TierProgramme
from tiers.selectors import (
    TierMetrics,
    member_current_tier,
    member_tier_metrics,
    tier_progress,
    tier_qualified,
    tier_retention,
    visit_drops_out_on,
    window_first_day,
)
from tiers.services import programme_update, tier_upgrade_check
from visits.models import Visit

from .conftest import local

NOW = local(2026, 6, 15)


def test_spend_is_net_of_refunds_and_a_fully_refunded_visit_is_not_a_visit(member, make_visit):
    make_visit(member, "6000", local(2026, 3, 20), refunded="1000")
    make_visit(member, "3000", local(2026, 5, 1), refunded="3000")
    make_visit(member, "0", local(2026, 5, 2))

    assert member_tier_metrics(member, NOW) == TierMetrics(Decimal("5000.00"), 1)


def test_imported_history_counts_like_checkouts(member, make_visit):
    make_visit(member, "2000", local(2026, 1, 5), source=Visit.Source.IMPORT)
    make_visit(member, "1000", local(2026, 2, 5))

    assert member_tier_metrics(member, NOW) == TierMetrics(Decimal("3000.00"), 2)


def test_the_window_starts_at_clinic_local_midnight_n_months_back(member, make_visit):
    make_visit(member, "100", local(2025, 6, 14, 23, 30))
    make_visit(member, "200", local(2025, 6, 15, 0, 30))
    make_visit(member, "400", local(2026, 6, 15, 18))

    assert member_tier_metrics(member, NOW) == TierMetrics(Decimal("200.00"), 1)


def test_a_lifetime_programme_counts_the_whole_history(member, make_visit):
    make_visit(member, "100", local(2019, 1, 1))
    make_visit(member, "200", local(2026, 1, 1))
    programme_update(window_months=0)

    assert member_tier_metrics(member, NOW) == TierMetrics(Decimal("300.00"), 2)


@pytest.mark.parametrize(("basis", "spend", "visits", "expected"), [
    ("spend", "6000", 2, "银卡"),
    ("visits", "6000", 2, "普通"),
    ("spend_or_visits", "6000", 2, "银卡"),
    ("spend_and_visits", "6000", 2, "普通"),
    ("spend", "3000", 12, "普通"),
    ("visits", "3000", 12, "金卡"),
    ("spend_or_visits", "3000", 12, "金卡"),
    ("spend_and_visits", "25000", 5, "银卡"),
    ("spend_and_visits", "50000", 20, "钻石卡"),
])
def test_the_highest_tier_whose_thresholds_are_met_on_the_basis(ladder, basis, spend, visits, expected):
    programme = TierProgramme(basis=basis)

    tier = tier_qualified(TierMetrics(Decimal(spend), visits), programme=programme)

    assert tier.name == expected


def test_a_member_who_never_moved_is_in_the_entry_tier(member, ladder, make_visit):
    assert member_current_tier(member) == ladder[0]

    make_visit(member, "5000", NOW)
    tier_upgrade_check(member=member, actor=None, at=NOW, reason="checkout")

    assert member_current_tier(member) == ladder[1]


@pytest.mark.parametrize("months", [1, 12])
def test_a_visit_drops_out_of_the_window_the_day_after_its_n_month_anniversary(months):
    programme = TierProgramme(window_months=months)
    day = date(2027, 1, 1)
    while day < date(2028, 1, 1):
        drop = visit_drops_out_on(programme=programme, visited_on=day)
        assert window_first_day(programme=programme, on=drop - timedelta(days=1)) <= day
        assert window_first_day(programme=programme, on=drop) > day
        day += timedelta(days=1)


def test_month_ends_in_the_window():
    programme = TierProgramme(window_months=12)

    assert visit_drops_out_on(programme=programme, visited_on=date(2027, 2, 28)) == date(2028, 2, 29)
    assert window_first_day(programme=programme, on=date(2028, 2, 29)) == date(2027, 3, 1)
    assert window_first_day(programme=programme, on=date(2028, 2, 28)) == date(2027, 2, 28)


@pytest.fixture
def gold_member(member, make_visit):
    """The worked example in docs/tiers.md: ¥22,000 over 3 visits in the last 12 months."""
    make_visit(member, "10000", local(2025, 6, 14, 20))
    make_visit(member, "8000", local(2025, 7, 10))
    make_visit(member, "9000", local(2025, 12, 1))
    make_visit(member, "6000", local(2026, 3, 20), refunded="1000")
    make_visit(member, "3000", local(2026, 5, 1), refunded="3000")
    tier_upgrade_check(member=member, actor=None, at=NOW, reason="checkout")
    return member


def test_progress_to_the_next_tier(gold_member):
    progress = tier_progress(gold_member, NOW)

    assert progress.tier.name == "金卡"
    assert progress.metrics == TierMetrics(Decimal("22000.00"), 3)
    assert progress.next_tier.name == "钻石卡"
    assert progress.spend_needed == Decimal("28000.00")
    assert progress.visits_needed == 17


def test_retention_says_when_spend_falls_out_of_the_window_and_what_keeps_the_tier(gold_member):
    retention = tier_retention(gold_member, NOW)

    assert retention.qualifies_now is True
    assert retention.falls_short_on == date(2026, 7, 11)
    assert retention.downgrade_on == date(2026, 8, 10)
    assert retention.spend_needed == Decimal("6000.00")
    assert retention.visits_needed == 8


def test_retention_on_the_spend_basis_names_no_visits(gold_member):
    programme_update(basis="spend")

    retention = tier_retention(gold_member, NOW)

    assert (retention.falls_short_on, retention.spend_needed, retention.visits_needed) == (
        date(2026, 7, 11), Decimal("6000.00"), None)


def test_retention_of_a_member_already_short_counts_grace_from_when_they_fell_short(gold_member):
    MemberTier.objects.filter(member=gold_member).update(below_since=local(2026, 6, 20, 3))

    retention = tier_retention(gold_member, local(2026, 7, 20))

    assert retention.qualifies_now is False
    assert retention.falls_short_on == date(2026, 6, 20)
    assert retention.downgrade_on == date(2026, 7, 20)
    assert retention.spend_needed == Decimal("6000.00")


def test_with_a_lifetime_window_a_qualifying_member_never_falls_short(gold_member):
    programme_update(window_months=0)

    retention = tier_retention(gold_member, NOW)

    assert (retention.falls_short_on, retention.downgrade_on, retention.spend_needed) == (None, None, None)


def test_the_entry_tier_needs_nothing_to_keep(member, ladder):
    retention = tier_retention(member, NOW)
    progress = tier_progress(member, NOW)

    assert retention.tier == ladder[0]
    assert retention.downgrade_on is None
    assert progress.next_tier == ladder[1]
    assert (progress.spend_needed, progress.visits_needed) == (Decimal(5000), 4)
