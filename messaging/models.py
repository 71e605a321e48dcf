"""Messages to members: the clinic's messaging rules, its templates per purpose, channel and
language, and the log of every message (sent, failed or skipped, with the reason)."""

import datetime

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Member


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")


class Purpose(models.TextChoices):
    BIRTHDAY_OFFER = "birthday_offer", _("Birthday offer")
    POINTS_EXPIRY_WARNING = "points_expiry_warning", _("Points about to expire")
    APPOINTMENT_REMINDER = "appointment_reminder", _("Appointment reminder")
    SIGN_IN_CODE = "sign_in_code", _("Portal sign-in code")
    SURVEY = "survey", _("Satisfaction survey")
    MARKETING = "marketing", _("Campaign")
    PACKAGE_EXPIRY_WARNING = "package_expiry_warning", _("Package sessions about to expire")


# Marketing needs the member's consent for the channel, respects quiet hours and the weekly cap.
# Service messages (about the member's own points and bookings) follow the clinic's
# `service_messages_enabled` setting instead.
MARKETING_PURPOSES = frozenset({Purpose.BIRTHDAY_OFFER, Purpose.MARKETING})

# Messages the member asked for themselves (a sign-in code): sent whatever the clinic's switch
# for service messages and the member's choices, with no quiet hours.
ESSENTIAL_PURPOSES = frozenset({Purpose.SIGN_IN_CODE})

# Service messages a member can turn off, each by its own consent purpose (members.NOTICE_PURPOSES).
SERVICE_OPT_OUT = {
    Purpose.APPOINTMENT_REMINDER: "notice_appointments",
    Purpose.POINTS_EXPIRY_WARNING: "notice_points_expiry",
    Purpose.SURVEY: "surveys",
    Purpose.PACKAGE_EXPIRY_WARNING: "notice_packages",
}

# The consent purpose (members.ConsentRecord.Purpose) that marketing on each channel needs.
MARKETING_CONSENT = {
    Channel.SMS: "marketing_sms",
    Channel.EMAIL: "marketing_email",
    Channel.WECHAT: "marketing_wechat",
}

# The variables each purpose's templates may use.
PURPOSE_VARIABLES = {
    Purpose.BIRTHDAY_OFFER: ("name", "clinic", "gift", "points", "coupon", "coupon_valid_until"),
    Purpose.POINTS_EXPIRY_WARNING: ("name", "clinic", "points", "expiry_date", "balance"),
    Purpose.APPOINTMENT_REMINDER: ("name", "clinic", "appointment_time", "practitioner", "location"),
    Purpose.SIGN_IN_CODE: ("name", "clinic", "code", "minutes"),
    Purpose.SURVEY: ("name", "clinic", "visit_date", "survey_link"),
    Purpose.MARKETING: ("name", "clinic", "campaign", "points", "coupon", "coupon_valid_until", "multiplier",
                        "valid_until"),
    Purpose.PACKAGE_EXPIRY_WARNING: ("name", "clinic", "package", "sessions", "expiry_date"),
}

# What each variable stands for, as the template editor lists them.
VARIABLE_LABELS = {
    "name": _("the member's name"),
    "clinic": _("the clinic's name"),
    "gift": _("what the member receives, as a sentence (points and coupon)"),
    "points": _("the points given for the birthday, or the points about to expire"),
    "coupon": _("the coupon's name (empty when there is none)"),
    "coupon_valid_until": _("the coupon's last day"),
    "expiry_date": _("the last day the points or package sessions can be used"),
    "balance": _("the member's points balance"),
    "appointment_time": _("the appointment's date and time"),
    "practitioner": _("the practitioner's name"),
    "location": _("the branch"),
    "code": _("the one-time sign-in code"),
    "minutes": _("how many minutes the code is valid"),
    "visit_date": _("the day of the visit"),
    "survey_link": _("the link to the member's own survey page"),
    "campaign": _("the campaign's name"),
    "multiplier": _("the points multiplier during the offer (e.g. 2)"),
    "valid_until": _("the offer's last day"),
    "package": _("the treatment package's name"),
    "sessions": _("the package sessions about to expire"),
}


class MessagingSettings(models.Model):
    """The clinic's messaging rules (one row per clinic)."""

    default_channel = models.CharField(_("channel for messages to members"), max_length=10,
                                       choices=Channel.choices, default=Channel.SMS)
    quiet_hours_start = models.TimeField(_("quiet hours start"), default=datetime.time(21, 0),
                                         help_text=_("No marketing message is sent from this time…"))
    quiet_hours_end = models.TimeField(_("quiet hours end"), default=datetime.time(9, 0),
                                       help_text=_("…until this time, in the clinic's time zone."))
    marketing_weekly_cap = models.PositiveIntegerField(
        _("marketing messages per member per week"), default=2,
        help_text=_("At most this many marketing messages to one member in any 7 days."))
    service_messages_enabled = models.BooleanField(
        _("send service messages"), default=True,
        help_text=_("Reminders and notices about a member's own points and appointments."))

    class Meta:
        verbose_name = _("messaging settings")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="messaging_settings_single_row")]


class MessageTemplate(models.Model):
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=10)
    subject = models.CharField(_("subject"), max_length=200, blank=True,
                               help_text=_("Email only."))
    body = models.TextField(_("text"), help_text=_("Variables in braces, e.g. {name}."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("message template")
        ordering = ["purpose", "channel", "language"]
        constraints = [
            models.UniqueConstraint(fields=["purpose", "channel", "language"],
                                    name="one_template_per_purpose_channel_language"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose}/{self.channel}/{self.language}"


class Message(models.Model):
    """One message to one member. Queued messages are polled from here and delivered; a lease
    (`claimed_until`) keeps two workers from sending the same one at once."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    class SkipReason(models.TextChoices):
        NO_CONSENT = "no_consent", _("No consent for this channel")
        QUIET_HOURS = "quiet_hours", _("Quiet hours")
        WEEKLY_CAP = "weekly_cap", _("Weekly limit of marketing messages reached")
        NO_ADDRESS = "no_address", _("No phone number or email address")
        SERVICE_DISABLED = "service_disabled", _("Service messages are switched off")
        MEMBER_INACTIVE = "member_inactive", _("Member is not active")
        NO_TEMPLATE = "no_template", _("No template for this purpose and channel")
        OPTED_OUT = "opted_out", _("The member turned this kind of message off")
        CANCELLED = "cancelled", _("The campaign was cancelled before sending")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="messages")
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    marketing = models.BooleanField(default=False)
    template = models.ForeignKey(MessageTemplate, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    language = models.CharField(max_length=10, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(_("text"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    skip_reason = models.CharField(_("reason skipped"), max_length=20, choices=SkipReason.choices,
                                   blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    backend = models.CharField(max_length=120, blank=True)
    provider_id = models.CharField(_("provider's id"), max_length=120, blank=True)
    guard_key = models.CharField(max_length=160, null=True, blank=True, unique=True,
                                 help_text=_("Guards a message that must be sent once."))
    created_at = models.DateTimeField(_("created"))
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="queued"), name="message_due"),
            models.Index(fields=["member", "created_at"], condition=Q(marketing=True),
                         name="message_marketing_by_member"),
            # The message log: newest first, and by date range.
            models.Index(fields=["created_at", "id"], name="message_log"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["queued", "sent", "failed", "skipped"]),
                                   name="message_status_valid"),
            models.CheckConstraint(condition=(Q(status="skipped") & ~Q(skip_reason=""))
                                   | (~Q(status="skipped") & Q(skip_reason="")),
                                   name="message_skipped_iff_reason"),
            models.CheckConstraint(condition=~Q(status="sent") | Q(sent_at__isnull=False),
                                   name="message_sent_has_time"),
            models.CheckConstraint(condition=~Q(status="failed") | Q(failed_at__isnull=False),
                                   name="message_failed_has_time"),
            models.CheckConstraint(condition=~Q(status="queued") | Q(next_attempt_at__isnull=False),
                                   name="message_queued_has_due_time"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} → {self.recipient} ({self.status})"
