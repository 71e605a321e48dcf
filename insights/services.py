"""Writes of the insights app: the clinic's KPI settings."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import settings_change_check
from insights.models import InsightsSettings
from insights.selectors import insights_settings

SETTINGS_FIELDS = ("new_days", "active_days", "lapsed_days", "rfm_months")


@transaction.atomic
def insights_settings_update(*, actor: User | None, **changes) -> InsightsSettings:
    """Change the lifecycle thresholds (days since the first or the last visit) or the RFM window."""
    settings_change_check(actor)
    if unknown := set(changes) - set(SETTINGS_FIELDS):
        raise ValidationError(_("These settings do not exist: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    row = insights_settings()
    for name, value in changes.items():
        setattr(row, name, value)
    if row.active_days is not None and row.lapsed_days is not None and row.lapsed_days <= row.active_days:
        raise ValidationError({"lapsed_days": _("Lapsed must start after active ends: more days than %(days)s.")
                               % {"days": row.active_days}})
    if row.new_days is not None and row.active_days is not None and row.new_days > row.active_days:
        raise ValidationError({"new_days": _("A new member is also active: at most %(days)s days.")
                               % {"days": row.active_days}})
    row.full_clean()
    row.save()
    return row
