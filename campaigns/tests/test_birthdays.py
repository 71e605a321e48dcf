"""Birthday offers: who gets them on which day (clinic time, 29 February, lunar birthdays,
birthday month), what they get, and that they get it once a year."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from lunardate import LunarDate

from campaigns.models import BirthdayGrant, BirthdayOffer
from campaigns.services import birthday_offer_update, birthday_offers_grant
from messaging.models import Message, Purpose
from points.coupons import coupon_issue, coupon_template_create
from points.models import Coupon, CouponTemplate, Entry
from points.selectors import ledger_verify, points_balance


def at_local(day: date, hour: int = 9) -> datetime:
    """`hour` o'clock on `day` in Shanghai (UTC+8), as UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=8)


def grant_on(day: date, hour: int = 9) -> dict[str, int]:
    now = at_local(day, hour)
    with time_machine.travel(now, tick=False):
        return birthday_offers_grant(now=now)


def granted_ids() -> set[int]:
    return set(BirthdayGrant.objects.values_list("member_id", flat=True))


@pytest.fixture
def birthday_coupon(db) -> CouponTemplate:
    return coupon_template_create(name="生日护理券", kind=CouponTemplate.Kind.FIXED, amount=Decimal("200.00"),
                                  valid_days=30)


def test_a_member_gets_points_the_tier_gift_a_coupon_and_a_message_once(make_member, owner, birthday_coupon):
    birthday_offer_update(actor=owner, bonus_points=50, coupon_template=birthday_coupon)
    member = make_member(birthday=date(1990, 6, 15))
    other = make_member("李娜", birthday=date(1990, 6, 16))

    counts = grant_on(date(2026, 6, 15))

    assert counts == {"granted": 1, "points": 150, "coupons": 1, "messages_queued": 1, "messages_skipped": 0}
    grant = BirthdayGrant.objects.get(member=member)
    assert (grant.year, grant.celebrated_on, grant.points) == (2026, date(2026, 6, 15), 150)
    assert points_balance(member).balance == 150  # 50 bonus + 100, the Regular tier's gift
    coupon = Coupon.objects.get(member=member)
    assert (coupon.source, coupon.template, grant.coupon) == (Coupon.Source.BIRTHDAY, birthday_coupon, coupon)
    message = Message.objects.get(member=member, purpose=Purpose.BIRTHDAY_OFFER)
    assert "生日快乐" in message.body and "生日护理券" in message.body and "150" in message.body
    assert message.guard_key == f"birthday:2026:{member.pk}"
    assert not BirthdayGrant.objects.filter(member=other).exists()
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

    assert BirthdayGrant.objects.get(member=member).celebrated_on == date(2026, 6, 15)


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
    assert BirthdayGrant.objects.get(member=leapling).celebrated_on == date(2027, 2, 28)


def test_29_february_is_celebrated_on_the_day_in_leap_years(make_member):
    leapling = make_member(birthday=date(1996, 2, 29))

    assert grant_on(date(2028, 2, 28))["granted"] == 0
    assert grant_on(date(2028, 2, 29))["granted"] == 1
    assert BirthdayGrant.objects.get(member=leapling).celebrated_on == date(2028, 2, 29)


def test_a_lunar_birthday_follows_the_chinese_calendar(make_member):
    # 27 February 1990 was the 3rd day of the 2nd lunar month; in 2026 that day is 21 March.
    lunar = make_member(birthday=date(1990, 2, 27), celebrates_lunar_birthday=True)
    solar = make_member("李娜", birthday=date(1990, 2, 27))
    assert LunarDate(2026, 2, 3).to_solar_date() == date(2026, 3, 21)

    grant_on(date(2026, 2, 27))
    assert granted_ids() == {solar.pk}
    grant_on(date(2026, 3, 21))
    assert granted_ids() == {solar.pk, lunar.pk}
    assert BirthdayGrant.objects.get(member=lunar).lunar is True


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
    birthday_offer_update(actor=owner, timing=BirthdayOffer.Timing.MONTH)
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
    assert not BirthdayGrant.objects.exists()


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
