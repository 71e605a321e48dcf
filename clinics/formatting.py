"""Dates and times as people read them, the same way on every page in both languages:
"Sat 5 Dec 11:00" / "12月5日 周六 11:00" for a moment, "Sat 5 Dec 2026" / "2026年12月5日 周六"
for a day, "Sat 5 Dec 2026 11:00" / "2026年12月5日 周六 11:00" for a moment in a record or log (where the
year matters), always in the clinic's time zone. Pages (template filters in
`clinics.templatetags.clinic_time`) and messages (`messaging.rendering`) use these and nothing else."""

from datetime import date, datetime

from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import pgettext

from clinics.context import clinic_zone, last_local_day


def _weekday(day: date) -> str:
    names = (pgettext("weekday", "Mon"), pgettext("weekday", "Tue"), pgettext("weekday", "Wed"),
             pgettext("weekday", "Thu"), pgettext("weekday", "Fri"), pgettext("weekday", "Sat"),
             pgettext("weekday", "Sun"))
    return names[day.weekday()]


def _chinese() -> bool:
    return (translation.get_language() or "").lower().startswith("zh")


def moment_text(at: datetime | None) -> str:
    """A moment in the clinic's time zone: "Sat 5 Dec 11:00" / "12月5日 周六 11:00"."""
    if at is None:
        return ""
    local = timezone.localtime(at, clinic_zone())
    if _chinese():
        return f"{local.month}月{local.day}日 {_weekday(local)} {local:%H:%M}"
    return f"{_weekday(local)} {local.day} {date_format(local, 'M')} {local:%H:%M}"


def stamp_text(at: datetime | None) -> str:
    """A moment with its year, for records and logs: "Sat 5 Dec 2026 11:00" / "2026年12月5日 周六 11:00"."""
    if at is None:
        return ""
    local = timezone.localtime(at, clinic_zone())
    return f"{day_text(local.date())} {local:%H:%M}"


def day_text(day: date | datetime | None) -> str:
    """A calendar day: "Sat 5 Dec 2026" / "2026年12月5日 周六" (an instant: its day in the clinic's
    time zone)."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = timezone.localtime(day, clinic_zone()).date()
    if _chinese():
        return f"{day.year}年{day.month}月{day.day}日 {_weekday(day)}"
    return f"{_weekday(day)} {day.day} {date_format(day, 'M')} {day.year}"


def last_day_text(until: datetime | None) -> str:
    """The last usable day of something valid until the instant `until`, as `day_text`."""
    return day_text(last_local_day(until)) if until is not None else ""
