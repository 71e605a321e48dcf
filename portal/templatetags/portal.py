from django import template
from django.urls import reverse

from portal.navigation import nav_items

register = template.Library()


@register.inclusion_tag("portal/_nav.html", takes_context=True)
def portal_nav(context):
    match = getattr(context.get("request"), "resolver_match", None)
    current = match.url_name if match and match.namespace == "portal" else ""
    items = [{"url": reverse(item.url_name), "label": item.label, "icon": item.icon,
              "current": current and (item.url_name == f"portal:{current}" or current in item.matches)}
             for item in nav_items()]
    return {"items": items}
