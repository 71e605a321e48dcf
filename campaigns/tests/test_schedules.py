"""Occurrences of recurring campaigns: lunar dates by the Chinese calendar, month ends, member day."""

from datetime import date

import pytest

from campaigns.models import Campaign
from campaigns.schedules import lunar_to_solar, occurrences_between


def campaign(**fields) -> Campaign:
    return Campaign(name="x", starts_on=fields.pop("starts_on", date(2026, 1, 1)), **fields)


def test_spring_festival_2027_falls_on_6_february():
    spring = campaign(schedule=Campaign.Schedule.YEARLY_LUNAR, month=1, day=1, ends_on=date(2028, 12, 31))
    assert occurrences_between(spring, date(2026, 1, 1), date(2028, 12, 31)) == [
        date(2026, 2, 17), date(2027, 2, 6), date(2028, 1, 26)]


def test_mid_autumn_by_the_lunar_calendar():
    mid_autumn = campaign(schedule=Campaign.Schedule.YEARLY_LUNAR, month=8, day=15, ends_on=date(2027, 12, 31))
    assert occurrences_between(mid_autumn, date(2026, 1, 1), date(2027, 12, 31)) == [
        date(2026, 9, 25), date(2027, 9, 15)]


def test_a_lunar_30th_falls_on_the_29th_of_a_short_month():
    # Lunar 2026/12 has 29 days: 除夕 is the 29th.
    assert lunar_to_solar(2026, 12, 30) == lunar_to_solar(2026, 12, 29)


@pytest.mark.parametrize(("day", "expected"), [
    (8, [date(2026, 1, 8), date(2026, 2, 8), date(2026, 3, 8)]),
    (31, [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]),
])
def test_member_day_every_month(day, expected):
    member_day = campaign(schedule=Campaign.Schedule.MONTHLY, day=day, ends_on=date(2026, 3, 31))
    assert occurrences_between(member_day, date(2025, 12, 1), date(2026, 12, 31)) == expected


def test_yearly_solar_and_once():
    women = campaign(schedule=Campaign.Schedule.YEARLY, month=3, day=8, ends_on=date(2027, 3, 7))
    assert occurrences_between(women, date(2026, 1, 1), date(2030, 1, 1)) == [date(2026, 3, 8)]
    once = campaign(schedule=Campaign.Schedule.ONCE, starts_on=date(2026, 5, 20))
    assert occurrences_between(once, date(2026, 5, 1), date(2026, 5, 31)) == [date(2026, 5, 20)]
    assert occurrences_between(once, date(2026, 5, 21), date(2026, 5, 31)) == []
