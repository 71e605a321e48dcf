"""Which members celebrate a birthday on a given day: solar birthdays by month and day (29
February falls on 28 February in other years), lunar birthdays by the Chinese calendar
(`lunardate`), for the members who chose them."""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q
from lunardate import LunarDate

from campaigns.models import BirthdayTiming
from members.models import Member


@dataclass(frozen=True)
class Celebration:
    member_id: int
    on: date
    lunar: bool


def lunar_month_and_day(birthday: date) -> tuple[int, int] | None:
    """A solar birthday as (lunar month, lunar day); a leap-month birthday counts as the regular
    month of that number. None outside the calendar's range (1900–2099)."""
    try:
        lunar = LunarDate.from_solar_date(birthday.year, birthday.month, birthday.day)
    except ValueError:
        return None
    return lunar.month, lunar.day


def _lunar_month_length(year: int, month: int) -> int:
    try:
        LunarDate(year, month, 30).to_solar_date()
    except ValueError:
        return 29
    return 30


def _solar_condition(day: date, timing: str) -> Q | None:
    if timing == BirthdayTiming.MONTH:
        return Q(birthday__month=day.month) if day.day == 1 else None
    condition = Q(birthday__month=day.month, birthday__day=day.day)
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        condition |= Q(birthday__month=2, birthday__day=29)
    return condition


def _lunar_matches(day: date, timing: str) -> set[tuple[int, int]] | set[int]:
    """The lunar (month, day) pairs (day timing) or months (month timing) celebrated on `day`."""
    try:
        lunar = LunarDate.from_solar_date(day.year, day.month, day.day)
    except ValueError:
        return set()
    if lunar.is_leap_month:
        return set()
    if timing == BirthdayTiming.MONTH:
        return {lunar.month} if lunar.day == 1 else set()
    pairs = {(lunar.month, lunar.day)}
    if lunar.day == 29 and _lunar_month_length(lunar.year, lunar.month) == 29:
        pairs.add((lunar.month, 30))
    return pairs


def birthdays_on(*, days: list[date], timing: str, members=None) -> list[Celebration]:
    """The active members (of `members`, a queryset, if given) who celebrate on one of `days`,
    each once (the first day it matches)."""
    found: dict[int, Celebration] = {}
    active = (members if members is not None else Member.objects).filter(
        status=Member.Status.ACTIVE, birthday__isnull=False)
    lunar_members = None
    for day in days:
        condition = _solar_condition(day, timing)
        if condition is not None:
            for member_id in active.filter(condition, celebrates_lunar_birthday=False).values_list(
                    "pk", flat=True):
                found.setdefault(member_id, Celebration(member_id, day, lunar=False))
        matches = _lunar_matches(day, timing)
        if not matches:
            continue
        if lunar_members is None:
            lunar_members = [(pk, lunar_month_and_day(birthday)) for pk, birthday in
                             active.filter(celebrates_lunar_birthday=True).values_list("pk", "birthday")]
        for member_id, lunar in lunar_members:
            key = lunar and (lunar[0] if timing == BirthdayTiming.MONTH else lunar)
            if lunar and key in matches:
                found.setdefault(member_id, Celebration(member_id, day, lunar=True))
    return sorted(found.values(), key=lambda celebration: celebration.member_id)


def catch_up_days(today: date, *, days_back: int) -> list[date]:
    return [today - timedelta(days=n) for n in range(days_back, -1, -1)]
