"""The treatment packages' section of the prepaid liability report (storedvalue.selectors): the
outstanding sessions at their recognised value, and the movements that reconcile the opening
figure with the closing one, from packages.selectors.package_liability."""

from datetime import date, datetime

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from packages.selectors import package_liability
from storedvalue.selectors import LiabilityLine, LiabilitySection


def _labels() -> dict[str, str]:
    return {"sold": _("Packages sold"), "imported": _("Packages imported"), "used": _("Sessions used"),
            "given_back": _("Sessions given back by refunds"), "expired": _("Sessions expired"),
            "refunded": _("Unused sessions refunded"), "sale_refunded": _("Package sales refunded")}


def packages_section(since: date, as_of: date, start: datetime, end: datetime) -> LiabilitySection:
    report = package_liability(start=start, end=end)
    labels = _labels()
    sessions = report.closing.sessions
    return LiabilitySection(
        key="packages", title=_("Treatment packages (疗程卡)"),
        lines=[LiabilityLine("sessions", ngettext("%(n)s session outstanding", "%(n)s sessions outstanding",
                                                  sessions) % {"n": sessions}, report.closing.value)],
        opening=report.opening.value,
        movements=[LiabilityLine(f"packages:{m.key}", labels.get(m.key, m.key), m.value) for m in report.movements])
