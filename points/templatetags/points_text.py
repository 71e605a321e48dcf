"""{% load points_text %}: {{ entry|entry_reason }}, an entry's reason in the viewer's language;
{{ part|earn_part }}, the line of one multiplier of the rules (quote and receipt)."""

from django import template

from points.selectors import earn_part_text, entry_reason_text

register = template.Library()
register.filter("entry_reason", entry_reason_text)
register.filter("earn_part", earn_part_text)
