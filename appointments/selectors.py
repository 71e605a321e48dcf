"""Reads: bookings, the front-desk calendar (day and week per practitioner, room or device),
member attendance, the checkout prefill of an appointment, reminders due, and the recall list."""

import operator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import reduce

from django.db.models import (
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.utils import timezone

from appointments.availability import local_day_start
from appointments.models import (
    ACTIVE_STATUSES,
    Booking,
    Reminder,
    Resource,
    ScheduleException,
    WorkingHours,
)
from members.models import Member
from points.rules import clinic_zone
from recommendations.selectors import interval_days_expression
from visits.models import CatalogueItem, VisitLine


def bookings_with_details() -> QuerySet[Booking]:
    return Booking.objects.select_related("member", "treatment", "practitioner__user", "location", "room", "device")


def booking_list(*, start: datetime | None = None, end: datetime | None = None, member_id: int | None = None,
                 practitioner_id: int | None = None, resource_id: int | None = None, location_id: int | None = None,
                 statuses: list[str] | None = None) -> QuerySet[Booking]:
    bookings = bookings_with_details()
    if start is not None:
        bookings = bookings.filter(blocked_until__gt=start)
    if end is not None:
        bookings = bookings.filter(starts_at__lt=end)
    if member_id is not None:
        bookings = bookings.filter(member_id=member_id)
    if practitioner_id is not None:
        bookings = bookings.filter(practitioner_id=practitioner_id)
    if resource_id is not None:
        bookings = bookings.filter(Q(room_id=resource_id) | Q(device_id=resource_id))
    if location_id is not None:
        bookings = bookings.filter(location_id=location_id)
    if statuses:
        bookings = bookings.filter(status__in=statuses)
    return bookings.order_by("starts_at", "id")


@dataclass
class CalendarDay:
    day: date
    starts_at: datetime
    ends_at: datetime
    bookings: list[Booking] = field(default_factory=list)
    working: list[dict] = field(default_factory=list)
    exceptions: list[ScheduleException] = field(default_factory=list)


def calendar(*, start: date, days: int, practitioner_id: int | None = None, resource_id: int | None = None,
             location_id: int | None = None, include_cancelled: bool = False) -> list[CalendarDay]:
    """Each local day from `start`: its bookings (cancelled ones only if asked), and for a
    practitioner their working periods, plus the exceptions that block that practitioner, room
    or device, its location or the whole clinic."""
    zone = clinic_zone()
    calendar_days = [CalendarDay(day=day, starts_at=local_day_start(day, zone),
                                 ends_at=local_day_start(day + timedelta(days=1), zone))
                     for day in (start + timedelta(days=n) for n in range(days))]
    range_start, range_end = calendar_days[0].starts_at, calendar_days[-1].ends_at
    statuses = None if include_cancelled else [*ACTIVE_STATUSES, Booking.Status.COMPLETED, Booking.Status.NO_SHOW]
    bookings = list(booking_list(start=range_start, end=range_end, practitioner_id=practitioner_id,
                                 resource_id=resource_id, location_id=location_id, statuses=statuses))
    exceptions = ScheduleException.objects.filter(starts_at__lt=range_end, ends_at__gt=range_start)
    if resource_id is not None and location_id is None:
        location_id = Resource.objects.filter(pk=resource_id).values_list("location_id", flat=True).first()
    places = Q(practitioner__isnull=True, resource__isnull=True)
    if location_id is not None:
        places &= Q(location__isnull=True) | Q(location_id=location_id)
    scope = places
    if practitioner_id is not None:
        scope |= Q(practitioner_id=practitioner_id)
    if resource_id is not None:
        scope |= Q(resource_id=resource_id)
    if practitioner_id is None and resource_id is None:
        scope = places | Q(practitioner__isnull=False) | Q(resource__isnull=False)
    exceptions = list(exceptions.filter(scope).select_related("practitioner__user", "location", "resource"))
    hours = list(WorkingHours.objects.filter(practitioner_id=practitioner_id).select_related("location")) \
        if practitioner_id is not None else []
    for calendar_day in calendar_days:
        calendar_day.bookings = [b for b in bookings
                                 if b.starts_at < calendar_day.ends_at and b.blocked_until > calendar_day.starts_at]
        calendar_day.exceptions = [e for e in exceptions
                                   if e.starts_at < calendar_day.ends_at and e.ends_at > calendar_day.starts_at]
        for row in hours:
            if row.weekday == calendar_day.day.weekday() and (location_id is None or row.location_id == location_id):
                calendar_day.working.append({
                    "location": row.location,
                    "starts_at": datetime.combine(calendar_day.day, row.starts, tzinfo=zone),
                    "ends_at": datetime.combine(calendar_day.day, row.ends, tzinfo=zone)})
    return calendar_days


def calendar_day(*, day: date, **filters) -> CalendarDay:
    return calendar(start=day, days=1, **filters)[0]


def calendar_week(*, day: date, **filters) -> list[CalendarDay]:
    """The Monday-to-Sunday week containing `day`."""
    return calendar(start=day - timedelta(days=day.weekday()), days=7, **filters)


def _blocked_by(*, practitioner_id: int | None, location_id: int | None, resource_id: int | None) -> Q:
    """The bookings an exception falls on, as availability reads it: a room or device out of
    service, the bookings holding it; leave, the practitioner's, wherever they work; a holiday or
    closure, its location's, or every booking without a location."""
    if resource_id is not None:
        return Q(room_id=resource_id) | Q(device_id=resource_id)
    if practitioner_id is not None:
        return Q(practitioner_id=practitioner_id)
    if location_id is not None:
        return Q(location_id=location_id)
    return Q()


def _overlapping(starts_at: datetime, ends_at: datetime) -> Q:
    return Q(starts_at__lt=ends_at, blocked_until__gt=starts_at)


def exception_overlapping_bookings(*, starts_at: datetime, ends_at: datetime, practitioner_id: int | None = None,
                                   location_id: int | None = None,
                                   resource_id: int | None = None) -> QuerySet[Booking]:
    """The active bookings (booked, confirmed, checked in) that an exception over
    [starts_at, ends_at) would fall on, each booking with its buffer; earliest first."""
    return (bookings_with_details()
            .filter(_blocked_by(practitioner_id=practitioner_id, location_id=location_id, resource_id=resource_id),
                    _overlapping(starts_at, ends_at), status__in=ACTIVE_STATUSES)
            .order_by("starts_at", "id"))


UPCOMING_EXCEPTIONS_LIMIT = 200


def exceptions_upcoming(*, now: datetime | None = None,
                        limit: int = UPCOMING_EXCEPTIONS_LIMIT) -> list[ScheduleException]:
    """Exceptions not yet over, soonest first, each with `bookings`: the active bookings it falls
    on (which the front desk still has to move). Two queries, however many there are."""
    now = now or timezone.now()
    exceptions = list(ScheduleException.objects.filter(ends_at__gt=now)
                      .select_related("practitioner__user", "location", "resource__location", "created_by")
                      .order_by("starts_at", "id")[:limit])
    for exception in exceptions:
        exception.bookings = []
    if not exceptions:
        return exceptions
    scope = reduce(operator.or_, (
        _blocked_by(practitioner_id=e.practitioner_id, location_id=e.location_id, resource_id=e.resource_id)
        & _overlapping(e.starts_at, e.ends_at) for e in exceptions))
    bookings = list(bookings_with_details().filter(scope, status__in=ACTIVE_STATUSES).order_by("starts_at", "id"))
    for exception in exceptions:
        exception.bookings = [b for b in bookings if _falls_on(exception, b)]
    return exceptions


def _falls_on(exception: ScheduleException, booking: Booking) -> bool:
    if not (booking.starts_at < exception.ends_at and booking.blocked_until > exception.starts_at):
        return False
    if exception.resource_id is not None:
        return exception.resource_id in (booking.room_id, booking.device_id)
    if exception.practitioner_id is not None:
        return booking.practitioner_id == exception.practitioner_id
    return exception.location_id is None or booking.location_id == exception.location_id


@dataclass(frozen=True)
class Attendance:
    upcoming: int
    completed: int
    cancelled: int
    late_cancellations: int
    no_shows: int


def member_attendance(member: Member, *, now: datetime | None = None) -> Attendance:
    now = now or timezone.now()
    bookings = Booking.objects.filter(member=member)
    return Attendance(
        upcoming=bookings.filter(status__in=ACTIVE_STATUSES, starts_at__gte=now).count(),
        completed=bookings.filter(status=Booking.Status.COMPLETED).count(),
        cancelled=bookings.filter(status=Booking.Status.CANCELLED).count(),
        late_cancellations=bookings.filter(status=Booking.Status.CANCELLED, late_cancellation=True).count(),
        no_shows=bookings.filter(status=Booking.Status.NO_SHOW).count())


def booking_checkout_prefill(booking: Booking) -> dict:
    """What the checkout for this appointment starts with: the member, the practitioner as
    staff, the booked treatment at its catalogue price and any deposit taken. `open` says
    whether the appointment can be checked out now."""
    treatment = booking.treatment
    deposit = None
    if booking.deposit_recorded_at is not None:
        deposit = {"amount": booking.deposit_amount, "method": booking.deposit_method}
    return {
        "booking_id": booking.pk,
        "open": booking.status in (Booking.Status.CHECKED_IN, Booking.Status.COMPLETED) and booking.visit_id is None,
        "member_id": booking.member_id,
        "staff_id": booking.practitioner.user_id,
        "lines": [{"item_id": treatment.pk, "name": treatment.name, "quantity": 1, "unit_price": treatment.price}],
        "deposit": deposit,
        "visit_id": booking.visit_id,
    }


def reminders_due(now: datetime | None = None) -> QuerySet[Reminder]:
    """Pending reminders whose time has come, for appointments still booked or confirmed and not
    yet started, earliest first: what the reminder job (`reminders.appointment_reminders_send`)
    will send on its next run."""
    now = now or timezone.now()
    return (Reminder.objects.filter(status=Reminder.Status.PENDING, due_at__lte=now,
                                    booking__status__in=(Booking.Status.BOOKED, Booking.Status.CONFIRMED),
                                    booking__starts_at__gt=now)
            .select_related("booking__member", "booking__treatment", "booking__location", "booking__practitioner__user")
            .order_by("due_at", "id"))


def reminders_pending_due_exist(*, now: datetime) -> bool:
    """Whether the reminder job has anything to do: a pending reminder whose time has come
    (whatever its booking's state; the job closes the stale ones)."""
    return Reminder.objects.filter(status=Reminder.Status.PENDING, due_at__lte=now).exists()


@dataclass(frozen=True)
class RecallEntry:
    member: Member
    treatment: CatalogueItem
    last_visit_at: datetime
    due_on: date
    days_overdue: int


def recall_list(*, on: date | None = None, within_days: int = 0, treatment_id: int | None = None) -> list[RecallEntry]:
    """Active members due for their next session of a treatment with an interval (the manager's
    recall interval, else the one learned from members' repeat visits: recommendations'
    `interval_days_expression`): the last visit with that treatment (not fully refunded) plus the
    interval falls on or before `on` plus `within_days`. Members who already have an upcoming
    booking for it are left out. Most overdue first."""
    zone = clinic_zone()
    now = timezone.now()
    on = on or timezone.localtime(now, zone).date()
    cutoff = local_day_start(on + timedelta(days=within_days + 1), zone)
    lines = VisitLine.objects.filter(item__kind=CatalogueItem.Kind.TREATMENT,
                                     visit__member__status=Member.Status.ACTIVE,
                                     refunded_quantity__lt=F("quantity"))
    if treatment_id is not None:
        lines = lines.filter(item_id=treatment_id)
    booked = Booking.objects.filter(member_id=OuterRef("visit__member_id"), treatment_id=OuterRef("item_id"),
                                    status__in=ACTIVE_STATUSES, starts_at__gte=now)
    rows = (lines.filter(~Exists(booked))
            .values("visit__member_id", "item_id")
            .annotate(last=Max("visit__visited_at"),
                      days=interval_days_expression(recall_days=Max("item__recall_days")))
            .filter(days__isnull=False)
            .annotate(due_at=ExpressionWrapper(
                F("last") + F("days") * Value(timedelta(days=1), output_field=DurationField()),
                output_field=DateTimeField()))
            .filter(due_at__lt=cutoff)
            .order_by("due_at"))
    rows = list(rows)
    members = Member.objects.in_bulk({row["visit__member_id"] for row in rows})
    items = CatalogueItem.objects.in_bulk({row["item_id"] for row in rows})
    entries = []
    for row in rows:
        due_on = timezone.localtime(row["due_at"], zone).date()
        entries.append(RecallEntry(member=members[row["visit__member_id"]], treatment=items[row["item_id"]],
                                   last_visit_at=row["last"], due_on=due_on, days_overdue=(on - due_on).days))
    return entries
