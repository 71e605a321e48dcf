import importlib
import re
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from tiers.models import MemberTier, Tier, TierChange
from tiers.selectors import member_current_tier, tier_change_reason_text
from tiers.services import (
    programme_update,
    tier_create,
    tier_delete,
    tier_set_manual,
    tier_update,
    tier_upgrade_check,
    tiers_evaluate,
)
from visits.models import Visit

from .conftest import local

NOW = local(2026, 6, 15)


def state_of(member) -> tuple:
    state = MemberTier.objects.get(member=member)
    return state.tier.name, state.since, state.below_since


def test_an_upgrade_is_immediate_and_recorded_with_reason_metrics_and_actor(member, front_desk, make_visit):
    make_visit(member, "22000", NOW)

    change = tier_upgrade_check(member=member, actor=front_desk, at=NOW, reason="结账升级")

    assert (change.kind, change.from_tier.name, change.to_tier.name) == ("upgrade", "普通", "金卡")
    assert (change.reason, change.actor) == ("结账升级", front_desk)
    assert change.metrics == {"spend": "22000.00", "visits": 1, "window_months": 12,
                              "basis": "spend_or_visits"}
    assert state_of(member) == ("金卡", NOW, None)


def test_the_upgrade_check_never_moves_a_member_down(member, manager, ladder):
    tier_set_manual(member=member, tier=ladder[3], actor=manager, reason="VIP", at=local(2026, 1, 1))

    assert tier_upgrade_check(member=member, actor=None, at=NOW, reason="checkout") is None
    assert member_current_tier(member) == ladder[3]


def test_nothing_is_recorded_when_the_member_stays(member, make_visit):
    make_visit(member, "4999", NOW)

    assert tier_upgrade_check(member=member, actor=None, at=NOW, reason="checkout") is None
    assert not MemberTier.objects.exists() and not TierChange.objects.exists()


@pytest.fixture
def gold_member(member, make_visit):
    """¥22,000 in 3 visits by 15 June 2026; the July 2025 visit drops out on 11 July 2026."""
    make_visit(member, "8000", local(2025, 7, 10))
    make_visit(member, "9000", local(2025, 12, 1))
    make_visit(member, "5000", local(2026, 3, 20))
    tier_upgrade_check(member=member, actor=None, at=NOW, reason="checkout")
    return member


def test_no_downgrade_before_the_grace_period_ends(gold_member):
    first_short = tiers_evaluate(at=local(2026, 7, 11, 3))
    last_day_of_grace = tiers_evaluate(at=local(2026, 8, 9, 3))

    assert first_short["grace_started"] == 1 and first_short["downgraded"] == 0
    assert last_day_of_grace["downgraded"] == 0
    assert state_of(gold_member) == ("金卡", NOW, local(2026, 7, 11, 3))


def test_after_the_grace_period_one_step_down(gold_member):
    tiers_evaluate(at=local(2026, 7, 11, 3))

    counts = tiers_evaluate(at=local(2026, 8, 10, 3))

    assert counts["downgraded"] == 1
    assert state_of(gold_member) == ("银卡", local(2026, 8, 10, 3), None)
    change = TierChange.objects.filter(member=gold_member).first()
    assert (change.kind, change.from_tier.name, change.to_tier.name, change.actor) == (
        "downgrade", "金卡", "银卡", None)
    # The reason as recorded (in the language of the job, English here) names the day as people read it
    assert change.reason == "Below the thresholds of “金卡” since Sat 11 Jul 2026; the 30-day grace period has ended."
    assert change.metrics["spend"] == "14000.00"
    assert (change.metrics["below_since"], change.metrics["grace_days"]) == ("2026-07-11", 30)


def test_a_move_down_reads_in_the_viewers_language_with_the_day_in_its_format(gold_member):
    tiers_evaluate(at=local(2026, 7, 11, 3))
    with translation.override("zh-hans"):
        tiers_evaluate(at=local(2026, 8, 10, 3))  # recorded by a job running in Chinese
    change = TierChange.objects.get(member=gold_member, kind="downgrade")

    with translation.override("en"):
        english = tier_change_reason_text(change)
    with translation.override("zh-hans"):
        chinese = tier_change_reason_text(change)

    assert english == "Below the thresholds of “金卡” since Sat 11 Jul 2026; the 30-day grace period has ended."
    assert chinese == "自 2026年7月11日 周六 起低于“金卡”的等级条件；30 天的宽限期已结束。"
    assert not re.search(r"\d{4}-\d{2}-\d{2}", english + chinese + change.reason)


def test_a_move_down_recorded_before_keeps_reading_and_is_worded_once_migrated(gold_member, ladder):
    old = [TierChange.objects.create(member=gold_member, from_tier=ladder[2], to_tier=ladder[1], kind="downgrade",
                                     reason=reason, metrics={"spend": "14000.00"})
           for reason in ("自 2026-07-11 起低于“金卡”的等级条件；30 天的宽限期已结束。",
                          "Below the thresholds of “金卡” since 2026-07-11; the 45-day grace period has ended.",
                          "moved down by the old system")]
    # Before the migration, the recorded text is shown
    assert tier_change_reason_text(old[0]) == old[0].reason

    importlib.import_module("tiers.migrations.0004_downgrade_reason_facts").forwards(django_apps, None)

    with translation.override("en"):
        texts = [tier_change_reason_text(TierChange.objects.get(pk=change.pk)) for change in old]
    assert texts == ["Below the thresholds of “金卡” since Sat 11 Jul 2026; the 30-day grace period has ended.",
                     "Below the thresholds of “金卡” since Sat 11 Jul 2026; the 45-day grace period has ended.",
                     "moved down by the old system"]


def test_a_new_visit_before_the_downgrade_date_keeps_the_tier(gold_member, make_visit):
    tiers_evaluate(at=local(2026, 7, 11, 3))
    make_visit(gold_member, "6000", local(2026, 8, 1))

    counts = tiers_evaluate(at=local(2026, 8, 10, 3))

    assert counts["grace_cleared"] == 1 and counts["downgraded"] == 0
    assert state_of(gold_member) == ("金卡", NOW, None)


@pytest.fixture
def lapsed_diamond(member, make_visit):
    """Diamond from one ¥50,000 visit on 10 January 2025, which drops out on 11 January 2026."""
    make_visit(member, "50000", local(2025, 1, 10))
    tier_upgrade_check(member=member, actor=None, at=local(2025, 1, 10), reason="checkout")
    tiers_evaluate(at=local(2026, 1, 11, 3))
    return member


def test_one_step_mode_moves_down_one_tier_per_grace_period(lapsed_diamond):
    tiers_evaluate(at=local(2026, 2, 10, 3))
    assert state_of(lapsed_diamond) == ("金卡", local(2026, 2, 10, 3), local(2026, 2, 10, 3))

    tiers_evaluate(at=local(2026, 3, 11, 3))
    assert state_of(lapsed_diamond)[0] == "金卡"

    tiers_evaluate(at=local(2026, 3, 12, 3))
    assert state_of(lapsed_diamond)[0] == "银卡"


def test_matching_mode_moves_down_to_the_tier_the_member_qualifies_for(lapsed_diamond):
    programme_update(downgrade_mode="matching")

    tiers_evaluate(at=local(2026, 2, 10, 3))

    assert state_of(lapsed_diamond) == ("普通", local(2026, 2, 10, 3), None)
    assert list(TierChange.objects.filter(member=lapsed_diamond, kind="downgrade")
                .values_list("from_tier__name", "to_tier__name")) == [("钻石卡", "普通")]


def test_qualifying_again_clears_the_grace_period_without_a_tier_change(lapsed_diamond, make_visit):
    make_visit(lapsed_diamond, "50000", local(2026, 1, 20))
    changes_before = TierChange.objects.count()

    counts = tiers_evaluate(at=local(2026, 1, 21, 3))

    assert counts["grace_cleared"] == 1
    assert state_of(lapsed_diamond) == ("钻石卡", local(2025, 1, 10), None)
    assert TierChange.objects.count() == changes_before


def test_the_evaluation_upgrades_members_from_imported_history(member, make_visit):
    make_visit(member, "20000", local(2025, 11, 1), source=Visit.Source.IMPORT)

    counts = tiers_evaluate(at=NOW)

    assert counts["upgraded"] == 1
    change = TierChange.objects.get(member=member)
    assert (change.kind, change.to_tier.name) == ("upgrade", "金卡")
    assert state_of(member) == ("金卡", NOW, None)


def test_evaluating_twice_changes_nothing_the_second_time(make_member, make_visit, manager, ladder):
    rising, lapsing, due, steady = (make_member() for _ in range(4))
    make_visit(rising, "6000", local(2026, 5, 1), source=Visit.Source.IMPORT)
    tier_set_manual(member=lapsing, tier=ladder[2], actor=manager, reason="试用", at=local(2026, 6, 1))
    tier_set_manual(member=due, tier=ladder[3], actor=manager, reason="试用", at=local(2026, 1, 1))
    MemberTier.objects.filter(member=due).update(below_since=local(2026, 1, 2))
    make_visit(steady, "25000", local(2026, 6, 1))
    tier_upgrade_check(member=steady, actor=None, at=local(2026, 6, 1), reason="checkout")

    first = tiers_evaluate(at=NOW)
    states = sorted(MemberTier.objects.values_list("member_id", "tier_id", "since", "below_since"))
    changes = TierChange.objects.count()
    second = tiers_evaluate(at=NOW)

    assert first == {"evaluated": 4, "upgraded": 1, "downgraded": 1, "grace_started": 1, "grace_cleared": 0}
    assert second == {"evaluated": 4, "upgraded": 0, "downgraded": 0, "grace_started": 0, "grace_cleared": 0}
    assert sorted(MemberTier.objects.values_list("member_id", "tier_id", "since", "below_since")) == states
    assert TierChange.objects.count() == changes


def test_the_evaluation_takes_a_fixed_number_of_queries_however_many_members_move(
        make_member, make_visit, django_assert_max_num_queries):
    for _ in range(40):
        make_visit(make_member(), "20000", local(2026, 5, 1))

    with django_assert_max_num_queries(24, info="12 statements, each after django-tenants' SET search_path"):
        counts = tiers_evaluate(at=NOW)

    assert counts["upgraded"] == 40
    assert MemberTier.objects.filter(tier__name="金卡").count() == 40


def test_archived_members_are_left_alone(member, make_visit):
    make_visit(member, "20000", local(2026, 5, 1))
    member.status = member.Status.ARCHIVED
    member.save()

    assert tiers_evaluate(at=NOW)["evaluated"] == 0
    assert not MemberTier.objects.exists()


def test_a_manual_tier_needs_a_manager_and_a_reason(member, front_desk, manager, ladder):
    with pytest.raises(PermissionDenied):
        tier_set_manual(member=member, tier=ladder[2], actor=front_desk, reason="朋友")
    with pytest.raises(ValidationError) as error:
        tier_set_manual(member=member, tier=ladder[2], actor=manager, reason=" ")
    assert "reason" in error.value.message_dict

    change = tier_set_manual(member=member, tier=ladder[2], actor=manager, reason="老客户回归", at=NOW)

    assert (change.kind, change.from_tier.name, change.to_tier.name, change.actor) == (
        "manual", "普通", "金卡", manager)
    assert state_of(member) == ("金卡", NOW, None)


def test_a_manual_tier_is_kept_through_the_grace_period_like_any_other(member, manager, ladder):
    tier_set_manual(member=member, tier=ladder[1], actor=manager, reason="补录", at=NOW)

    tiers_evaluate(at=local(2026, 6, 16, 3))
    assert state_of(member) == ("银卡", NOW, local(2026, 6, 16, 3))

    tiers_evaluate(at=local(2026, 7, 16, 3))
    assert state_of(member)[0] == "普通"


def test_tiers_must_ask_for_more_as_the_rank_rises(ladder):
    with pytest.raises(ValidationError) as error:
        tier_create(rank=4, name="黑卡", min_spend=Decimal("30000"), min_visits=30)
    assert set(error.value.message_dict) == {"min_spend"}

    with pytest.raises(ValidationError) as error:
        tier_update(tier=ladder[2], min_visits=25)
    assert set(error.value.message_dict) == {"min_visits"}

    with pytest.raises(ValidationError) as error:
        tier_create(rank=3, name="黑卡", min_spend=Decimal("90000"), min_visits=30)
    assert set(error.value.message_dict) == {"rank"}

    with pytest.raises(ValidationError) as error:
        tier_create(rank=4, name="钻石卡", min_spend=Decimal("90000"), min_visits=30)
    assert set(error.value.message_dict) == {"name"}

    assert Tier.objects.count() == 4


def test_the_entry_tier_keeps_rank_0_and_no_thresholds(ladder):
    with pytest.raises(ValidationError) as error:
        tier_update(tier=ladder[0], min_spend=Decimal("100"))
    assert set(error.value.message_dict) == {"min_spend"}

    with pytest.raises(ValidationError):
        tier_update(tier=ladder[0], rank=9)

    with pytest.raises(ValidationError):
        tier_delete(tier=ladder[0])


def test_a_tier_with_members_or_history_cannot_be_deleted_an_unused_one_can(member, manager, ladder):
    tier_set_manual(member=member, tier=ladder[2], actor=manager, reason="VIP", at=NOW)
    tier_set_manual(member=member, tier=ladder[3], actor=manager, reason="VIP", at=NOW)

    with pytest.raises(ValidationError):
        tier_delete(tier=ladder[2])
    tier = tier_create(rank=9, name="黑卡", min_spend=Decimal("100000"), min_visits=40)
    tier_delete(tier=tier)

    assert not Tier.objects.filter(name="黑卡").exists()


def test_a_basis_the_tiers_do_not_fit_is_refused(ladder):
    programme_update(basis="spend")
    tier_update(tier=ladder[2], min_visits=0)

    with pytest.raises(ValidationError) as error:
        programme_update(basis="visits")

    assert set(error.value.message_dict) == {"basis"}
    assert "金卡" in error.value.message_dict["basis"][0]
