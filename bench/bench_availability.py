"""Availability for a week: the front desk opens the booking screen for a treatment that needs a
room and a device, for all twenty practitioners of a clinic, over a week that is already about
half booked, with some leave and a public holiday."""

import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from statistics import median, quantiles

from django.db import connection
from django_tenants.utils import tenant_context

from accounts.models import User
from appointments.availability import availability
from appointments.models import Booking, Practitioner, ResourceType, ScheduleException, WorkingHours
from appointments.schedule import (
    location_create,
    resource_create,
    resource_type_create,
    treatment_requirements_set,
)
from bench.clinic_data import drop_clinic, fresh_clinic, members_fill
from bench.figures import Figure
from members.models import Member
from visits.services import catalogue_item_create, category_create

PRACTITIONERS = 20
ROOMS = 20
DEVICES = 4
RUNS = 50
TARGET_MS = 50.0


def _week_start() -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=14 - today.weekday())


def _fill(clinic) -> tuple:
    """Twenty practitioners, Monday to Saturday 09:00-12:30 and 13:30-19:00, each about half
    booked in their own room; four of them also hold a device at 11:00 and 16:00."""
    zone = clinic.zone
    members_fill(clinic, 500)
    with tenant_context(clinic):
        location = location_create(name="总店")
        room_type = resource_type_create(name="治疗室", kind=ResourceType.Kind.ROOM)
        device_type = resource_type_create(name="激光仪", kind=ResourceType.Kind.DEVICE)
        rooms = [resource_create(location=location, resource_type=room_type, name=f"{n} 号房") for n in range(ROOMS)]
        devices = [resource_create(location=location, resource_type=device_type, name=f"激光 {n}")
                   for n in range(DEVICES)]
        category = category_create(name="激光", code="laser")
        laser = catalogue_item_create(kind="treatment", name="皮秒", sku="PICO", category=category,
                                      price=Decimal("3000"), duration_minutes=60, buffer_minutes=15)
        treatment_requirements_set(treatment=laser, resource_types=[room_type, device_type])
        users = User.objects.bulk_create([User(username=f"dr{n}", full_name=f"医生 {n}") for n in range(PRACTITIONERS)])
        practitioners = Practitioner.objects.bulk_create([Practitioner(user=user) for user in users])
        Practitioner.treatments.through.objects.bulk_create(
            [Practitioner.treatments.through(practitioner=p, catalogueitem=laser) for p in practitioners])
        WorkingHours.objects.bulk_create([
            WorkingHours(practitioner=p, location=location, weekday=day, starts=starts, ends=ends)
            for p in practitioners for day in range(6)
            for starts, ends in ((clock(9), clock(12, 30)), (clock(13, 30), clock(19)))])
        member_ids = list(Member.objects.values_list("pk", flat=True))
        monday = _week_start()
        bookings, n = [], 0
        for index, practitioner in enumerate(practitioners):
            for day in range(6):
                for hour in (9, 11, 14, 16, 18):
                    if (index + day + hour) % 3 == 0:
                        continue
                    starts_at = datetime.combine(monday + timedelta(days=day), clock(hour), tzinfo=zone)
                    device = devices[index] if index < DEVICES and hour in (11, 16) else None
                    bookings.append(Booking(
                        member_id=member_ids[n % len(member_ids)], treatment=laser, practitioner=practitioner,
                        location=location, room=rooms[index], device=device, starts_at=starts_at,
                        ends_at=starts_at + timedelta(minutes=60), blocked_until=starts_at + timedelta(minutes=75),
                        channel="staff"))
                    n += 1
        Booking.objects.bulk_create(bookings)
        for practitioner in practitioners[:3]:
            ScheduleException.objects.create(
                kind="leave", practitioner=practitioner,
                starts_at=datetime.combine(monday + timedelta(days=2), clock(9), tzinfo=zone),
                ends_at=datetime.combine(monday + timedelta(days=3), clock(19), tzinfo=zone))
        ScheduleException.objects.create(
            kind="holiday", starts_at=datetime.combine(monday + timedelta(days=5), clock(0), tzinfo=zone),
            ends_at=datetime.combine(monday + timedelta(days=6), clock(0), tzinfo=zone))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE appointments_booking")
        return laser, monday, len(bookings)


def main() -> list[Figure]:
    clinic = fresh_clinic("benchappt")
    try:
        laser, monday, booked = _fill(clinic)
        with tenant_context(clinic):
            sunday = monday + timedelta(days=6)
            slots = availability(treatment=laser, start=monday, end=sunday)
            timings = []
            for _run in range(RUNS):
                started = time.perf_counter()
                availability(treatment=laser, start=monday, end=sunday)
                timings.append((time.perf_counter() - started) * 1000)
            p95 = quantiles(timings, n=20)[-1]
            return [
                Figure(f"week availability, {PRACTITIONERS} practitioners, p95", p95, unit="ms", target=TARGET_MS),
                Figure("week availability, median", median(timings), unit="ms",
                       note=f"reference: {booked} bookings in the week, {len(slots)} free slots found"),
            ]
    finally:
        drop_clinic(clinic)
