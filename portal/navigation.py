"""The portal's bottom navigation. Each page adds its item here (url name, label, icon name in
static/portal/icons.svg); the bar shows them ordered by `order`. It fits five items on a 360 px
phone, so pages reached from another page (the statement from home) use `matches` instead."""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str | Promise
    icon: str
    order: int = 50
    # Other url names (without the namespace) under which this item shows as the current one.
    matches: tuple[str, ...] = ()


NAV_ITEMS: list[NavItem] = [
    NavItem("portal:home", _("Home"), "home", order=10, matches=("statement",)),
    NavItem("portal:profile", _("Me"), "user", order=90,
            matches=("profile_details", "profile_consent", "profile_privacy", "profile_language", "surveys")),
    NavItem("portal:mall", _("Rewards"), "gift", order=20, matches=("mall_confirm", "referral")),
    NavItem("portal:wallet", _("Wallet"), "ticket", order=30, matches=("wallet_coupon",)),
    NavItem("portal:appointments", _("Bookings"), "calendar", order=40,
            matches=("appointment", "book", "appointment_reschedule")),
]


def nav_items() -> list[NavItem]:
    return sorted(NAV_ITEMS, key=lambda item: item.order)
