"""Reads for a member booking online: which treatments they may book, the free times the clinic's
online policy leaves open, their own appointments, and whether each can still be moved or
cancelled online. The same availability engine and policy the booking service applies; the
service itself re-checks everything when the member submits."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from appointments.availability import Slot, availability
from appointments.models import ACTIVE_STATUSES, AppointmentPolicy, Booking, Practitioner
from appointments.schedule import appointment_policy, online_window_open
from members.models import Member
from points.rules import local_date
from visits.models import CatalogueItem

ONLINE_SLOT_LIMIT = 60
MEMBER_PAST_LIMIT = 50


def treatments_bookable_online() -> QuerySet[CatalogueItem]:
    """Active treatments the clinic lets members book online and an active practitioner
    performs; none when the clinic takes bookings at the front desk only."""
    if not appointment_policy().online_booking_enabled:
        return CatalogueItem.objects.none()
    performed = Practitioner.treatments.through.objects.filter(
        catalogueitem_id=OuterRef("pk"), practitioner__active=True)
    return (CatalogueItem.objects.filter(kind=CatalogueItem.Kind.TREATMENT, active=True, online_booking_enabled=True,
                                         duration_minutes__gt=0)
            .filter(Exists(performed)).select_related("category").order_by("category__name", "name"))


@dataclass(frozen=True)
class OnlineWindow:
    """The first and last local days a member may book online now, and the earliest start."""

    first_day: date
    last_day: date
    not_before: datetime


def online_window(*, now: datetime | None = None) -> OnlineWindow:
    now = now or timezone.now()
    policy = appointment_policy()
    not_before = now + timedelta(minutes=policy.online_min_notice_minutes)
    last = now + timedelta(days=policy.online_max_days_ahead)
    return OnlineWindow(first_day=local_date(not_before), last_day=local_date(last), not_before=not_before)


def online_slots(*, treatment: CatalogueItem, day: date, practitioner_id: int | None = None,
                 exclude_booking_id: int | None = None, now: datetime | None = None) -> list[Slot]:
    """The free start times on local `day` a member may book online: after the notice period,
    within the horizon, one per start time (the practitioner the booking service would take, or
    the one asked for)."""
    now = now or timezone.now()
    window = online_window(now=now)
    if not window.first_day <= day <= window.last_day:
        return []
    horizon = now + timedelta(days=appointment_policy().online_max_days_ahead)
    slots = availability(treatment=treatment, start=day, end=day,
                         practitioner_ids=[practitioner_id] if practitioner_id else None,
                         not_before=window.not_before, exclude_booking_id=exclude_booking_id)
    chosen, seen = [], set()
    for slot in slots:
        if slot.starts_at in seen or slot.starts_at > horizon:
            continue
        seen.add(slot.starts_at)
        chosen.append(slot)
        if len(chosen) >= ONLINE_SLOT_LIMIT:
            break
    return chosen


@dataclass(frozen=True)
class MemberBooking:
    booking: Booking
    can_cancel: bool
    can_reschedule: bool


@dataclass(frozen=True)
class MemberBookings:
    upcoming: list[MemberBooking]
    past: list[Booking]


def member_booking_get(*, member: Member, pk: int) -> Booking | None:
    """One of the member's own bookings (None for anyone else's)."""
    return (Booking.objects.select_related("treatment", "practitioner__user", "location")
            .filter(member=member, pk=pk).first())


def member_booking_changes(booking: Booking, *, now: datetime | None = None,
                           policy: AppointmentPolicy | None = None) -> MemberBooking:
    """Whether the member may still cancel or move `booking` online, by the clinic's windows."""
    now = now or timezone.now()
    policy = policy or appointment_policy()
    open_ = booking.status in (Booking.Status.BOOKED, Booking.Status.CONFIRMED) and booking.starts_at > now
    return MemberBooking(
        booking=booking,
        can_cancel=open_ and online_window_open(booking.starts_at, policy.cancel_window_hours, now),
        can_reschedule=(open_ and policy.online_booking_enabled and booking.treatment.online_booking_enabled
                        and online_window_open(booking.starts_at, policy.reschedule_window_hours, now)))


def member_bookings(*, member: Member, now: datetime | None = None) -> MemberBookings:
    """The member's open appointments still to come (soonest first), with what they may change
    online, and their others (past, cancelled, missed; newest first)."""
    now = now or timezone.now()
    bookings = Booking.objects.select_related("treatment", "practitioner__user", "location").filter(member=member)
    upcoming = list(bookings.filter(status__in=ACTIVE_STATUSES, ends_at__gt=now).order_by("starts_at", "id"))
    past = list(bookings.exclude(pk__in=[b.pk for b in upcoming]).order_by("-starts_at", "-id")[:MEMBER_PAST_LIMIT])
    policy = appointment_policy()
    return MemberBookings(upcoming=[member_booking_changes(booking, now=now, policy=policy) for booking in upcoming],
                          past=past)
