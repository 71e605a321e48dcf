"""The clinic's KPI settings: the lifecycle thresholds (new by days since the first visit; active,
dormant 沉睡, lapsed 流失 by days since the last visit) and the RFM window. The KPIs themselves are
read from the visits, the ledger, tiers and appointments by the selectors; nothing here copies
them. The one thing stored is the nightly fit of the predictive CLV and its per-member
predictions, a model's output that cannot be read off the visits directly."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class LifecycleStage(models.TextChoices):
    """A member's stage by their counted visits up to a day (insights.selectors.lifecycle_bounds)."""

    NEW = "new", _("New")
    ACTIVE = "active", _("Active")
    DORMANT = "dormant", _("Dormant (沉睡)")
    LAPSED = "lapsed", _("Lapsed (流失)")


class RfmCellName(models.TextChoices):
    """The eight R/F/M high-low cells (insights.selectors.RFM_HIGH says what is high). The
    Chinese labels are the names clinics use."""

    IMPORTANT_VALUE = "important_value", _("Important value (重要价值客户)")
    IMPORTANT_DEVELOP = "important_develop", _("Important to develop (重要发展客户)")
    IMPORTANT_KEEP = "important_keep", _("Important to keep (重要保持客户)")
    IMPORTANT_WIN_BACK = "important_win_back", _("Important to win back (重要挽留客户)")
    GENERAL_VALUE = "general_value", _("General value (一般价值客户)")
    GENERAL_DEVELOP = "general_develop", _("General to develop (一般发展客户)")
    GENERAL_KEEP = "general_keep", _("General to keep (一般保持客户)")
    GENERAL_WIN_BACK = "general_win_back", _("General to win back (一般挽留客户)")


class InsightsSettings(models.Model):
    new_days = models.PositiveIntegerField(
        _("new for (days)"), default=90,
        help_text=_("A member whose first visit was at most this many days ago is new."))
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
            models.CheckConstraint(condition=Q(new_days__gte=1) & Q(new_days__lte=F("active_days")),
                                   name="insights_new_within_active"),
            models.CheckConstraint(condition=Q(lapsed_days__gt=F("active_days")),
                                   name="insights_lapsed_after_active"),
            models.CheckConstraint(condition=Q(rfm_months__gte=1) & Q(rfm_months__lte=60),
                                   name="insights_rfm_months_range"),
        ]


class CustomerValueFit(models.Model):
    """One nightly fit of the predictive CLV (BG/NBD and Gamma-Gamma, docs/kpis.md panel 5) on the
    visits up to `cutoff_on`: its parameters and the figures the dashboard shows, or why there are
    none. One row per cut-off day, so running the job again the same night changes nothing."""

    class Status(models.TextChoices):
        FITTED = "fitted", _("Fitted")
        NOT_ENOUGH_HISTORY = "not_enough_history", _("Not enough history")
        NOT_CONVERGED = "not_converged", _("The model did not converge")

    cutoff_on = models.DateField(_("visits up to"), unique=True)
    fitted_at = models.DateTimeField(_("fitted at"))
    status = models.CharField(_("status"), max_length=24, choices=Status.choices)
    # Why there is no prediction: [{"code": "repeat_members", "have": 37, "need": 100}, …]
    # (insights/customer_value.py turns it into words).
    reason = models.JSONField(_("reason"), default=list, blank=True)
    horizon_months = models.PositiveSmallIntegerField(_("horizon (months)"))
    monthly_discount = models.DecimalField(_("monthly discount rate"), max_digits=5, decimal_places=4)
    customers = models.PositiveIntegerField(_("members with a visit"))
    repeat_customers = models.PositiveIntegerField(_("members with a repeat visit"))
    history_days = models.PositiveIntegerField(_("days of visits"))
    # BG/NBD (time in weeks) and Gamma-Gamma (money in the clinic's currency).
    r = models.FloatField(null=True, blank=True)
    alpha = models.FloatField(null=True, blank=True)
    a = models.FloatField(null=True, blank=True)
    b = models.FloatField(null=True, blank=True)
    p = models.FloatField(null=True, blank=True)
    q = models.FloatField(null=True, blank=True)
    v = models.FloatField(null=True, blank=True)
    bgnbd_log_likelihood = models.FloatField(null=True, blank=True)
    gamma_gamma_log_likelihood = models.FloatField(null=True, blank=True)
    predicted_members = models.PositiveIntegerField(default=0)
    active_members = models.PositiveIntegerField(default=0)
    clv_per_active_member = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    clv_per_member = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    clv_total = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    expected_purchases_per_active_member = models.FloatField(null=True, blank=True)
    # [{"from": "0.00", "to": "100.00", "members": 12}, …]: predicted members by CLV.
    distribution = models.JSONField(default=list, blank=True)
    seconds = models.FloatField(_("seconds taken"), default=0)

    class Meta:
        verbose_name = _("predictive CLV fit")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["fitted", "not_enough_history", "not_converged"]),
                                   name="insights_clv_fit_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="fitted") | Q(r__gt=0, alpha__gt=0, a__gt=0, b__gt=0, p__gt=0, q__gt=1, v__gt=0,
                                                  clv_per_member__isnull=False),
                name="insights_clv_fit_has_parameters"),
            models.CheckConstraint(condition=Q(monthly_discount__gte=0) & Q(monthly_discount__lt=1),
                                   name="insights_clv_discount_range"),
        ]


class MemberValuePrediction(models.Model):
    """A member's prediction from one fit: their history in the models' terms and what the fit
    expects of them over the horizon. Only the newest fit keeps its rows."""

    fit = models.ForeignKey(CustomerValueFit, on_delete=models.CASCADE, related_name="predictions")
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+")
    frequency = models.PositiveIntegerField(_("repeat visit days"))
    recency_weeks = models.FloatField(_("recency (weeks)"))
    age_weeks = models.FloatField(_("weeks since the first visit"))
    monetary = models.DecimalField(_("mean repeat spend"), max_digits=16, decimal_places=2)
    probability_alive = models.FloatField(_("probability still a client"))
    expected_visits = models.FloatField(_("expected visit days"))
    expected_value = models.DecimalField(_("expected spend per visit day"), max_digits=16, decimal_places=2)
    clv = models.DecimalField(_("predicted CLV"), max_digits=16, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fit", "member"], name="insights_prediction_once_per_fit"),
            models.CheckConstraint(condition=Q(probability_alive__gte=0) & Q(probability_alive__lte=1),
                                   name="insights_prediction_probability_range"),
        ]
        indexes = [models.Index(fields=["fit", "-clv"], name="insights_prediction_by_clv")]


# --- the daily rollups -------------------------------------------------------------------------
# The counted visits (selectors.counted) summed per member and local day, per local day and per
# member's first visit, so that the dashboard reads a few thousand narrow rows instead of every
# visit. Database triggers on the visits, their lines and refunds and the bookings keep them exact
# inside the transaction that changes a visit, whatever changes it (checkout, refund, package
# refund, merge, import); `insights.rollups.rollups_rebuild` rebuilds them from the visits (nightly,
# and when the clinic's time zone changes). docs/operations.md#kpi-rollups.

class RollupState(models.Model):
    """One row: the time zone whose local days the rollups are in, and when they were built. No
    row (or another zone than the clinic's) means the rollups are not usable: the triggers do
    nothing and the selectors read the visits directly."""

    zone = models.CharField(max_length=64)
    built_at = models.DateTimeField()


class MemberDay(models.Model):
    """A member's counted visits on a local day at a location (0: no location), and their revenue.
    `prev_day` and `next_day` are the days of the member's rows just before and after this one in
    the order (day, location): a member is active in days a..b exactly once by the row in a..b
    whose `prev_day` is before a (or none), so distinct-member figures over long periods are
    counts of rows, not a grouping of them; with the running totals, a member's visits and revenue
    in a..b come from their first and last rows there (the triggers keep all of them exact)."""

    member_id = models.BigIntegerField()
    day = models.DateField()
    location_id = models.BigIntegerField(default=0)
    visits = models.IntegerField()
    revenue = models.DecimalField(max_digits=14, decimal_places=2)
    prev_day = models.DateField(null=True)
    next_day = models.DateField(null=True)
    # The member's running totals in that order, this row included: visits, and revenue in cents.
    cum_visits = models.IntegerField(default=0)
    cum_cents = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["day"], include=["member_id", "location_id", "visits", "revenue", "prev_day",
                                                  "next_day", "cum_visits", "cum_cents"],
                         name="insights_memberday_day"),
            models.Index(fields=["member_id", "day"], name="insights_memberday_member"),
        ]


class DayTotal(models.Model):
    """Changes of the counted visits of a local day at a location (0: no location) and of their
    revenue: the sum of a day's rows is its total. The triggers only insert rows (so concurrent
    checkouts never wait on one day's row); the nightly job compacts them to one row a day."""

    day = models.DateField()
    location_id = models.BigIntegerField(default=0)
    visits = models.IntegerField()
    revenue = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["day", "location_id"], name="insights_daytotal_day")]


class MemberFirst(models.Model):
    """The local days of a member's first and latest counted visits (any location), and of their
    first paid visit (what was paid less refunds > 0: a member day with revenue > 0, as no visit's
    refunds exceed its total)."""

    member_id = models.BigIntegerField(primary_key=True)
    first_day = models.DateField(db_index=True)
    first_paid_day = models.DateField(null=True)
    last_day = models.DateField()


class PointsDay(models.Model):
    """Changes of the points ledger (accounts of the asset `points`) of a local day, by entry kind
    and sign: the sum of a (day, kind, credit) group's rows is what those entries added up to. As
    the day totals: a trigger on the ledger only inserts rows; the nightly job compacts them."""

    day = models.DateField()
    kind = models.CharField(max_length=10)
    credit = models.BooleanField(help_text="Entries with a positive amount (False: negative).")
    amount = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], include=["kind", "credit", "amount"], name="insights_pointsday_day")]


class MemberBought(models.Model):
    """What a member bought on a local day: their visit lines not refunded in full on visits paid
    and not refunded in full, or free (the rule of the segments' "bought" condition), one row per
    item and category (either may be empty), with the number of such lines."""

    member_id = models.BigIntegerField()
    day = models.DateField()
    item_id = models.BigIntegerField(null=True)
    category_id = models.BigIntegerField(null=True)
    lines = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["category_id", "day"], include=["member_id"], name="insights_bought_category"),
            models.Index(fields=["item_id", "day"], include=["member_id"], name="insights_bought_item"),
            models.Index(fields=["member_id", "day"], include=["item_id", "category_id"],
                         name="insights_bought_member"),
        ]
