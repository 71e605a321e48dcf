"""{% load clinic_time %}: {{ at|moment }}, {{ at|stamp }} (with the year), {{ day|day }},
{{ lot.expires_at|last_day }} (see clinics.formatting). Pages show dates and times only through
these; Django's `date` filter is for URLs and form values."""

from django import template

from clinics.context import last_local_day
from clinics.formatting import day_text, last_day_text, moment_text, stamp_text

register = template.Library()

register.filter("moment", moment_text)
register.filter("stamp", stamp_text)
register.filter("day", day_text)
register.filter("last_day", last_day_text)


@register.filter
def last_date(until):
    """The last usable day as a date, for templates that format it themselves."""
    return last_local_day(until) if until is not None else None
