"""Formatting of KPI figures on the pages: rates as percentages, changes with their sign."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def pct(value, places: int = 1) -> str:
    """0.1234 → 12.3%; nothing to show → —."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{places}f}%"


@register.filter
def delta(value) -> str:
    """A relative change as a signed percentage with its direction for styling."""
    if value is None:
        return mark_safe('<span class="delta none">—</span>')
    direction = "up" if value > 0 else "down" if value < 0 else "flat"
    sign = "+" if value > 0 else ""
    return format_html('<span class="delta {}">{}{}%</span>', direction, sign, f"{value * 100:.1f}")


@register.filter
def delta_points(value) -> str:
    """A difference of scores (NPS) in points, with its sign and direction for styling."""
    if value is None:
        return mark_safe('<span class="delta none">—</span>')
    direction = "up" if value > 0 else "down" if value < 0 else "flat"
    text = _("%(value)s pts") % {"value": f"{'+' if value > 0 else ''}{value:.1f}"}
    return format_html('<span class="delta {}">{}</span>', direction, text)


@register.filter
def figure(value) -> str:
    return "—" if value is None else value


@register.filter
def yuan(value) -> str:
    return "—" if value is None or value == "" else f"¥{value}"


@register.filter
def significant(value, digits: int = 4) -> str:
    """A model parameter to `digits` significant digits: 0.0000024657 → 2.466e-06, 216085.48 → 2.161e+05."""
    return "—" if value is None else f"{float(value):.{int(digits)}g}"
