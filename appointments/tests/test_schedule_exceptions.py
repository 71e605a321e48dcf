"""Schedule exceptions: what they refuse, which bookings they fall on (and the confirmation that
needs), how availability follows them at once, and the upcoming list with its bookings."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from appointments.availability import availability
from appointments.models import Booking, ScheduleException
from appointments.schedule import ExceptionOverlapsBookings, schedule_exception_create, schedule_exception_delete
from appointments.selectors import exception_overlapping_bookings, exceptions_upcoming
from appointments.services import booking_cancel, booking_create
from appointments.tests.conftest import local


def book(world, start, practitioner, *, treatment=None, member=None) -> Booking:
    return booking_create(member=member or world.member, treatment=treatment or world.botox, starts_at=start,
                          practitioner=practitioner, actor=None)


def leave(world, start, end, **kwargs) -> ScheduleException:
    return schedule_exception_create(kind=ScheduleException.Kind.LEAVE, practitioner=world.dr_a, actor=None,
                                     starts_at=start, ends_at=end, reason="病假", **kwargs)


def starts_of(world, day, practitioner):
    return [s.starts_at for s in availability(treatment=world.facial, start=day, end=day,
                                              practitioner_ids=[practitioner.pk])]


def test_leave_over_a_booking_is_refused_with_it_until_confirmed_and_the_booking_stays(world, monday, manager):
    # Given dr_a is booked at 10:00 (botox, 30 minutes and 10 of buffer)
    booking = book(world, local(monday, 10), world.dr_a)

    # When leave from 10:35 (inside the buffer) is recorded without confirming
    with pytest.raises(ExceptionOverlapsBookings) as refused:
        leave(world, local(monday, 10, 35), local(monday, 12))

    # Then it is refused with that booking, and nothing is recorded
    assert refused.value.bookings == [booking]
    assert "1 appointment is booked in this time" in refused.value.messages[0]
    assert not ScheduleException.objects.exists()

    # When it is confirmed, it is recorded and the booking stays booked where it was
    exception = leave(world, local(monday, 10, 35), local(monday, 12), overlaps_confirmed=True)
    booking.refresh_from_db()
    assert exception.pk and booking.status == Booking.Status.BOOKED and booking.starts_at == local(monday, 10)


def test_only_active_bookings_the_exception_blocks_count_as_overlapping(world, monday):
    # Given dr_b's booking, a cancelled booking of dr_a, and a laser booking of dr_b holding the laser
    book(world, local(monday, 10), world.dr_b)
    booking_cancel(booking=book(world, local(monday, 11), world.dr_a), actor=None, reason="改期")
    laser = book(world, local(monday, 14), world.dr_b, treatment=world.laser_treatment, member=world.member2)

    # When dr_a takes leave for the day, then the laser is out of service in the afternoon
    day_off = leave(world, local(monday, 0), local(monday + timedelta(days=1), 0))
    with pytest.raises(ExceptionOverlapsBookings) as refused:
        schedule_exception_create(kind=ScheduleException.Kind.MAINTENANCE, resource=world.laser, actor=None,
                                  starts_at=local(monday, 13), ends_at=local(monday, 18))

    # Then the leave falls on nothing (other practitioner, cancelled), the maintenance on the laser booking
    assert day_off.pk
    assert refused.value.bookings == [laser]
    assert list(exception_overlapping_bookings(starts_at=local(monday, 0), ends_at=local(monday, 23),
                                               location_id=world.location.pk)) == list(
        Booking.objects.filter(status=Booking.Status.BOOKED).order_by("starts_at"))


@pytest.mark.parametrize(("fields", "field"), [
    ({"kind": "leave", "practitioner": None}, "practitioner"),
    ({"kind": "maintenance"}, "resource"),
    ({"kind": "closure", "practitioner": True}, "kind"),
    ({"kind": "vacation"}, "kind"),
    ({"kind": "holiday", "ends": -1}, "ends_at"),
    ({"kind": "holiday", "ends": 0}, "ends_at"),
])
def test_an_exception_that_says_too_little_or_ends_before_it_starts_is_refused(world, monday, fields, field):
    ends = fields.pop("ends", 2)
    if fields.get("practitioner") is True:
        fields["practitioner"] = world.dr_a
    with pytest.raises(ValidationError) as refused:
        schedule_exception_create(actor=None, starts_at=local(monday, 10), ends_at=local(monday, 10 + ends),
                                  **fields)
    assert field in refused.value.message_dict
    assert not ScheduleException.objects.exists()


def test_availability_follows_a_new_exception_and_its_removal_at_once(world, monday):
    # Given 12:00 is free for dr_a
    assert local(monday, 12) in starts_of(world, monday, world.dr_a)

    # When dr_a takes leave 12:00-14:00, 12:00 is no longer offered; dr_b still has it
    exception = leave(world, local(monday, 12), local(monday, 14))
    assert local(monday, 12) not in starts_of(world, monday, world.dr_a)
    assert local(monday, 12) in starts_of(world, monday, world.dr_b)

    # When it is removed, 12:00 is offered again
    schedule_exception_delete(exception=exception, actor=None)
    assert local(monday, 12) in starts_of(world, monday, world.dr_a)


def test_upcoming_exceptions_carry_the_bookings_they_fall_on_in_two_queries(
        world, monday, django_assert_num_queries):
    # Given a past closure, leave over one of dr_a's bookings, and a laser maintenance over nothing
    booking = book(world, local(monday, 10), world.dr_a)
    book(world, local(monday, 10), world.dr_b, member=world.member2)
    past = monday - timedelta(days=30)
    schedule_exception_create(kind=ScheduleException.Kind.CLOSURE, actor=None, starts_at=local(past, 9),
                              ends_at=local(past, 18))
    on_booking = leave(world, local(monday, 9), local(monday, 11), overlaps_confirmed=True)
    quiet = schedule_exception_create(kind=ScheduleException.Kind.MAINTENANCE, resource=world.laser, actor=None,
                                      starts_at=local(monday, 15), ends_at=local(monday, 16))

    # When the upcoming exceptions are listed
    with django_assert_num_queries(2):
        upcoming = exceptions_upcoming()
        names = [(e.practitioner and str(e.practitioner), e.resource and e.resource.location.name) for e in upcoming]

    # Then the past one is left out and each carries its own bookings
    assert [e.pk for e in upcoming] == [on_booking.pk, quiet.pk]
    assert [b.pk for b in upcoming[0].bookings] == [booking.pk] and upcoming[1].bookings == []
    assert names == [("李医生", None), (None, "静安店")]
