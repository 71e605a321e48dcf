"""Campaigns (the birthday offer is one of them): what a campaign targets, when it runs and what it gives, the
guard rows that make each gift happen exactly once, its control group and its measured results."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from members.models import Member
from messaging.models import Channel


class BirthdayTiming(models.TextChoices):
    """When a birthday campaign reaches a member (the timings the birthday offer had)."""

    DAY = "day", _("On the birthday")
    MONTH = "month", _("On the first day of the birthday month")


class CampaignSettings(models.Model):
    """What the results of campaigns are measured with (one row per clinic)."""

    gross_margin_rate = models.DecimalField(
        _("gross margin rate"), max_digits=4, decimal_places=3, default=Decimal("0.600"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("The share of revenue left after the cost of the treatments and products sold (0 to 1)."))
    sms_cost = models.DecimalField(_("cost of one SMS"), max_digits=8, decimal_places=3, default=Decimal("0.050"),
                                   validators=[MinValueValidator(0)])
    email_cost = models.DecimalField(_("cost of one email"), max_digits=8, decimal_places=3, default=Decimal("0"),
                                     validators=[MinValueValidator(0)])
    wechat_cost = models.DecimalField(_("cost of one WeChat message"), max_digits=8, decimal_places=3,
                                      default=Decimal("0"), validators=[MinValueValidator(0)])
    point_cost = models.DecimalField(
        _("cost of one point"), max_digits=8, decimal_places=4, default=Decimal("0.0100"),
        validators=[MinValueValidator(0)], help_text=_("What the clinic counts a point given away as costing."))
    after_window_days = models.PositiveIntegerField(
        _("days measured after the offer window"), default=30, validators=[MaxValueValidator(365)])
    default_holdout_percent = models.PositiveIntegerField(
        _("default control group (%)"), default=10, validators=[MaxValueValidator(50)])

    class Meta:
        verbose_name = _("campaign settings")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="campaign_settings_single_row"),
            models.CheckConstraint(condition=Q(gross_margin_rate__gte=0, gross_margin_rate__lte=1),
                                   name="campaign_margin_rate_range"),
            models.CheckConstraint(condition=Q(default_holdout_percent__lte=50), name="campaign_default_holdout"),
        ]

    def message_cost(self, channel: str) -> Decimal:
        return {"sms": self.sms_cost, "email": self.email_cost, "wechat": self.wechat_cost}.get(channel, Decimal(0))


class Campaign(models.Model):
    """A campaign: whom (a segment, or all active members), when (its schedule of occurrences),
    what (its offers and messages), and how it is measured (its control group)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        CANCELLED = "cancelled", _("Cancelled")

    class Schedule(models.TextChoices):
        ONCE = "once", _("Once")
        YEARLY = "yearly", _("Every year on a date")
        YEARLY_LUNAR = "yearly_lunar", _("Every year on a lunar date")
        MONTHLY = "monthly", _("Every month on a day (member day)")
        AFTER_DORMANT = "after_dormant", _("Days after a member becomes dormant")
        AFTER_FIRST_VISIT = "after_first_visit", _("Days after a member's first visit")
        BIRTHDAY = "birthday", _("On each member's birthday")

    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=120)
    kind = models.CharField(_("template"), max_length=30, blank=True,
                            help_text=_("The ready-made campaign it was started from, if any."))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    schedule = models.CharField(_("schedule"), max_length=20, choices=Schedule.choices, default=Schedule.ONCE)
    segment = models.ForeignKey("segments.Segment", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="campaigns", verbose_name=_("segment"),
                                help_text=_("Empty: all active members."))
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"), null=True, blank=True,
                               help_text=_("Recurring and triggered campaigns: the last day an occurrence may "
                                           "start. Empty for a one-off campaign."))
    send_time = models.TimeField(_("time of sending"), default=datetime.time(10, 0))
    month = models.PositiveSmallIntegerField(_("month"), null=True, blank=True,
                                             validators=[MinValueValidator(1), MaxValueValidator(12)])
    day = models.PositiveSmallIntegerField(_("day"), null=True, blank=True,
                                           validators=[MinValueValidator(1), MaxValueValidator(31)])
    trigger_days = models.PositiveIntegerField(_("days after the event"), null=True, blank=True,
                                               validators=[MaxValueValidator(365)])
    birthday_timing = models.CharField(_("when"), max_length=10, choices=BirthdayTiming.choices,
                                       default=BirthdayTiming.DAY,
                                       help_text=_("Birthday campaigns: on the birthday or on the first day of "
                                                   "the birthday month."))
    validity_days = models.PositiveIntegerField(_("offer valid for days"), default=7,
                                                validators=[MinValueValidator(1), MaxValueValidator(366)])
    bonus_points = models.PositiveIntegerField(_("bonus points"), default=0)
    coupon_template = models.ForeignKey("points.CouponTemplate", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", verbose_name=_("coupon"))
    tier_gift = models.BooleanField(_("add the tier's birthday gift"), default=False,
                                    help_text=_("Birthday campaigns: the birthday gift points of the member's tier, "
                                                "on top of the bonus points."))
    template_message = models.BooleanField(
        _("send the birthday message"), default=False,
        help_text=_("Birthday campaigns: the clinic's “Birthday offer” message template, with the member's "
                    "consent, when the campaign has no text of its own."))
    points_multiplier = models.DecimalField(
        _("points multiplier"), max_digits=4, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("1.01")), MaxValueValidator(10)],
        help_text=_("Points earned at checkout during the offer window are multiplied by this."))
    min_tier = models.ForeignKey("tiers.Tier", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("offer only from tier"),
                                 help_text=_("Members below this tier get the message but not the offer."))
    holdout_percent = models.PositiveIntegerField(_("control group (%)"), default=10,
                                                  validators=[MaxValueValidator(50)])
    max_grants_per_member = models.PositiveIntegerField(_("offers per member at most"), default=1,
                                                        validators=[MinValueValidator(1)])
    budget_points = models.PositiveIntegerField(_("budget (points)"), null=True, blank=True)
    budget_coupons = models.PositiveIntegerField(_("budget (coupons)"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    launched_at = models.DateTimeField(_("launched"), null=True, blank=True)
    seed = models.BigIntegerField(default=0, help_text=_("Chooses the control group; fixed at launch."))

    class Meta:
        verbose_name = _("campaign")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["draft", "scheduled", "running", "finished",
                                                           "cancelled"]), name="campaign_status_valid"),
            models.CheckConstraint(condition=Q(holdout_percent__lte=50), name="campaign_holdout_at_most_half"),
            models.CheckConstraint(condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                                   name="campaign_ends_after_start"),
            models.CheckConstraint(condition=Q(points_multiplier__isnull=True) | Q(points_multiplier__gt=1),
                                   name="campaign_multiplier_above_one"),
            models.CheckConstraint(condition=Q(status__in=["draft", "cancelled"]) | Q(launched_at__isnull=False),
                                   name="campaign_launched_has_time"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_birthday(self) -> bool:
        return self.schedule == self.Schedule.BIRTHDAY

    @property
    def has_offer(self) -> bool:
        return bool(self.bonus_points or self.coupon_template_id or self.points_multiplier
                    or (self.is_birthday and self.tier_gift))


class CampaignMessage(models.Model):
    """The campaign's text for one channel; members get it on each channel it has a text for."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True, help_text=_("Email only."))
    body = models.TextField(_("text"), help_text=_("Variables in braces, e.g. {name}."))

    class Meta:
        ordering = ["channel"]
        constraints = [models.UniqueConstraint(fields=["campaign", "channel"], name="campaign_one_text_per_channel")]


class CampaignEvent(models.Model):
    """Append-only: who did what to a campaign, and when (created, changed, launched, ran an
    occurrence, cancelled, finished, results computed)."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        CHANGED = "changed", _("Changed")
        LAUNCHED = "launched", _("Launched")
        OCCURRENCE = "occurrence", _("Offers given")
        CANCELLED = "cancelled", _("Cancelled")
        FINISHED = "finished", _("Finished")
        RESULTS = "results", _("Results computed")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]


class CampaignAudience(models.Model):
    """Each member the campaign targets, in the treated or the control group (chosen at launch,
    stratified by tier, never changed)."""

    class Group(models.TextChoices):
        TREATED = "treated", _("Treated")
        CONTROL = "control", _("Control")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="audience")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    group = models.CharField(max_length=7, choices=Group.choices)
    tier = models.ForeignKey("tiers.Tier", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "member"], name="campaign_audience_once")]
        indexes = [models.Index(fields=["campaign", "group"], name="campaign_audience_group")]


class CampaignGrant(models.Model):
    """The guard row: a member gets an occurrence's offer (and its message) at most once,
    whatever runs twice or dies halfway. Written in the same transaction as the points, the
    coupon and the messages."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="grants")
    occurrence = models.DateField()
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="campaign_grants")
    granted_at = models.DateTimeField()
    offer = models.BooleanField(default=True, help_text=_("False: message only (below the campaign's tier)."))
    points = models.PositiveIntegerField(default=0)
    entry = models.OneToOneField("points.Entry", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    coupon = models.OneToOneField("points.Coupon", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    birthday_year = models.PositiveIntegerField(
        null=True, blank=True,
        help_text=_("Birthday campaigns: the year of the birthday celebrated; one grant per member and year "
                    "over every birthday campaign."))
    lunar = models.BooleanField(default=False, help_text=_("Birthday campaigns: a lunar birthday."))

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "occurrence", "member"], name="campaign_grant_once"),
            models.UniqueConstraint(fields=["member", "birthday_year"], name="campaign_birthday_once_a_year"),
            models.CheckConstraint(condition=Q(points=0) | Q(entry__isnull=False), name="campaign_points_have_entry"),
            models.CheckConstraint(condition=Q(valid_until__gt=F("valid_from")), name="campaign_grant_window"),
        ]
        indexes = [models.Index(fields=["member", "valid_until"], name="campaign_grant_member_window")]


class CampaignMultiplierUse(models.Model):
    """The points a campaign's multiplier added to a visit (inside the visit's one earn entry, so a
    refund takes them back with the rest): what the receipt shows as the campaign's own line."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="multiplier_uses")
    occurrence = models.DateField()
    grant = models.ForeignKey(CampaignGrant, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="multiplier_uses",
                              help_text=_("Empty: the visit came before the occurrence's offers were given "
                                          "(from local midnight of its first day)."))
    visit = models.OneToOneField("visits.Visit", on_delete=models.PROTECT, related_name="+")
    multiplier = models.DecimalField(max_digits=4, decimal_places=2)
    points = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(points__gt=0), name="campaign_multiplier_use_points")]


class CampaignOccurrence(models.Model):
    """One run of the campaign for one day's occurrence, with its counts (targeted, treated,
    control, offers given, messages queued and skipped by reason, stopped by the budget)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="occurrences")
    on = models.DateField()
    ran_at = models.DateTimeField()
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["on"]
        constraints = [models.UniqueConstraint(fields=["campaign", "on"], name="campaign_occurrence_once")]


class CampaignResult(models.Model):
    """The measured results, computed by a job after the window (and the days after it); the
    results page reads this row and never recomputes."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="result")
    computed_at = models.DateTimeField()
    measured_from = models.DateTimeField()
    measured_until = models.DateTimeField()
    figures = models.JSONField()


class SmsReply(models.Model):
    """An SMS a member sent back to the clinic's number, as the provider's webhook delivered it:
    one row per provider message id, so a delivery repeated by the provider does nothing twice.
    The number is kept only when it belongs to a member (`member`); for an unknown number only
    the fact that a reply came."""

    provider_message_id = models.CharField(max_length=100, unique=True)
    received_at = models.DateTimeField()
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.CharField(max_length=160, blank=True)
    opted_out = models.BooleanField(default=False,
                                    help_text=_("The reply withdrew the member's SMS marketing consent."))

    class Meta:
        ordering = ["-received_at", "-id"]
