"""{% load points_text %}: {{ entry|entry_reason }}, an entry's reason in the viewer's language.
(The points lines of the quote and the receipt are built by `frontdesk.selectors.points_lines`.)"""

from django import template

from points.selectors import entry_reason_text

register = template.Library()
register.filter("entry_reason", entry_reason_text)
