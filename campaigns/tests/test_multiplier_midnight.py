"""A campaign's points multiplier starts at local midnight of its first day, not when the job gives
the occurrence's offers (10:00 here): a treated member of the segment who checks out at 00:30 on
会员日 earns ×2 before any grant exists; the control group and members outside the segment earn
×1; the window ends at 24:00 local on its last day (23:59 still ×2, 00:00 the day after ×1). The
clinic is in Shanghai (UTC+8), so local midnight is 16:00 UTC the day before."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine

from campaigns.models import Campaign, CampaignGrant, CampaignMultiplierUse
from campaigns.services import birthday_offers_grant
from campaigns.tests.helpers import at_local, launch_at, make_campaign, run_at
from campaigns.tests.test_multiplier import buy
from points.selectors import ledger_verify
from segments.services import segment_create

DAY = date(2026, 6, 8)  # the 8th: the clinic's 会员日
BASE = 500  # ¥500 at 1 point per yuan


def member_day_launched_before(owner, *, holdout_percent: int = 0, segment=None, validity_days: int = 1):
    """Launched the day before; its first occurrence (8 June) is given by the job at 10:00."""
    campaign = make_campaign(owner, starts_on=DAY, ends_on=date(2026, 12, 31), schedule=Campaign.Schedule.MONTHLY,
                             day=8, validity_days=validity_days, points_multiplier=Decimal("2"),
                             holdout_percent=holdout_percent, segment=segment)
    return launch_at(campaign, owner, at_local(DAY - timedelta(days=1), 15))


def test_local_midnight_is_16_00_utc_the_day_before():
    assert at_local(DAY, 0, 30) == datetime(2026, 6, 7, 16, 30, tzinfo=UTC)


def test_a_treated_member_earns_double_from_00_30_before_the_job_ran(owner, front_desk, make_member, cream, rules):
    member = make_member("王会员")
    campaign = member_day_launched_before(owner)

    early = buy(member, cream, front_desk, at_local(DAY, 0, 30))

    assert not CampaignGrant.objects.filter(campaign=campaign).exists()  # the job has not run yet
    assert early.points_earned == 2 * BASE
    use = CampaignMultiplierUse.objects.get(visit=early.visit)
    assert (use.campaign, use.occurrence, use.grant, use.points) == (campaign, DAY, None, BASE)
    run_at(at_local(DAY, 10))
    grant = CampaignGrant.objects.get(campaign=campaign, member=member)
    assert grant.valid_from == at_local(DAY, 0)  # the window the checkout used, now on the grant
    late = buy(member, cream, front_desk, at_local(DAY, 23, 59))
    after = buy(member, cream, front_desk, at_local(DAY + timedelta(days=1), 0))
    assert (late.points_earned, after.points_earned) == (2 * BASE, BASE)
    assert CampaignMultiplierUse.objects.get(visit=late.visit).grant == grant
    assert ledger_verify() == []


def test_the_last_day_counts_to_23_59_and_not_to_00_00_the_day_after(owner, front_desk, make_member, cream, rules):
    member = make_member("王会员")
    member_day_launched_before(owner, validity_days=2)  # 8 and 9 June; the job never runs here

    last_minute = buy(member, cream, front_desk, at_local(DAY + timedelta(days=1), 23, 59))
    day_after = buy(member, cream, front_desk, at_local(DAY + timedelta(days=2), 0))
    day_before = buy(member, cream, front_desk, at_local(DAY - timedelta(days=1), 23, 59))

    assert [last_minute.points_earned, day_after.points_earned, day_before.points_earned] == [2 * BASE, BASE, BASE]


def test_control_group_and_members_outside_the_segment_earn_single(owner, front_desk, make_member, cream, rules):
    vips = [make_member(f"贵宾{n}", tags=["vip"]) for n in range(6)]
    outsider = make_member("路人")
    segment = segment_create(actor=owner, name="VIP", conditions={"all": [{"kind": "tag", "tags": ["vip"]}]})
    campaign = member_day_launched_before(owner, holdout_percent=50, segment=segment)
    groups = dict(campaign.audience.values_list("member_id", "group"))
    control = [m for m in vips if groups[m.pk] == "control"]
    treated = [m for m in vips if groups[m.pk] == "treated"]
    assert control and treated and outsider.pk not in groups

    at = at_local(DAY, 0, 30)
    assert buy(control[0], cream, front_desk, at).points_earned == BASE
    assert buy(outsider, cream, front_desk, at).points_earned == BASE
    assert buy(treated[0], cream, front_desk, at).points_earned == 2 * BASE
    run_at(at_local(DAY, 10))
    assert set(CampaignGrant.objects.filter(campaign=campaign).values_list("member_id", flat=True)) == {
        m.pk for m in treated}  # the job gives it to the same members
    assert buy(control[1] if len(control) > 1 else control[0], cream, front_desk, at_local(DAY, 12)).points_earned \
        == BASE


@pytest.mark.parametrize("status", ["draft", "cancelled"])
def test_a_draft_or_cancelled_campaign_multiplies_nothing_at_00_30(owner, front_desk, make_member, cream, rules,
                                                                   status):
    member = make_member("王会员")
    campaign = member_day_launched_before(owner)
    Campaign.objects.filter(pk=campaign.pk).update(status=status)

    assert buy(member, cream, front_desk, at_local(DAY, 0, 30)).points_earned == BASE


def test_a_checkout_without_an_open_window_adds_one_query(owner, front_desk, make_member, cream, rules,
                                                          django_assert_max_num_queries):
    from campaigns.selectors import campaign_multiplier_for

    member = make_member("王会员")
    member_day_launched_before(owner)
    with django_assert_max_num_queries(2, info="the grants, the multiplier campaigns"):
        assert campaign_multiplier_for(member=member, at=at_local(DAY + timedelta(days=3), 12)) is None


def test_a_birthday_multiplier_counts_from_local_midnight_of_the_birthday(owner, front_desk, make_member, cream,
                                                                           rules):
    from campaigns.campaign_services import campaign_cancel, campaign_create
    from campaigns.services import birthday_campaign

    # The clinic's own birthday campaign makes way for one that doubles points, given at 10:00.
    campaign_cancel(campaign=birthday_campaign(), actor=owner)
    campaign = campaign_create(actor=owner, name="生日双倍积分", starts_on=date(2026, 6, 1), schedule="birthday",
                               send_time=time(10, 0), validity_days=7, points_multiplier=Decimal("2"),
                               holdout_percent=0)
    launch_at(campaign, owner, at_local(date(2026, 6, 1), 8))
    birthday = make_member("寿星", birthday=date(1990, DAY.month, DAY.day))
    other = make_member("平日", birthday=date(1990, 1, 20))

    # Before the job gives the day's offers: the member celebrating today earns double from 00:30,
    # the other member single; the day before her birthday she earns single too.
    assert buy(birthday, cream, front_desk, at_local(DAY - timedelta(days=1), 23, 59)).points_earned == BASE
    early = buy(birthday, cream, front_desk, at_local(DAY, 0, 30))
    assert early.points_earned == 2 * BASE and not CampaignGrant.objects.filter(campaign=campaign).exists()
    assert buy(other, cream, front_desk, at_local(DAY, 0, 30)).points_earned == BASE
    # Once given this year, the grant holds it: a year's second celebration gets nothing more.
    with time_machine.travel(at_local(DAY, 10), tick=False):
        birthday_offers_grant(now=at_local(DAY, 10))
    grant = CampaignGrant.objects.get(campaign=campaign, member=birthday)
    assert grant.birthday_year == DAY.year
    assert buy(birthday, cream, front_desk, at_local(DAY, 23, 0)).points_earned == 2 * BASE
    assert ledger_verify() == []


def triggered_launched(owner, schedule, *, trigger_days: int, holdout_percent: int = 0):
    """A triggered campaign doubling points for 3 days from the member's day, given at 10:00."""
    campaign = make_campaign(owner, name="新客回访", starts_on=date(2026, 5, 1), ends_on=date(2026, 12, 31),
                             schedule=schedule, trigger_days=trigger_days, validity_days=3,
                             points_multiplier=Decimal("2"), holdout_percent=holdout_percent)
    return launch_at(campaign, owner, at_local(date(2026, 5, 1), 8))


def test_a_new_member_follow_up_multiplier_counts_from_local_midnight_of_her_day(owner, front_desk, make_member,
                                                                                cream, rules):
    member = make_member("新客")
    campaign = triggered_launched(owner, Campaign.Schedule.AFTER_FIRST_VISIT, trigger_days=7)
    first = DAY - timedelta(days=7)
    assert buy(member, cream, front_desk, at_local(first, 15)).points_earned == BASE  # the event itself
    assert buy(member, cream, front_desk, at_local(DAY - timedelta(days=1), 23, 59)).points_earned == BASE

    early = buy(member, cream, front_desk, at_local(DAY, 0, 30))  # 7 days after, before the 10:00 run

    assert early.points_earned == 2 * BASE and not CampaignGrant.objects.filter(campaign=campaign).exists()
    use = CampaignMultiplierUse.objects.get(visit=early.visit)
    assert (use.campaign, use.occurrence, use.grant) == (campaign, DAY, None)
    run_at(at_local(DAY, 10))
    grant = CampaignGrant.objects.get(campaign=campaign, member=member)
    assert (grant.occurrence, grant.valid_from) == (DAY, at_local(DAY, 0))
    last = buy(member, cream, front_desk, at_local(DAY + timedelta(days=2), 23, 59))
    after = buy(member, cream, front_desk, at_local(DAY + timedelta(days=3), 0))
    assert (last.points_earned, after.points_earned) == (2 * BASE, BASE)
    assert CampaignMultiplierUse.objects.get(visit=last.visit).grant == grant
    assert ledger_verify() == []


def test_a_win_back_multiplier_counts_from_local_midnight_of_the_members_day(owner, front_desk, make_member, cream,
                                                                           rules):
    from insights.selectors import insights_settings

    dormant_after = insights_settings().active_days
    sleeper, regular = make_member("沉睡"), make_member("常客")
    campaign = triggered_launched(owner, Campaign.Schedule.AFTER_DORMANT, trigger_days=0)
    last_visit = DAY - timedelta(days=dormant_after)
    buy(sleeper, cream, front_desk, at_local(last_visit, 15))
    buy(regular, cream, front_desk, at_local(last_visit, 15))
    buy(regular, cream, front_desk, at_local(DAY - timedelta(days=1), 15))  # she came back: not dormant

    assert buy(sleeper, cream, front_desk, at_local(DAY, 0, 30)).points_earned == 2 * BASE
    assert buy(regular, cream, front_desk, at_local(DAY, 0, 30)).points_earned == BASE
    # The sleeper's visit at 00:30 woke her: the 10:00 run gives nobody the offer, and her day
    # moved on, so her next checkout earns single.
    run_at(at_local(DAY, 10))
    assert not CampaignGrant.objects.filter(campaign=campaign).exists()
    assert buy(sleeper, cream, front_desk, at_local(DAY, 12)).points_earned == BASE


def test_a_triggered_campaigns_control_group_earns_single_from_midnight(owner, front_desk, make_member, cream, rules):
    members = [make_member(f"新客{n}") for n in range(16)]
    campaign = triggered_launched(owner, Campaign.Schedule.AFTER_FIRST_VISIT, trigger_days=7, holdout_percent=50)
    for member in members:
        buy(member, cream, front_desk, at_local(DAY - timedelta(days=7), 15))

    earned = {m.pk: buy(m, cream, front_desk, at_local(DAY, 0, 30)).points_earned for m in members}
    run_at(at_local(DAY, 10))

    treated = set(CampaignGrant.objects.filter(campaign=campaign, offer=True).values_list("member_id", flat=True))
    assert treated and len(treated) < len(members)  # 50 % held out by the campaign's seed
    assert {pk for pk, points in earned.items() if points == 2 * BASE} == treated
