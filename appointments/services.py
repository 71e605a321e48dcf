"""Bookings: book, reschedule, the status flow (booked → confirmed → checked in → completed, or
cancelled, or no-show), deposits, and the checkout of a completed appointment.

Every write locks the booking, appends a BookingEvent with the actor and channel, and keeps the
reminders in step. Members acting online (`by_member=True`) are held to the clinic's policy;
staff are not, but a cancellation the member asked for inside the window is flagged late.
No double booking is decided by PostgreSQL: exclusion constraints on the practitioner, room and
device refuse overlapping active bookings, whatever Python saw before."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from appointments.availability import Slot, nearest_alternatives, slot_fit
from appointments.models import ACTIVE_STATUSES, Booking, BookingEvent, Location, Practitioner
from appointments.reminders import reminders_cancel, reminders_plan
from appointments.schedule import appointment_policy, online_window_open, schedule_exceptions_lock
from checkout.services import CheckoutResult, LineInput, PaymentInput, checkout_complete
from members.models import Member
from visits.models import CatalogueItem, Payment

EXCLUSION_VIOLATION = "23P01"
RESOURCE_RETRIES = 3


class SlotUnavailable(Exception):
    """The requested time cannot be booked; `alternatives` are the free slots nearest to it."""

    def __init__(self, message: str, alternatives: list[Slot]):
        super().__init__(message)
        self.message = message
        self.alternatives = alternatives


def _event(booking: Booking, *, kind: str, actor: User | None, by_member: bool, from_status: str = "",
           reason: str = "", detail: dict | None = None, at: datetime | None = None) -> BookingEvent:
    return BookingEvent.objects.create(
        booking=booking, kind=kind, from_status=from_status, to_status=booking.status, actor=actor,
        channel=Booking.Channel.MEMBER if by_member else Booking.Channel.STAFF, reason=reason,
        detail=detail or {}, at=at or timezone.now())


def _check_treatment(treatment: CatalogueItem) -> None:
    if treatment.kind != CatalogueItem.Kind.TREATMENT or not treatment.active or not treatment.duration_minutes:
        raise ValidationError({"treatment": _("Only an active treatment can be booked.")})


def _check_online(*, member: Member, treatment: CatalogueItem, starts_at: datetime, now: datetime) -> None:
    policy = appointment_policy()
    if not policy.online_booking_enabled:
        raise PermissionDenied(_("This clinic takes bookings at the front desk only."))
    if not treatment.online_booking_enabled:
        raise PermissionDenied(_("This treatment is booked at the front desk only; please call the clinic."))
    if starts_at < now + timedelta(minutes=policy.online_min_notice_minutes):
        raise ValidationError({"starts_at": _("Online bookings must be made at least %(minutes)s minutes ahead.")
                               % {"minutes": policy.online_min_notice_minutes}})
    if starts_at > now + timedelta(days=policy.online_max_days_ahead):
        raise ValidationError({"starts_at": _("Online bookings can be made at most %(days)s days ahead.")
                               % {"days": policy.online_max_days_ahead}})
    if policy.max_no_shows_online and Booking.objects.filter(
            member=member, status=Booking.Status.NO_SHOW).count() >= policy.max_no_shows_online:
        raise PermissionDenied(_("Please call the clinic to book: missed appointments need the front desk."))


def _unavailable(*, treatment: CatalogueItem, starts_at: datetime, practitioner: Practitioner | None,
                 location: Location | None, now: datetime, exclude: int | None = None) -> SlotUnavailable:
    alternatives = nearest_alternatives(
        treatment=treatment, around=starts_at, practitioner_id=practitioner.pk if practitioner else None,
        location_id=location.pk if location else None, not_before=now, exclude_booking_id=exclude)
    return SlotUnavailable(_("This time is not available. The nearest free times are listed."), alternatives)


def _place(booking: Booking, *, treatment: CatalogueItem, starts_at: datetime, practitioner: Practitioner | None,
           location: Location | None, now: datetime) -> None:
    """Find a fitting practitioner, room and device for `starts_at` and save the booking. A lost
    race on a room or device (another booking took it since we looked) tries the next one. A
    schedule exception being recorded is waited for first (`schedule_exceptions_lock`)."""
    schedule_exceptions_lock(for_exception=False)
    for _attempt in range(RESOURCE_RETRIES):
        slot = slot_fit(treatment=treatment, starts_at=starts_at,
                        practitioner_ids=[practitioner.pk] if practitioner else None,
                        location_id=location.pk if location else None, exclude_booking_id=booking.pk)
        if slot is None:
            break
        booking.practitioner_id, booking.location_id = slot.practitioner_id, slot.location_id
        booking.room_id, booking.device_id = slot.room_id, slot.device_id
        booking.starts_at, booking.ends_at, booking.blocked_until = slot.starts_at, slot.ends_at, slot.blocked_until
        try:
            with transaction.atomic():
                booking.save()
            return
        except IntegrityError as exc:
            cause = getattr(exc, "__cause__", None)
            if getattr(cause, "sqlstate", None) != EXCLUSION_VIOLATION:
                raise
            constraint = getattr(getattr(cause, "diag", None), "constraint_name", "") or ""
            if "practitioner" in constraint and practitioner is not None:
                break
    raise _unavailable(treatment=treatment, starts_at=starts_at, practitioner=practitioner, location=location,
                       now=now, exclude=booking.pk)


@transaction.atomic
def booking_create(*, member: Member, treatment: CatalogueItem, starts_at: datetime, actor: User | None,
                   practitioner: Practitioner | None = None, location: Location | None = None,
                   by_member: bool = False, notes: str = "", now: datetime | None = None) -> Booking:
    """Book a treatment for a member at `starts_at`, with the given practitioner or the first
    free one who performs it. Raises SlotUnavailable (with the nearest free times) when the time
    is taken, outside working hours, blocked, or no room or device is free."""
    now = now or timezone.now()
    _check_treatment(treatment)
    if not member.is_active:
        raise ValidationError({"member": _("Only an active member can book.")})
    if starts_at < now:
        raise ValidationError({"starts_at": _("This time has already passed.")})
    if practitioner is not None and not practitioner.treatments.filter(pk=treatment.pk).exists():
        raise ValidationError({"practitioner": _("%(name)s does not perform this treatment.")
                               % {"name": practitioner}})
    if by_member:
        _check_online(member=member, treatment=treatment, starts_at=starts_at, now=now)
    booking = Booking(member=member, treatment=treatment, channel=Booking.Channel.MEMBER if by_member
                      else Booking.Channel.STAFF, booked_by=None if by_member else actor, notes=notes.strip(),
                      deposit_amount=appointment_policy().deposit_amount)
    _place(booking, treatment=treatment, starts_at=starts_at, practitioner=practitioner, location=location, now=now)
    _event(booking, kind=BookingEvent.Kind.BOOKED, actor=actor, by_member=by_member, at=now,
           detail={"starts_at": booking.starts_at.isoformat(), "practitioner": booking.practitioner_id})
    reminders_plan(booking=booking, now=now)
    return booking


def _lock(booking: Booking) -> Booking:
    return Booking.objects.select_for_update().get(pk=booking.pk)


@transaction.atomic
def booking_reschedule(*, booking: Booking, starts_at: datetime, actor: User | None,
                       practitioner: Practitioner | None = None, by_member: bool = False,
                       reason: str = "", now: datetime | None = None) -> Booking:
    """Move a booking to another time (and practitioner). Members online may do so only until
    the clinic's reschedule window; the reminders follow the new time."""
    now = now or timezone.now()
    booking = _lock(booking)
    if booking.status not in (Booking.Status.BOOKED, Booking.Status.CONFIRMED):
        raise ValidationError(_("Only a booked or confirmed appointment can be rescheduled."))
    if starts_at < now:
        raise ValidationError({"starts_at": _("This time has already passed.")})
    if by_member:
        hours = appointment_policy().reschedule_window_hours
        if not online_window_open(booking.starts_at, hours, now):
            raise PermissionDenied(_("Appointments can be moved online until %(hours)s hours before; "
                                     "please call the clinic.") % {"hours": hours})
        _check_online(member=booking.member, treatment=booking.treatment, starts_at=starts_at, now=now)
    if practitioner is not None and not practitioner.treatments.filter(pk=booking.treatment_id).exists():
        raise ValidationError({"practitioner": _("%(name)s does not perform this treatment.") % {"name": practitioner}})
    before = {"starts_at": booking.starts_at.isoformat(), "practitioner": booking.practitioner_id}
    _place(booking, treatment=booking.treatment, starts_at=starts_at, practitioner=practitioner or booking.practitioner,
           location=booking.location, now=now)
    booking.reschedule_count += 1
    booking.save(update_fields=["reschedule_count", "updated_at"])
    _event(booking, kind=BookingEvent.Kind.RESCHEDULED, actor=actor, by_member=by_member, from_status=booking.status,
           reason=reason.strip(), at=now,
           detail={"from": before, "to": {"starts_at": booking.starts_at.isoformat(),
                                          "practitioner": booking.practitioner_id}})
    reminders_plan(booking=booking, now=now)
    return booking


@transaction.atomic
def booking_cancel(*, booking: Booking, actor: User | None, reason: str, by_member: bool = False,
                   party: str = Booking.Party.MEMBER, now: datetime | None = None) -> Booking:
    """Cancel, saying who wanted it (the member or the clinic) and why. Members online may cancel
    until the clinic's cancellation window; a member's cancellation after it (taken by the front
    desk) is flagged late. The reminders not yet sent are cancelled."""
    now = now or timezone.now()
    booking = _lock(booking)
    if booking.status not in (Booking.Status.BOOKED, Booking.Status.CONFIRMED):
        raise ValidationError(_("Only a booked or confirmed appointment can be cancelled."))
    if not by_member and not reason.strip():
        raise ValidationError({"reason": _("Say why the appointment is cancelled.")})
    if party not in Booking.Party.values:
        raise ValidationError({"party": _("Say whether the member or the clinic cancelled.")})
    hours = appointment_policy().cancel_window_hours
    in_time = online_window_open(booking.starts_at, hours, now)
    if by_member:
        party = Booking.Party.MEMBER
        if not in_time:
            raise PermissionDenied(_("Appointments can be cancelled online until %(hours)s hours before; "
                                     "please call the clinic.") % {"hours": hours})
    previous = booking.status
    booking.status = Booking.Status.CANCELLED
    booking.cancelled_at, booking.cancelled_by, booking.cancelled_by_party = now, actor, party
    booking.cancel_reason = reason.strip()
    booking.late_cancellation = party == Booking.Party.MEMBER and not in_time
    booking.save()
    _event(booking, kind=BookingEvent.Kind.STATUS, actor=actor, by_member=by_member, from_status=previous,
           reason=booking.cancel_reason, at=now, detail={"party": party, "late": booking.late_cancellation})
    reminders_cancel(booking=booking)
    return booking


TRANSITIONS = {
    Booking.Status.CONFIRMED: (Booking.Status.BOOKED,),
    Booking.Status.CHECKED_IN: (Booking.Status.BOOKED, Booking.Status.CONFIRMED),
    Booking.Status.COMPLETED: (Booking.Status.CHECKED_IN,),
    Booking.Status.NO_SHOW: (Booking.Status.BOOKED, Booking.Status.CONFIRMED),
}


def _transition(booking: Booking, to: str, *, actor: User | None, by_member: bool = False, reason: str = "",
                now: datetime | None = None) -> Booking:
    now = now or timezone.now()
    booking = _lock(booking)
    if booking.status not in TRANSITIONS[to]:
        raise ValidationError(_("A %(current)s appointment cannot become %(target)s.")
                              % {"current": booking.get_status_display(), "target": Booking.Status(to).label})
    previous = booking.status
    booking.status = to
    booking.save(update_fields=["status", "updated_at"])
    _event(booking, kind=BookingEvent.Kind.STATUS, actor=actor, by_member=by_member, from_status=previous,
           reason=reason.strip(), at=now)
    if to != Booking.Status.CONFIRMED:
        reminders_cancel(booking=booking)
    return booking


@transaction.atomic
def booking_confirm(*, booking: Booking, actor: User | None, by_member: bool = False) -> Booking:
    return _transition(booking, Booking.Status.CONFIRMED, actor=actor, by_member=by_member)


@transaction.atomic
def booking_check_in(*, booking: Booking, actor: User, now: datetime | None = None) -> Booking:
    return _transition(booking, Booking.Status.CHECKED_IN, actor=actor, now=now)


@transaction.atomic
def booking_complete(*, booking: Booking, actor: User, now: datetime | None = None) -> Booking:
    """The treatment is done; the checkout for it is now open (see `booking_checkout_prefill`)."""
    return _transition(booking, Booking.Status.COMPLETED, actor=actor, now=now)


@transaction.atomic
def booking_no_show(*, booking: Booking, actor: User, reason: str = "", now: datetime | None = None) -> Booking:
    """The member did not come. Only once the appointment has started; counts towards the
    member's no-shows."""
    now = now or timezone.now()
    if now < booking.starts_at:
        raise ValidationError(_("A no-show can be recorded only after the appointment has started."))
    return _transition(booking, Booking.Status.NO_SHOW, actor=actor, reason=reason, now=now)


@transaction.atomic
def booking_deposit_record(*, booking: Booking, amount: Decimal, method: str, actor: User,
                           now: datetime | None = None) -> Booking:
    """Record a deposit taken for the booking (the money itself is counted at checkout). A booking
    holds one deposit: a second one is refused, so the one the checkout counts is never replaced."""
    now = now or timezone.now()
    booking = _lock(booking)
    if booking.status not in ACTIVE_STATUSES:
        raise ValidationError(_("A deposit can be recorded only on an open appointment."))
    if booking.deposit_recorded_at is not None:
        raise ValidationError(_("A deposit has already been recorded for this appointment."))
    if amount <= 0:
        raise ValidationError({"amount": _("The deposit must be more than zero.")})
    if method not in Payment.Method.values:
        raise ValidationError({"method": _("Unknown payment method.")})
    booking.deposit_amount, booking.deposit_method = amount, method
    booking.deposit_recorded_at, booking.deposit_recorded_by = now, actor
    booking.full_clean()
    booking.save()
    _event(booking, kind=BookingEvent.Kind.DEPOSIT, actor=actor, by_member=False, from_status=booking.status,
           at=now, detail={"amount": str(amount), "method": method})
    return booking


@transaction.atomic
def booking_checkout(*, booking: Booking, actor: User, payments: list[PaymentInput],
                     lines: list[LineInput] | None = None, coupon_code: str = "", points_to_use: int = 0,
                     at: datetime | None = None) -> CheckoutResult:
    """Check out a checked-in or completed appointment: the visit is recorded by the checkout
    (points, tier, coupon in its one transaction), the appointment is completed and linked to
    it. Without `lines`, the booked treatment at its catalogue price is billed."""
    booking = _lock(booking)
    if booking.status not in (Booking.Status.CHECKED_IN, Booking.Status.COMPLETED):
        raise ValidationError(_("Only a checked-in or completed appointment can be checked out."))
    if booking.visit_id is not None:
        raise ValidationError(_("This appointment has already been checked out."))
    result = checkout_complete(member=booking.member, actor=actor, payments=payments, coupon_code=coupon_code,
                               points_to_use=points_to_use, at=at,
                               lines=lines or [LineInput(item_id=booking.treatment_id)],
                               external_ref=f"booking:{booking.pk}")
    previous = booking.status
    booking.visit = result.visit
    booking.status = Booking.Status.COMPLETED
    booking.save(update_fields=["visit", "status", "updated_at"])
    _event(booking, kind=BookingEvent.Kind.VISIT, actor=actor, by_member=False, from_status=previous,
           detail={"visit": result.visit.pk})
    return result


def bookings_merge(survivor: Member, duplicate: Member, actor: User | None) -> None:
    Booking.objects.filter(member=duplicate).update(member=survivor)


def bookings_erase(member: Member) -> None:
    Booking.objects.filter(member=member).update(notes="")
