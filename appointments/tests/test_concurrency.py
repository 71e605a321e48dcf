"""Real concurrency against real PostgreSQL, in a clinic provisioned for the test (copied from
the template schema, in Europe/Berlin): threads with their own connections try to book the same
practitioner, or the one laser machine, at the same moment. Exactly one wins; the others get the
conflict with alternatives. It also proves the exclusion constraints survive the copy."""

import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from accounts.roles import Role
from accounts.services import staff_create
from appointments.models import AppointmentPolicy, Booking, Practitioner, ResourceType
from appointments.schedule import (
    Period,
    location_create,
    practitioner_create,
    resource_create,
    resource_type_create,
    treatment_requirements_set,
    working_hours_set,
)
from appointments.services import SlotUnavailable, booking_create
from appointments.tests.conftest import upcoming_monday
from clinics.models import Clinic
from members.models import Member
from members.services import member_register
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

THREADS = 10
PRACTITIONERS = 6


@dataclass(frozen=True)
class Race:
    clinic: Clinic
    monday: date
    treatment_id: int
    laser_treatment_id: int
    practitioner_ids: list[int]
    member_ids: list[int]


@pytest.fixture(scope="module")
def race(committed_clinic, django_db_blocker) -> Race:
    clinic = committed_clinic("appointrace", "并发预约诊所", time_zone="Europe/Berlin")
    with django_db_blocker.unblock(), tenant_context(clinic):
        location = location_create(name="Mitte")
        room_type = resource_type_create(name="Raum", kind=ResourceType.Kind.ROOM)
        laser_type = resource_type_create(name="Laser", kind=ResourceType.Kind.DEVICE)
        for n in range(PRACTITIONERS):
            resource_create(location=location, resource_type=room_type, name=f"Raum {n}")
        resource_create(location=location, resource_type=laser_type, name="Pico")
        category = category_create(name="Aesthetik", code="aesthetic")
        facial = catalogue_item_create(kind="treatment", name="Facial", sku="FACE", category=category,
                                       price=Decimal("100"), duration_minutes=45, buffer_minutes=15)
        laser = catalogue_item_create(kind="treatment", name="Pico", sku="PICO", category=category,
                                      price=Decimal("300"), duration_minutes=60, buffer_minutes=15)
        treatment_requirements_set(treatment=laser, resource_types=[room_type, laser_type])
        practitioners = []
        for n in range(PRACTITIONERS):
            user = staff_create(username=f"dr{n}", email=f"dr{n}@race.test", full_name=f"Dr {n}",
                                role=Role.PRACTITIONER, password="Race-pass-2026")
            practitioner = practitioner_create(user=user, treatments=[facial, laser])
            working_hours_set(practitioner=practitioner, periods=[
                Period(location_id=location.pk, weekday=d, starts=time(9), ends=time(18)) for d in range(5)])
            practitioners.append(practitioner.pk)
        members = [member_register(name=f"Kundin {n}", phone=f"1370000{n:04d}", actor=None).pk
                   for n in range(THREADS)]
    return Race(clinic=clinic, monday=upcoming_monday(3), treatment_id=facial.pk, laser_treatment_id=laser.pk,
                practitioner_ids=practitioners, member_ids=members)


def book_at_once(race: Race, attempts: list[tuple[int, int, int | None]], starts_at: datetime) -> list[str]:
    """Each (member, treatment, practitioner) in its own thread and connection, released together."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []

    def attempt(member_id: int, treatment_id: int, practitioner_id: int | None) -> None:
        try:
            with tenant_context(race.clinic):
                member = Member.objects.get(pk=member_id)
                treatment = CatalogueItem.objects.get(pk=treatment_id)
                practitioner = Practitioner.objects.get(pk=practitioner_id) if practitioner_id else None
                barrier.wait(timeout=60)
                booking_create(member=member, treatment=treatment, practitioner=practitioner, starts_at=starts_at,
                               actor=None)
            outcomes.append("booked")
        except SlotUnavailable as exc:
            outcomes.append("conflict" if exc.alternatives else "conflict without alternatives")
        except Exception as exc:  # noqa: BLE001 - any other outcome is reported by the test
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=args) for args in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_the_copied_clinic_has_the_exclusion_constraints_and_default_policy(race, django_db_blocker):
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("""SELECT con.conname FROM pg_constraint con JOIN pg_namespace ns ON ns.oid = con.connamespace
                          WHERE ns.nspname = %s AND con.contype = 'x' ORDER BY con.conname""",
                       [race.clinic.schema_name])
        names = [row[0] for row in cursor.fetchall()]
        with tenant_context(race.clinic):
            policy = AppointmentPolicy.objects.get(pk=1)
    assert names == ["booking_device_no_overlap", "booking_practitioner_no_overlap", "booking_room_no_overlap"]
    assert policy.reminder_minutes == [1440, 120]


def test_threads_booking_one_practitioner_at_the_same_time_exactly_one_wins(race, django_db_blocker):
    starts_at = datetime.combine(race.monday, time(10), tzinfo=race.clinic.zone)
    with django_db_blocker.unblock():
        outcomes = book_at_once(race, [(member, race.treatment_id, race.practitioner_ids[0])
                                       for member in race.member_ids], starts_at)

        assert outcomes.count("booked") == 1, outcomes
        assert outcomes.count("conflict") == THREADS - 1, outcomes
        with tenant_context(race.clinic):
            assert Booking.objects.filter(practitioner_id=race.practitioner_ids[0], starts_at=starts_at).count() == 1


def test_threads_with_different_practitioners_racing_for_the_one_laser_exactly_one_wins(race, django_db_blocker):
    starts_at = datetime.combine(race.monday + timedelta(days=1), time(11), tzinfo=race.clinic.zone)
    attempts = [(member, race.laser_treatment_id, race.practitioner_ids[n % PRACTITIONERS])
                for n, member in enumerate(race.member_ids[:PRACTITIONERS])]
    with django_db_blocker.unblock():
        outcomes = book_at_once(race, attempts, starts_at)

        assert outcomes.count("booked") == 1, outcomes
        assert outcomes.count("conflict") == PRACTITIONERS - 1, outcomes
        with tenant_context(race.clinic):
            assert Booking.objects.filter(starts_at=starts_at, device__isnull=False).count() == 1
