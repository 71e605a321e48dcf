"""Birthday offers, given by the clinic's birthday campaign (schedule `birthday`) through the
campaign running code: who gets them on which day (clinic time, 29 February, lunar birthdays,
birthday month), what they get, and that they get it once a year."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from lunardate import LunarDate

from campaigns.models import Campaign, CampaignGrant
from campaigns.services import birthday_campaign, birthday_offer_update, birthday_offers_grant
from messaging.models import Message, Purpose
from points.coupons import coupon_issue, coupon_template_create
from points.models import Coupon, CouponTemplate, Entry
from points.selectors import ledger_verify, points_balance


def at_local(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """`hour` o'clock on `day` in Shanghai (UTC+8), as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def grant_on(day: date, hour: int = 9, minute: int = 0) -> dict[str, int]:
    now = at_local(day, hour, minute)
    with time_machine.travel(now, tick=False):
        return birthday_offers_grant(now=now)


def granted_ids() -> set[int]:
    return set(CampaignGrant.objects.filter(birthday_year__isnull=False).values_list("member_id", flat=True))


def grant_of(member) -> CampaignGrant:
    return CampaignGrant.objects.get(member=member, birthday_year__isnull=False)


@pytest.fixture(autouse=True)
def birthday_campaign_since_2020(db):
    """The clinic's birthday campaign (installed with the clinic, launched today) as if launched in
    2020, sent from 00:00, so the tests can travel to any day of 2026–2028."""
    Campaign.objects.filter(schedule=Campaign.Schedule.BIRTHDAY).update(
        starts_on=date(2020, 1, 1), launched_at=datetime(2020, 1, 1, tzinfo=UTC), send_time=time(0))


@pytest.fixture
def birthday_coupon(db) -> CouponTemplate:
    return coupon_template_create(name="生日护理券", kind=CouponTemplate.Kind.FIXED, amount=Decimal("200.00"),
                                  valid_days=30)


def test_a_member_gets_points_the_tier_gift_a_coupon_and_a_message_once(make_member, owner, birthday_coupon):
    birthday_offer_update(actor=owner, bonus_points=50, coupon_template=birthday_coupon)
    member = make_member(birthday=date(1990, 6, 15))
    other = make_member("李娜", birthday=date(1990, 6, 16))

    counts = grant_on(date(2026, 6, 15))

    assert {k: counts[k] for k in ("granted", "points", "coupons", "messages_queued", "messages_skipped")} == {
        "granted": 1, "points": 150, "coupons": 1, "messages_queued": 1, "messages_skipped": 0}
    grant = grant_of(member)
    campaign = birthday_campaign()
    assert (grant.campaign, grant.birthday_year, grant.occurrence, grant.points) == (
        campaign, 2026, date(2026, 6, 15), 150)
    assert points_balance(member).balance == 150  # 50 bonus + 100, the Regular tier's gift
    coupon = Coupon.objects.get(member=member)
    assert (coupon.source, coupon.template, grant.coupon) == (Coupon.Source.BIRTHDAY, birthday_coupon, coupon)
    message = Message.objects.get(member=member, purpose=Purpose.BIRTHDAY_OFFER)
    assert "生日快乐" in message.body and "生日护理券" in message.body and "150" in message.body
    assert message.guard_key == f"campaign:{campaign.pk}:2026-06-15:{member.pk}:birthday"
    assert Entry.objects.get(account__member=member).dedupe_key == f"birthday:2026:{member.pk}"
    assert not CampaignGrant.objects.filter(member=other).exists()
    assert ledger_verify() == []


def test_running_again_the_same_day_or_later_that_year_changes_nothing(make_member, owner, birthday_coupon):
    birthday_offer_update(actor=owner, coupon_template=birthday_coupon)
    make_member(birthday=date(1990, 6, 15))
    grant_on(date(2026, 6, 15))
    before = (Entry.objects.count(), Coupon.objects.count(), Message.objects.count())

    again = grant_on(date(2026, 6, 15), hour=11)
    next_day = grant_on(date(2026, 6, 16))

    assert again["granted"] == next_day["granted"] == 0
    assert (Entry.objects.count(), Coupon.objects.count(), Message.objects.count()) == before


def test_a_missed_morning_is_caught_up_on_the_next_days(make_member):
    member = make_member(birthday=date(1990, 6, 15))

    grant_on(date(2026, 6, 17))

    assert grant_of(member).occurrence == date(2026, 6, 15)


def test_the_day_is_the_clinics_not_utcs(make_member):
    member = make_member(birthday=date(1990, 6, 15))

    # 23:30 on 14 June in Shanghai is already 15:30 UTC on the 14th: not yet the birthday.
    assert grant_on(date(2026, 6, 14), hour=23)["granted"] == 0
    # 00:30 on 15 June in Shanghai is still 14 June in UTC: the birthday has begun.
    assert grant_on(date(2026, 6, 15), hour=0)["granted"] == 1
    assert granted_ids() == {member.pk}


def test_29_february_is_celebrated_on_28_february_in_common_years(make_member):
    leapling = make_member(birthday=date(1996, 2, 29))

    assert grant_on(date(2027, 2, 27))["granted"] == 0
    assert grant_on(date(2027, 2, 28))["granted"] == 1
    assert grant_of(leapling).occurrence == date(2027, 2, 28)


def test_29_february_is_celebrated_on_the_day_in_leap_years(make_member):
    leapling = make_member(birthday=date(1996, 2, 29))

    assert grant_on(date(2028, 2, 28))["granted"] == 0
    assert grant_on(date(2028, 2, 29))["granted"] == 1
    assert grant_of(leapling).occurrence == date(2028, 2, 29)


def test_a_lunar_birthday_follows_the_chinese_calendar(make_member):
    # 27 February 1990 was the 3rd day of the 2nd lunar month; in 2026 that day is 21 March.
    lunar = make_member(birthday=date(1990, 2, 27), celebrates_lunar_birthday=True)
    solar = make_member("李娜", birthday=date(1990, 2, 27))
    assert LunarDate(2026, 2, 3).to_solar_date() == date(2026, 3, 21)

    grant_on(date(2026, 2, 27))
    assert granted_ids() == {solar.pk}
    grant_on(date(2026, 3, 21))
    assert granted_ids() == {solar.pk, lunar.pk}
    assert grant_of(lunar).lunar is True


def test_a_lunar_30th_is_celebrated_on_the_29th_when_the_month_is_short(make_member):
    born = LunarDate(1989, 4, 30).to_solar_date()  # the 4th month of 1989 had 30 days
    lunar = make_member(birthday=born, celebrates_lunar_birthday=True)
    short_month_end = LunarDate(2026, 4, 29).to_solar_date()
    with pytest.raises(ValueError):
        LunarDate(2026, 4, 30).to_solar_date()  # the 4th month of 2026 has 29

    grant_on(short_month_end - timedelta(days=1))
    assert granted_ids() == set()
    grant_on(short_month_end)
    assert granted_ids() == {lunar.pk}


def test_in_birthday_month_mode_everyone_born_that_month_gets_it_on_the_first(make_member, owner):
    birthday_offer_update(actor=owner, timing="month")
    early = make_member(birthday=date(1990, 7, 3))
    late = make_member("李娜", birthday=date(1985, 7, 31))
    make_member("王芳", birthday=date(1985, 8, 1))

    assert grant_on(date(2026, 6, 30))["granted"] == 0
    assert grant_on(date(2026, 7, 1))["granted"] == 2
    assert granted_ids() == {early.pk, late.pk}


def test_without_marketing_consent_the_gift_is_given_and_the_message_skipped(make_member):
    member = make_member(birthday=date(1990, 6, 15), consents=())

    counts = grant_on(date(2026, 6, 15))

    assert (counts["granted"], counts["messages_skipped"]) == (1, 1)
    assert Message.objects.get(member=member).skip_reason == Message.SkipReason.NO_CONSENT
    assert points_balance(member).balance == 100


def test_a_disabled_offer_gives_nothing(make_member, owner):
    birthday_offer_update(actor=owner, enabled=False)
    make_member(birthday=date(1990, 6, 15))

    assert grant_on(date(2026, 6, 15))["granted"] == 0
    assert not CampaignGrant.objects.exists()
    assert birthday_campaign().status == Campaign.Status.CANCELLED


def test_batches_give_everyone_exactly_once(make_member):
    members = [make_member(f"会员{n}", birthday=date(1990, 6, 15)) for n in range(7)]
    now = at_local(date(2026, 6, 15))

    with time_machine.travel(now, tick=False):
        counts = birthday_offers_grant(now=now, batch_size=3)

    assert counts["granted"] == 7
    assert granted_ids() == {member.pk for member in members}
    assert Entry.objects.filter(source_type="birthday").count() == 7


def test_birthday_coupons_stop_at_the_templates_total_limit_and_the_points_still_come(make_member, owner):
    # Given a birthday coupon of which 2 may be issued in all, one already out
    limited = coupon_template_create(name="限量生日券", kind=CouponTemplate.Kind.FIXED, amount=Decimal("100.00"),
                                     valid_days=30, total_limit=2)
    birthday_offer_update(actor=owner, bonus_points=50, coupon_template=limited)
    earlier = make_member("早到的人", birthday=date(1990, 1, 1))

    coupon_issue(member=earlier, template=limited, source=Coupon.Source.MANUAL, actor=owner)
    members = [make_member(f"寿星{n}", birthday=date(1990, 6, 15)) for n in range(3)]
    # When three members celebrate the same day
    counts = grant_on(date(2026, 6, 15))
    # Then one coupon is left for them, every one of them gets the points, and the count is right
    assert counts["granted"] == 3 and counts["coupons"] == 1
    assert Coupon.objects.filter(template=limited, source=Coupon.Source.BIRTHDAY).count() == 1
    limited.refresh_from_db()
    assert limited.issued_count == 2
    assert all(points_balance(member).balance == 150 for member in members)
    assert ledger_verify() == []


# The birthday offer as a campaign -------------------------------------------------------------


def test_the_offer_is_given_at_the_campaigns_send_time_in_the_clinics_zone(make_member):
    Campaign.objects.filter(schedule=Campaign.Schedule.BIRTHDAY).update(send_time=time(9, 0))
    member = make_member(birthday=date(1990, 6, 15))

    assert grant_on(date(2026, 6, 15), hour=8, minute=59)["granted"] == 0
    assert grant_on(date(2026, 6, 15), hour=9)["granted"] == 1
    assert granted_ids() == {member.pk}


def test_quiet_hours_and_the_weekly_cap_skip_the_message_not_the_gift(make_member, owner):
    from messaging.services import messaging_settings_update

    messaging_settings_update(actor=owner, quiet_hours_start=time(8), quiet_hours_end=time(10))
    quiet = make_member(birthday=date(1990, 6, 15))
    counts = grant_on(date(2026, 6, 15), hour=9)
    messaging_settings_update(actor=owner, quiet_hours_start=time(0), quiet_hours_end=time(0),
                              marketing_weekly_cap=0)
    capped = make_member("李娜", birthday=date(1990, 6, 16))
    grant_on(date(2026, 6, 16), hour=9)

    assert (counts["granted"], counts["messages_skipped"]) == (1, 1)
    assert Message.objects.get(member=quiet).skip_reason == Message.SkipReason.QUIET_HOURS
    assert Message.objects.get(member=capped).skip_reason == Message.SkipReason.WEEKLY_CAP
    assert points_balance(quiet).balance == points_balance(capped).balance == 100


def _new_birthday_campaign(owner, **fields):
    from campaigns.campaign_services import campaign_cancel, campaign_create, campaign_launch

    campaign_cancel(campaign=birthday_campaign(), actor=owner)
    campaign = campaign_create(actor=owner, name="生日礼", starts_on=date(2026, 6, 1), schedule="birthday",
                               send_time=time(0), validity_days=7, tier_gift=True, max_grants_per_member=100,
                               **fields)
    when = at_local(date(2026, 6, 1), 8)
    with time_machine.travel(when, tick=False):
        return campaign_launch(campaign=campaign, actor=owner, now=when)


def test_the_control_group_gets_nothing_and_the_treated_the_offer(make_member, owner):
    members = [make_member(f"寿星{n}", birthday=date(1990, 6, 15)) for n in range(8)]
    campaign = _new_birthday_campaign(owner, holdout_percent=50, bonus_points=10,
                                      messages={"sms": {"body": "【{clinic}】{name}生日快乐！送您{points}积分。"}})
    groups = dict(campaign.audience.values_list("member_id", "group"))
    treated = {m.pk for m in members if groups[m.pk] == "treated"}
    control = {m.pk for m in members if groups[m.pk] == "control"}
    assert len(control) == 4 and len(treated) == 4  # stratified: half of the one tier

    grant_on(date(2026, 6, 15))

    assert granted_ids() == treated
    assert not Message.objects.filter(member_id__in=control).exists()
    assert not Entry.objects.filter(account__member_id__in=control).exclude(kind="earn").filter(
        source_type="birthday").exists()
    texts = Message.objects.filter(member_id__in=treated, purpose=Purpose.BIRTHDAY_OFFER)
    assert texts.count() == 4 and all("110积分" in m.body and m.body.endswith("回复TD退订") for m in texts)


def test_the_points_budget_counts_the_tiers_gift_too(make_member, owner):
    members = [make_member(f"寿星{n}", birthday=date(1990, 6, 15)) for n in range(3)]
    _new_birthday_campaign(owner, holdout_percent=0, bonus_points=50, budget_points=300)

    counts = grant_on(date(2026, 6, 15))

    # 50 + the Regular tier's 100 = 150 each: the budget of 300 covers two members
    assert (counts["granted"], counts["points"]) == (3, 300)
    assert sorted(points_balance(m).balance for m in members) == [0, 150, 150]


def test_once_a_year_over_every_birthday_campaign(make_member, owner):
    member = make_member(birthday=date(1990, 6, 15))
    grant_on(date(2026, 6, 15))
    first = birthday_campaign()

    birthday_offer_update(actor=owner, enabled=False)
    with time_machine.travel(at_local(date(2026, 6, 15), 12), tick=False):
        birthday_offer_update(actor=owner, enabled=True, bonus_points=500)
    second = birthday_campaign()
    Campaign.objects.filter(pk=second.pk).update(send_time=time(0))

    assert second.pk != first.pk and second.status == Campaign.Status.SCHEDULED
    assert grant_on(date(2026, 6, 16))["granted"] == 0  # catches up the 15th: given already this year
    assert grant_on(date(2027, 6, 15))["granted"] == 1
    assert list(CampaignGrant.objects.filter(member=member).order_by("birthday_year").values_list(
        "campaign_id", "birthday_year", "points")) == [(first.pk, 2026, 100), (second.pk, 2027, 600)]


def test_a_change_of_the_running_campaign_is_recorded_with_before_and_after(owner):
    birthday_offer_update(actor=owner, bonus_points=88, timing="month")

    campaign = birthday_campaign()
    event = campaign.events.filter(kind="changed").latest("id")
    assert (campaign.bonus_points, campaign.birthday_timing, campaign.validity_days) == (88, "month", 30)
    assert event.actor == owner and event.detail["before"]["bonus_points"] == "0"
    assert event.detail["after"] == {"bonus_points": "88", "birthday_timing": "month", "validity_days": "30"}


def test_a_second_birthday_campaign_cannot_launch_while_one_runs(owner):
    from django.core.exceptions import ValidationError

    from campaigns.campaign_services import campaign_create, campaign_launch

    draft = campaign_create(actor=owner, name="又一个生日", starts_on=date(2026, 12, 31), schedule="birthday",
                            bonus_points=10)
    with pytest.raises(ValidationError) as error:
        campaign_launch(campaign=draft, actor=owner)

    assert "schedule" in error.value.message_dict
    assert Campaign.objects.get(pk=draft.pk).status == Campaign.Status.DRAFT
