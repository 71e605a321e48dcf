"""{% load feedback_text %}: {{ task|followup_note }}, what a follow-up asks in the viewer's language."""

from django import template

from feedback.selectors import followup_note_text

register = template.Library()
register.filter("followup_note", followup_note_text)
