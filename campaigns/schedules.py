"""When a campaign's occurrences fall: once, every year on a solar date, every year on a lunar date
(春节 is lunar 1/1, 中秋 lunar 8/15, by `lunardate`), every month on a day (会员日), or per member
some days after an event (becoming dormant, the first visit), or per member on their birthday.
Days are local days of the clinic."""

import calendar
from datetime import date, timedelta

from lunardate import LunarDate

from campaigns.models import Campaign

FIXED = (Campaign.Schedule.ONCE, Campaign.Schedule.YEARLY, Campaign.Schedule.YEARLY_LUNAR,
         Campaign.Schedule.MONTHLY)
TRIGGERED = (Campaign.Schedule.AFTER_DORMANT, Campaign.Schedule.AFTER_FIRST_VISIT)
# Occurrences per member, on a day of their own: triggered campaigns and birthday campaigns (each
# member on their birthday, or the first day of their birthday month; see campaigns.birthdays).
PER_MEMBER = (*TRIGGERED, Campaign.Schedule.BIRTHDAY)


def lunar_to_solar(year: int, month: int, day: int) -> date | None:
    """The solar day of lunar `month`/`day` in the lunar year that starts in solar `year`; a 30th
    falls on the 29th in a short month. None outside the calendar's range (1900–2099)."""
    for lunar_day in (day, 29) if day == 30 else (day,):
        try:
            return LunarDate(year, month, lunar_day).to_solar_date()
        except ValueError:
            continue
    return None


def _yearly(campaign: Campaign, year: int) -> date | None:
    if campaign.schedule == Campaign.Schedule.YEARLY_LUNAR:
        return lunar_to_solar(year, campaign.month, campaign.day)
    last = calendar.monthrange(year, campaign.month)[1]
    return date(year, campaign.month, min(campaign.day, last))


def occurrences_between(campaign: Campaign, first: date, last: date) -> list[date]:
    """The campaign's fixed occurrences on local days `first`..`last` (inclusive), within its own
    first and last day. Triggered campaigns have none here: their occurrences are per member."""
    lo = max(first, campaign.starts_on)
    if campaign.schedule == Campaign.Schedule.ONCE:
        hi = min(last, campaign.starts_on)
    else:
        hi = min(last, campaign.ends_on) if campaign.ends_on else last
    if lo > hi:
        return []
    days: list[date] = []
    if campaign.schedule == Campaign.Schedule.ONCE:
        days = [campaign.starts_on]
    elif campaign.schedule in (Campaign.Schedule.YEARLY, Campaign.Schedule.YEARLY_LUNAR):
        days = [d for year in range(lo.year - 1, hi.year + 1) if (d := _yearly(campaign, year))]
    elif campaign.schedule == Campaign.Schedule.MONTHLY:
        month = date(lo.year, lo.month, 1)
        while month <= hi:
            last_day = calendar.monthrange(month.year, month.month)[1]
            days.append(month.replace(day=min(campaign.day, last_day)))
            month = (month + timedelta(days=32)).replace(day=1)
    return sorted({d for d in days if lo <= d <= hi})


def shortest_gap_days(campaign: Campaign) -> int | None:
    """The fewest days between two occurrences of a recurring campaign (None: it does not recur
    for one member)."""
    if campaign.schedule == Campaign.Schedule.MONTHLY:
        return 28
    if campaign.schedule == Campaign.Schedule.YEARLY:
        return 365
    if campaign.schedule in (Campaign.Schedule.YEARLY_LUNAR, Campaign.Schedule.BIRTHDAY):
        return 354 - 1  # a lunar year has 353 to 385 days
    return None


def first_occurrence(campaign: Campaign) -> date | None:
    if campaign.schedule in PER_MEMBER:
        return campaign.starts_on
    last = campaign.ends_on or campaign.starts_on + timedelta(days=3 * 366)
    found = occurrences_between(campaign, campaign.starts_on, last)
    return found[0] if found else None
