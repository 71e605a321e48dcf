"""{% load member_format %}: {{ member.phone|phone }} shows a stored E.164 number in the clinic's
national format (see members.naming.phone_display)."""

from django import template

from members.naming import phone_display

register = template.Library()
register.filter("phone", phone_display)
