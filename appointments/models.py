"""Appointments: where (locations, rooms, devices), who (practitioners and their hours), what may
not be booked (exceptions), bookings with their status history, the clinic's booking policy and
the reminders each booking is due."""

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeBoundary, RangeOperators
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Func, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from members.models import Member
from visits.models import MONEY, CatalogueItem, Visit


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Location(models.Model):
    """A branch of the clinic. All its times are shown in the clinic's time zone."""

    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=120, unique=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ResourceType(models.Model):
    """A kind of room or device a treatment may need (treatment room, laser machine…)."""

    class Kind(models.TextChoices):
        ROOM = "room", _("Room")
        DEVICE = "device", _("Device")

    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)

    class Meta:
        verbose_name = _("room or device type")
        verbose_name_plural = _("room and device types")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Resource(models.Model):
    """One room or one device at a location; a booking holds it for its whole time and buffer."""

    location = models.ForeignKey(Location, verbose_name=_("location"), on_delete=models.PROTECT,
                                 related_name="resources")
    resource_type = models.ForeignKey(ResourceType, verbose_name=_("type"), on_delete=models.PROTECT,
                                      related_name="resources")
    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=80)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("room or device")
        verbose_name_plural = _("rooms and devices")
        ordering = ["location", "resource_type", "name"]
        constraints = [models.UniqueConstraint(fields=["location", "name"], name="resource_name_per_location")]

    def __str__(self) -> str:
        return self.name

    @property
    def kind(self) -> str:
        return self.resource_type.kind


class TreatmentRequirement(models.Model):
    """A treatment needs one free resource of this type (at most one room type and one device
    type per treatment)."""

    treatment = models.ForeignKey(CatalogueItem, on_delete=models.CASCADE, related_name="resource_requirements")
    resource_type = models.ForeignKey(ResourceType, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=ResourceType.Kind.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["treatment", "kind"], name="one_requirement_per_kind")]


class Practitioner(models.Model):
    """A staff account that performs treatments, with the treatments it may perform."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="practitioner")
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    treatments = models.ManyToManyField(CatalogueItem, verbose_name=_("treatments"), blank=True,
                                        related_name="practitioners")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("practitioner")
        verbose_name_plural = _("practitioners")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.display_name or str(self.user)


class WorkingHours(models.Model):
    """A practitioner works at a location on a weekday between two local times; a day may have
    several periods (morning and afternoon)."""

    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="hours")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    weekday = models.PositiveSmallIntegerField(_("weekday"), help_text=_("0 is Monday, 6 is Sunday."))
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"))

    class Meta:
        ordering = ["practitioner", "weekday", "starts"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0) & Q(weekday__lte=6), name="hours_weekday_valid"),
            models.CheckConstraint(condition=Q(ends__gt=F("starts")), name="hours_end_after_start"),
        ]


class ScheduleException(models.Model):
    """A time nothing can be booked: a practitioner's leave, a public holiday (the whole clinic),
    a closure (a location, or the whole clinic) or a room or device out of service."""

    class Kind(models.TextChoices):
        LEAVE = "leave", _("Leave")
        HOLIDAY = "holiday", _("Public holiday")
        CLOSURE = "closure", _("Closure")
        MAINTENANCE = "maintenance", _("Out of service")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    practitioner = models.ForeignKey(Practitioner, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="exceptions")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="exception_time")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="exception_end_after_start"),
            models.CheckConstraint(condition=~Q(kind="leave") | Q(practitioner__isnull=False),
                                   name="leave_has_practitioner"),
            models.CheckConstraint(condition=~Q(kind="maintenance") | Q(resource__isnull=False),
                                   name="maintenance_has_resource"),
        ]


ACTIVE_STATUSES = ("booked", "confirmed", "checked_in")


class Booking(models.Model):
    """One appointment: a member, a treatment, a practitioner at a location, the room and device
    it holds, from `starts_at` to `ends_at` plus the treatment's buffer (`blocked_until`).
    PostgreSQL refuses two active bookings whose blocked times overlap on the same practitioner,
    room or device."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CONFIRMED = "confirmed", _("Confirmed")
        CHECKED_IN = "checked_in", _("Checked in")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", pgettext_lazy("appointment status", "Cancelled")
        NO_SHOW = "no_show", _("No-show")

    class Channel(models.TextChoices):
        STAFF = "staff", _("Front desk")
        MEMBER = "member", _("Member portal")

    class Party(models.TextChoices):
        MEMBER = "member", _("The member")
        CLINIC = "clinic", _("The clinic")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="bookings")
    treatment = models.ForeignKey(CatalogueItem, on_delete=models.PROTECT, related_name="bookings")
    practitioner = models.ForeignKey(Practitioner, on_delete=models.PROTECT, related_name="bookings")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="bookings")
    room = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    blocked_until = models.DateTimeField(help_text=_("The end of the treatment plus its buffer."))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.BOOKED)
    channel = models.CharField(_("booked through"), max_length=10, choices=Channel.choices)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    notes = models.TextField(_("notes"), blank=True)
    reschedule_count = models.PositiveIntegerField(default=0)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    cancelled_by_party = models.CharField(max_length=10, choices=Party.choices, blank=True)
    cancel_reason = models.CharField(_("reason"), max_length=255, blank=True)
    late_cancellation = models.BooleanField(_("late cancellation"), default=False)
    deposit_amount = models.DecimalField(_("deposit"), **MONEY, default=Decimal("0.00"),
                                         validators=[MinValueValidator(Decimal("0.00"))])
    deposit_method = models.CharField(_("deposit paid by"), max_length=12, blank=True)
    deposit_recorded_at = models.DateTimeField(null=True, blank=True)
    deposit_recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                            on_delete=models.PROTECT, related_name="+")
    visit = models.OneToOneField(Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="booking")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["starts_at", "id"]
        permissions = [
            ("book_appointment", _("Can book, reschedule and cancel appointments")),
            ("attend_appointment", _("Can confirm, check in and complete appointments and record no-shows")),
            ("manage_schedule", _("Can manage locations, rooms, devices, practitioners, hours and exceptions")),
        ]
        indexes = [
            # The appointments panel of the KPI dashboards reads a period's bookings from this
            # index alone (insights.selectors.kpi_appointments).
            models.Index(fields=["starts_at"], include=["practitioner_id", "location_id", "status", "ends_at",
                                                        "late_cancellation"], name="booking_start"),
            models.Index(fields=["member", "-starts_at"], name="booking_member_time"),
            # Recall conversion: did the member book within 30 days after the recall was made.
            models.Index(fields=["member", "created_at"], name="booking_member_created"),
            models.Index(fields=["practitioner", "starts_at"], name="booking_practitioner_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="booking_end_after_start"),
            models.CheckConstraint(condition=Q(blocked_until__gte=F("ends_at")), name="booking_buffer_not_negative"),
            models.CheckConstraint(condition=Q(deposit_amount__gte=0), name="booking_deposit_not_negative"),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | (Q(cancelled_at__isnull=False) & ~Q(cancelled_by_party="")),
                name="cancelled_booking_says_when_and_who"),
            ExclusionConstraint(
                name="booking_practitioner_no_overlap",
                expressions=[(TsTzRange("starts_at", "blocked_until", RangeBoundary()), RangeOperators.OVERLAPS),
                             ("practitioner", RangeOperators.EQUAL)],
                condition=Q(status__in=ACTIVE_STATUSES)),
            ExclusionConstraint(
                name="booking_room_no_overlap",
                expressions=[(TsTzRange("starts_at", "blocked_until", RangeBoundary()), RangeOperators.OVERLAPS),
                             ("room", RangeOperators.EQUAL)],
                condition=Q(status__in=ACTIVE_STATUSES, room__isnull=False)),
            ExclusionConstraint(
                name="booking_device_no_overlap",
                expressions=[(TsTzRange("starts_at", "blocked_until", RangeBoundary()), RangeOperators.OVERLAPS),
                             ("device", RangeOperators.EQUAL)],
                condition=Q(status__in=ACTIVE_STATUSES, device__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.treatment} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class BookingEvent(models.Model):
    """Append-only history of a booking (a trigger refuses UPDATE and DELETE): every status change
    and reschedule, with who did it, through which channel and why."""

    class Kind(models.TextChoices):
        BOOKED = "booked", _("Booked")
        STATUS = "status", _("Status changed")
        RESCHEDULED = "rescheduled", _("Rescheduled")
        DEPOSIT = "deposit", _("Deposit recorded")
        VISIT = "visit", _("Checked out")

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    channel = models.CharField(max_length=10, choices=Booking.Channel.choices)
    reason = models.CharField(max_length=255, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]


class AppointmentPolicy(models.Model):
    """The clinic's booking rules (one row, installed at provisioning)."""

    slot_step_minutes = models.PositiveIntegerField(_("slot step (minutes)"), default=15,
                                                    validators=[MinValueValidator(5)])
    online_booking_enabled = models.BooleanField(_("members may book online"), default=True)
    online_min_notice_minutes = models.PositiveIntegerField(
        _("online booking notice (minutes)"), default=120,
        help_text=_("Members book online at least this long before the start."))
    online_max_days_ahead = models.PositiveIntegerField(_("online booking horizon (days)"), default=60)
    cancel_window_hours = models.PositiveIntegerField(
        _("online cancellation window (hours)"), default=24,
        help_text=_("Members cancel online until this many hours before the start; later is a late cancellation."))
    reschedule_window_hours = models.PositiveIntegerField(
        _("online reschedule window (hours)"), default=24,
        help_text=_("Members reschedule online until this many hours before the start."))
    max_no_shows_online = models.PositiveIntegerField(
        _("no-shows before online booking is blocked"), default=3,
        help_text=_("0 means never blocked."))
    deposit_amount = models.DecimalField(_("deposit per booking"), **MONEY, default=Decimal("0.00"),
                                         validators=[MinValueValidator(Decimal("0.00"))])
    reminder_minutes = ArrayField(models.PositiveIntegerField(), verbose_name=_("reminders (minutes before)"),
                                  default=list, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="appointment_policy_single_row"),
            models.CheckConstraint(condition=Q(slot_step_minutes__gte=5), name="appointment_policy_step_min"),
            models.CheckConstraint(condition=Q(deposit_amount__gte=0), name="appointment_policy_deposit_min"),
        ]


class Reminder(models.Model):
    """A reminder a booking is due, one per booking and kind ("24h", "2h"); the reminder job
    (`reminders.appointment_reminders_send`) sends the pending ones whose time has come and
    closes each with its outcome: sent (with its message), skipped or cancelled with a reason."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")
        CANCELLED = "cancelled", pgettext_lazy("appointment status", "Cancelled")

    class Reason(models.TextChoices):
        """Why a reminder was skipped or cancelled. A reminder skipped by the messaging rules keeps
        the message's own skip reason (`messaging.Message.SkipReason`) instead."""

        TOO_LATE = "too_late", _("Its time had already passed when it was planned")
        NOT_IN_PLAN = "not_in_plan", _("No longer in the clinic's reminder plan")
        BOOKING_INACTIVE = "booking_inactive", _("The appointment is no longer booked or confirmed")
        TIME_CHANGED = "time_changed", _("The appointment time has changed")
        APPOINTMENT_STARTED = "appointment_started", _("The appointment had already started")

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=12)
    minutes_before = models.PositiveIntegerField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=30, blank=True)
    message = models.ForeignKey("messaging.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["due_at"], name="reminder_due_pending",
                                condition=Q(status="pending"))]
        constraints = [
            models.UniqueConstraint(fields=["booking", "kind"], name="reminder_once_per_booking_and_kind"),
            models.CheckConstraint(condition=~Q(status="sent") | Q(sent_at__isnull=False),
                                   name="sent_reminder_has_time"),
        ]
