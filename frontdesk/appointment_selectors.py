"""Reads composed for the appointment pages: the day calendar laid out in columns per
practitioner or per room/device, the week of one practitioner, room or device, the slots offered
by the picker, and a booking with its history."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

from appointments.availability import availability
from appointments.models import Booking, BookingEvent, Practitioner, Resource, ScheduleException
from appointments.schedule import appointment_policy
from appointments.selectors import CalendarDay, bookings_with_details, calendar_day, calendar_week
from frontdesk.booking_forms import slot_value
from points.rules import clinic_zone
from visits.models import CatalogueItem, Payment

GRID_FIRST_HOUR = 8
GRID_LAST_HOUR = 21
PIXELS_PER_MINUTE = 1
SLOT_LIMIT = 300
MEMBER_PAGE_APPOINTMENTS = 10


@dataclass
class CalendarBlock:
    booking: Booking
    top: int
    height: int


@dataclass
class CalendarColumn:
    key: str
    title: str
    subtitle: str
    blocks: list[CalendarBlock] = field(default_factory=list)
    exceptions: list[ScheduleException] = field(default_factory=list)


@dataclass
class DayGrid:
    day: date
    by: str
    columns: list[CalendarColumn]
    hours: list[tuple[str, int]]
    height: int
    clinic_exceptions: list[ScheduleException]
    count: int


def _minutes_since(start: datetime, at: datetime) -> int:
    return int((at - start).total_seconds() // 60)


def day_grid(*, day: date, by: str = "practitioner", location_id: int | None = None) -> DayGrid:
    """The day's bookings (cancelled ones left out) as blocks in one column per active
    practitioner, or per active room and device. The grid runs from 08:00 to 21:00 local time,
    longer when a booking lies outside."""
    zone = clinic_zone()
    data = calendar_day(day=day, location_id=location_id)
    bookings = data.bookings
    first, last = GRID_FIRST_HOUR, GRID_LAST_HOUR
    for booking in bookings:
        start, end = timezone.localtime(booking.starts_at, zone), timezone.localtime(booking.ends_at, zone)
        first = min(first, start.hour if start.date() == day else 0)
        last = max(last, end.hour + (1 if end.minute else 0) if end.date() == day else 24)
    grid_start = datetime.combine(day, datetime.min.time(), zone) + timedelta(hours=first)
    if by == "resource":
        resources = Resource.objects.filter(active=True).select_related("resource_type", "location")
        if location_id is not None:
            resources = resources.filter(location_id=location_id)
        columns = {r.pk: CalendarColumn(key=f"resource-{r.pk}", title=r.name,
                                        subtitle=f"{r.resource_type.name} · {r.location.name}")
                   for r in resources.order_by("location_id", "resource_type__kind", "name", "id")}
        placed = [(booking, (booking.room_id, booking.device_id)) for booking in bookings]
    else:
        practitioners = Practitioner.objects.filter(active=True).select_related("user").order_by("id")
        columns = {p.pk: CalendarColumn(key=f"practitioner-{p.pk}", title=str(p), subtitle="")
                   for p in practitioners}
        placed = [(booking, (booking.practitioner_id,)) for booking in bookings]
    for booking, keys in placed:
        top = max(0, _minutes_since(grid_start, booking.starts_at)) * PIXELS_PER_MINUTE
        height = max(20, _minutes_since(booking.starts_at, booking.ends_at) * PIXELS_PER_MINUTE)
        for key in keys:
            if key in columns:
                columns[key].blocks.append(CalendarBlock(booking=booking, top=top, height=height))
    clinic_wide = []
    for exception in data.exceptions:
        key = exception.resource_id if by == "resource" else exception.practitioner_id
        if key in columns:
            columns[key].exceptions.append(exception)
        elif exception.practitioner_id is None and exception.resource_id is None:
            clinic_wide.append(exception)
    hours = [(f"{hour:02d}:00", (hour - first) * 60 * PIXELS_PER_MINUTE) for hour in range(first, last)]
    return DayGrid(day=day, by=by, columns=list(columns.values()), hours=hours,
                   height=(last - first) * 60 * PIXELS_PER_MINUTE, clinic_exceptions=clinic_wide,
                   count=len(bookings))


@dataclass(frozen=True)
class CalendarSubject:
    """Whose week the week calendar shows: a practitioner or a room or device. `key` is the
    `of` parameter of the page, the same as the day calendar's column key."""

    kind: str
    pk: int
    title: str
    subtitle: str

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.pk}"


def calendar_subjects() -> list[CalendarSubject]:
    """The active practitioners, then the active rooms and devices, in the day calendar's order."""
    practitioners = Practitioner.objects.filter(active=True).select_related("user").order_by("id")
    resources = (Resource.objects.filter(active=True).select_related("resource_type", "location")
                 .order_by("location_id", "resource_type__kind", "name", "id"))
    return [*(CalendarSubject(kind="practitioner", pk=p.pk, title=str(p), subtitle="") for p in practitioners),
            *(CalendarSubject(kind="resource", pk=r.pk, title=r.name,
                              subtitle=f"{r.resource_type.name} · {r.location.name}") for r in resources)]


def week_days(*, day: date, subject: CalendarSubject) -> list[CalendarDay]:
    """The Monday-to-Sunday week containing `day` for one practitioner, room or device: each local
    day with its bookings in time order (cancelled ones left out), the practitioner's working
    periods and the exceptions that block it."""
    if subject.kind == "practitioner":
        return calendar_week(day=day, practitioner_id=subject.pk)
    return calendar_week(day=day, resource_id=subject.pk)


@dataclass(frozen=True)
class OfferedSlot:
    starts_at: datetime
    ends_at: datetime
    practitioner: Practitioner
    value: str


def slots_offered(*, treatment: CatalogueItem, day: date, practitioner_id: int | None = None,
                  location_id: int | None = None, exclude_booking_id: int | None = None,
                  now: datetime | None = None) -> list[OfferedSlot]:
    """The free start times of a day from the availability selector, from now on. Without a
    practitioner, one per start time: the practitioner the booking service would take."""
    now = now or timezone.now()
    slots = availability(treatment=treatment, start=day, end=day,
                         practitioner_ids=[practitioner_id] if practitioner_id else None,
                         location_id=location_id, not_before=now, exclude_booking_id=exclude_booking_id)
    seen, chosen = set(), []
    for slot in slots:
        if slot.starts_at in seen:
            continue
        seen.add(slot.starts_at)
        chosen.append(slot)
        if len(chosen) >= SLOT_LIMIT:
            break
    practitioners = Practitioner.objects.select_related("user").in_bulk({slot.practitioner_id for slot in chosen})
    return [OfferedSlot(starts_at=slot.starts_at, ends_at=slot.ends_at,
                        practitioner=practitioners[slot.practitioner_id],
                        value=slot_value(slot.starts_at, slot.practitioner_id)) for slot in chosen]


def alternatives_offered(alternatives) -> list[OfferedSlot]:
    """The nearest free times a refused booking offers, ready to be buttons."""
    practitioners = Practitioner.objects.select_related("user").in_bulk({s.practitioner_id for s in alternatives})
    return [OfferedSlot(starts_at=s.starts_at, ends_at=s.ends_at, practitioner=practitioners[s.practitioner_id],
                        value=slot_value(s.starts_at, s.practitioner_id)) for s in alternatives]


@dataclass(frozen=True)
class BookingPage:
    booking: Booking
    events: list[BookingEvent]
    late_if_cancelled_now: bool
    deposit_method_label: str = ""


def booking_page(*, booking_id: int, now: datetime | None = None) -> BookingPage:
    now = now or timezone.now()
    booking = (bookings_with_details().select_related("visit", "booked_by", "cancelled_by", "deposit_recorded_by")
               .get(pk=booking_id))
    events = list(BookingEvent.objects.filter(booking=booking).select_related("actor").order_by("at", "id"))
    labels = dict(Booking.Status.choices)
    for event in events:
        event.to_label = labels.get(event.to_status, event.to_status)
    late = now > booking.starts_at - timedelta(hours=appointment_policy().cancel_window_hours)
    method = dict(Payment.Method.choices).get(booking.deposit_method, booking.deposit_method)
    return BookingPage(booking=booking, events=events, late_if_cancelled_now=late, deposit_method_label=method)


def member_appointments(*, member_id: int, now: datetime | None = None) -> tuple[list[Booking], list[Booking]]:
    """The member's upcoming appointments (soonest first) and the latest past ones, two queries.
    Only what the member page shows is joined (treatment and practitioner): each extra join
    costs PostgreSQL planning time on every request."""
    now = now or timezone.now()
    bookings = Booking.objects.select_related("treatment", "practitioner__user").filter(member_id=member_id)
    upcoming = list(bookings.filter(starts_at__gte=now).order_by("starts_at", "id")[:MEMBER_PAGE_APPOINTMENTS])
    past = list(bookings.filter(starts_at__lt=now).order_by("-starts_at", "-id")[:MEMBER_PAGE_APPOINTMENTS])
    return upcoming, past


def appointments_on(day: date) -> list[Booking]:
    """Today's card: the day's appointments that are not cancelled, earliest first."""
    return calendar_day(day=day).bookings
