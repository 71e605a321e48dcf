"""Schedule exceptions against bookings made at the same moment, in a committed clinic with real
connections: a booking cannot slip into the time of an exception being recorded, and an exception
cannot miss a booking being made. Overlapping exceptions of the same target are refused, and a
confirmation covers only the appointments it was shown."""

import threading
import time as clock
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from accounts.roles import Role
from accounts.services import staff_create
from appointments.models import Booking, Practitioner, ScheduleException
from appointments.schedule import (
    ExceptionOverlapsBookings,
    Period,
    location_create,
    practitioner_create,
    schedule_exception_create,
    working_hours_set,
)
from appointments.services import SlotUnavailable, booking_create
from appointments.tests.conftest import upcoming_monday
from members.models import Member
from members.services import member_register
from points.rules import clinic_zone
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

HOLD = 1.5


def at(day, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=clinic_zone())


# --- Without concurrency (the test clinic) ---------------------------------------------------

def test_an_overlapping_leave_of_the_same_practitioner_is_refused(world, monday):
    schedule_exception_create(kind="leave", practitioner=world.dr_a, starts_at=at(monday, 9), ends_at=at(monday, 13),
                              actor=None, reason="年假")
    with pytest.raises(ValidationError) as refused:
        schedule_exception_create(kind="leave", practitioner=world.dr_a, starts_at=at(monday, 12),
                                  ends_at=at(monday, 15), actor=None, reason="又请假")
    assert refused.value.error_dict["starts_at"][0].code == "overlaps_exception"
    assert "practitioner" in refused.value.messages[0]
    # Another practitioner, or the time right after, is fine
    schedule_exception_create(kind="leave", practitioner=world.dr_b, starts_at=at(monday, 12), ends_at=at(monday, 15),
                              actor=None, reason="病假")
    schedule_exception_create(kind="leave", practitioner=world.dr_a, starts_at=at(monday, 13), ends_at=at(monday, 15),
                              actor=None, reason="下午")
    assert ScheduleException.objects.count() == 3


def test_a_clinic_wide_holiday_overlapping_another_is_refused(world, monday):
    schedule_exception_create(kind="holiday", starts_at=at(monday, 0), ends_at=at(monday + timedelta(days=1), 0),
                              actor=None, reason="国庆")
    with pytest.raises(ValidationError):
        schedule_exception_create(kind="closure", starts_at=at(monday, 10), ends_at=at(monday, 12), actor=None,
                                  reason="装修")
    schedule_exception_create(kind="closure", location=world.location, starts_at=at(monday, 10),
                              ends_at=at(monday, 12), actor=None, reason="装修")


def test_a_confirmation_covers_only_the_appointments_it_was_shown(world, monday):
    first = booking_create(member=world.member, treatment=world.facial, starts_at=at(monday, 10),
                           practitioner=world.dr_a, actor=None)
    with pytest.raises(ExceptionOverlapsBookings) as shown:
        schedule_exception_create(kind="leave", practitioner=world.dr_a, starts_at=at(monday, 9),
                                  ends_at=at(monday, 13), actor=None, reason="年假")
    assert [b.pk for b in shown.value.bookings] == [first.pk]
    # A booking made after the list was shown
    second = booking_create(member=world.member2, treatment=world.facial, starts_at=at(monday, 11),
                            practitioner=world.dr_a, actor=None)
    with pytest.raises(ExceptionOverlapsBookings) as again:
        schedule_exception_create(kind="leave", practitioner=world.dr_a, starts_at=at(monday, 9),
                                  ends_at=at(monday, 13), actor=None, reason="年假", overlaps_confirmed=True,
                                  confirmed_bookings=[first.pk])
    assert [b.pk for b in again.value.bookings] == [first.pk, second.pk]
    assert not ScheduleException.objects.exists()
    schedule_exception_create(kind="leave", practitioner=world.dr_a, starts_at=at(monday, 9), ends_at=at(monday, 13),
                              actor=None, reason="年假", overlaps_confirmed=True,
                              confirmed_bookings=[first.pk, second.pk])
    assert ScheduleException.objects.count() == 1


# --- With real concurrency -------------------------------------------------------------------

@pytest.fixture(scope="module")
def place(committed_clinic, django_db_blocker):
    clinic = committed_clinic("exceptionlock", "排班锁诊所")
    with django_db_blocker.unblock(), tenant_context(clinic):
        location = location_create(name="总店")
        category = category_create(name="护理", code="care")
        facial = catalogue_item_create(kind="treatment", name="面护", sku="FACE", category=category,
                                       price=Decimal("300"), duration_minutes=60)
        user = staff_create(username="drlock", email="drlock@example.test", full_name="锁医生",
                            role=Role.PRACTITIONER, password="x" * 12)
        doctor = practitioner_create(user=user, treatments=[facial])
        working_hours_set(practitioner=doctor, periods=[Period(location_id=location.pk, weekday=d, starts=time(9),
                                                               ends=time(18)) for d in range(7)])
        member = member_register(name="并发会员", phone="13500000001", actor=None)
    return clinic, facial.pk, doctor.pk, member.pk


def test_a_booking_waits_for_an_exception_being_recorded_and_is_refused(place, django_db_blocker):
    clinic, facial_id, doctor_id, member_id = place
    day = upcoming_monday() + timedelta(days=7)
    recorded = threading.Event()
    outcome: dict[str, object] = {}

    def record_leave() -> None:
        try:
            with tenant_context(clinic), transaction.atomic():
                schedule_exception_create(kind="leave", practitioner=Practitioner.objects.get(pk=doctor_id),
                                          starts_at=at(day, 9), ends_at=at(day, 18), actor=None, reason="年假")
                recorded.set()
                clock.sleep(HOLD)
                outcome["committed_at"] = clock.monotonic()
        finally:
            connection.close()

    def book() -> None:
        try:
            recorded.wait(timeout=30)
            with tenant_context(clinic):
                try:
                    booking_create(member=Member.objects.get(pk=member_id),
                                   treatment=CatalogueItem.objects.get(pk=facial_id),
                                   practitioner=Practitioner.objects.get(pk=doctor_id),
                                   starts_at=at(day, 10), actor=None)
                    outcome["booking"] = "booked"
                except SlotUnavailable:
                    outcome["booking"] = "refused"
                outcome["booked_at"] = clock.monotonic()
        finally:
            connection.close()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=record_leave), threading.Thread(target=book)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # The booking waited for the leave to commit, then saw it and was refused
        assert outcome["booking"] == "refused", outcome
        assert outcome["booked_at"] >= outcome["committed_at"]
        with tenant_context(clinic):
            assert not Booking.objects.exists()


def test_an_exception_waits_for_a_booking_being_made_and_lists_it(place, django_db_blocker):
    clinic, facial_id, doctor_id, member_id = place
    day = upcoming_monday() + timedelta(days=14)
    booked = threading.Event()
    outcome: dict[str, object] = {}

    def book() -> None:
        try:
            with tenant_context(clinic), transaction.atomic():
                booking = booking_create(member=Member.objects.get(pk=member_id),
                                         treatment=CatalogueItem.objects.get(pk=facial_id),
                                         practitioner=Practitioner.objects.get(pk=doctor_id),
                                         starts_at=at(day, 10), actor=None)
                outcome["booking_id"] = booking.pk
                booked.set()
                clock.sleep(HOLD)
        finally:
            connection.close()

    def record_leave() -> None:
        try:
            booked.wait(timeout=30)
            with tenant_context(clinic):
                try:
                    schedule_exception_create(kind="leave", practitioner=Practitioner.objects.get(pk=doctor_id),
                                              starts_at=at(day, 9), ends_at=at(day, 18),
                                              actor=None, reason="年假")
                    outcome["leave"] = "recorded"
                except ExceptionOverlapsBookings as exc:
                    outcome["leave"] = [b.pk for b in exc.bookings]
        finally:
            connection.close()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=book), threading.Thread(target=record_leave)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Recording the leave waited for the booking and listed it instead of stranding it
        assert outcome["leave"] == [outcome["booking_id"]], outcome
        with tenant_context(clinic):
            assert not ScheduleException.objects.filter(starts_at__gte=at(day, 0)).exists()
