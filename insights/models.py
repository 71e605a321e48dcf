"""The clinic's KPI settings: the lifecycle thresholds (active, dormant 沉睡, lapsed 流失 by days
since the last visit) and the RFM window. The KPIs themselves are read from the visits, the
ledger, tiers and appointments by the selectors; nothing here copies them."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class InsightsSettings(models.Model):
    active_days = models.PositiveIntegerField(
        _("active for (days)"), default=90,
        help_text=_("A member whose last visit was at most this many days ago is active."))
    lapsed_days = models.PositiveIntegerField(
        _("lapsed after (days)"), default=180,
        help_text=_("More days than this since the last visit: lapsed (流失). In between: dormant (沉睡)."))
    rfm_months = models.PositiveIntegerField(
        _("RFM window (months)"), default=12,
        help_text=_("Recency, frequency and spend are scored over this many months up to the end of the period."))

    class Meta:
        verbose_name = _("KPI settings")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="insights_settings_single_row"),
            models.CheckConstraint(condition=Q(active_days__gte=1), name="insights_active_days_positive"),
            models.CheckConstraint(condition=Q(lapsed_days__gt=F("active_days")),
                                   name="insights_lapsed_after_active"),
            models.CheckConstraint(condition=Q(rfm_months__gte=1) & Q(rfm_months__lte=60),
                                   name="insights_rfm_months_range"),
        ]
