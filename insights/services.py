"""Writes of the insights app: the clinic's KPI settings."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import settings_update
from insights.models import InsightsSettings

SETTINGS_FIELDS = ("new_days", "active_days", "lapsed_days", "rfm_months")


@transaction.atomic
def insights_settings_update(*, actor: User | None, **changes) -> InsightsSettings:
    """Change the lifecycle thresholds (days since the first or the last visit) or the RFM window."""
    return settings_update(actor=actor, obj=InsightsSettings.objects.select_for_update().get_or_create(pk=1)[0],
                           changes=changes, fields=SETTINGS_FIELDS,
                           validate=_thresholds_check)


def _thresholds_check(row: InsightsSettings) -> None:
    if row.active_days is not None and row.lapsed_days is not None and row.lapsed_days <= row.active_days:
        raise ValidationError({"lapsed_days": _("Lapsed must start after active ends: more days than %(days)s.")
                               % {"days": row.active_days}})
    if row.new_days is not None and row.active_days is not None and row.new_days > row.active_days:
        raise ValidationError({"new_days": _("A new member is also active: at most %(days)s days.")
                               % {"days": row.active_days}})
