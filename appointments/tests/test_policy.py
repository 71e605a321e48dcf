"""The clinic's online policy, enforced on members acting themselves (by_member=True); staff
acting for a member are not blocked, but a member's late cancellation is flagged."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from appointments.models import Booking
from appointments.schedule import appointment_policy_update
from appointments.selectors import member_attendance
from appointments.services import booking_cancel, booking_create, booking_no_show, booking_reschedule
from appointments.tests.conftest import local


@pytest.fixture
def booking(world, monday):
    return booking_create(member=world.member, treatment=world.facial, starts_at=local(monday, 10), actor=None,
                          by_member=True, now=local(monday - timedelta(days=3), 10))


def test_a_member_booking_is_marked_as_online(booking):
    assert booking.channel == Booking.Channel.MEMBER and booking.booked_by is None
    assert booking.events.get().channel == "member"


def test_member_cancels_online_until_the_window(booking, monday):
    day_before = local(monday - timedelta(days=1), 10)
    booking = booking_cancel(booking=booking, actor=None, reason="", by_member=True, now=day_before)

    assert booking.status == Booking.Status.CANCELLED
    assert booking.cancelled_by_party == "member" and booking.cancelled_by is None
    assert not booking.late_cancellation


def test_member_cannot_cancel_online_inside_the_window(booking, monday):
    with pytest.raises(PermissionDenied):
        booking_cancel(booking=booking, actor=None, reason="", by_member=True,
                       now=local(monday - timedelta(days=1), 10, 1))

    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.BOOKED


def test_front_desk_cancelling_late_for_the_member_flags_it_and_counts_it(booking, monday, front_desk):
    booking = booking_cancel(booking=booking, actor=front_desk, reason="客人来电", now=local(monday, 8))

    assert booking.late_cancellation
    assert member_attendance(booking.member).late_cancellations == 1


def test_the_clinic_cancelling_late_is_not_the_members_late_cancellation(booking, monday, front_desk):
    booking = booking_cancel(booking=booking, actor=front_desk, reason="停电", party=Booking.Party.CLINIC,
                             now=local(monday, 8))

    assert not booking.late_cancellation


def test_member_reschedules_online_until_the_window_only(booking, monday):
    appointment_policy_update(actor=None, reschedule_window_hours=48)
    with pytest.raises(PermissionDenied):
        booking_reschedule(booking=booking, starts_at=local(monday, 14), actor=None, by_member=True,
                           now=local(monday - timedelta(days=2), 10, 1))

    moved = booking_reschedule(booking=booking, starts_at=local(monday, 14), actor=None, by_member=True,
                               now=local(monday - timedelta(days=2), 10))
    assert moved.starts_at == local(monday, 14)
    assert moved.practitioner == booking.practitioner


def test_online_booking_needs_notice_and_stays_within_the_horizon(world, monday):
    appointment_policy_update(actor=None, online_min_notice_minutes=120, online_max_days_ahead=30)

    with pytest.raises(ValidationError):
        booking_create(member=world.member, treatment=world.facial, starts_at=local(monday, 10), actor=None,
                       by_member=True, now=local(monday, 8, 30))
    with pytest.raises(ValidationError):
        booking_create(member=world.member, treatment=world.facial, starts_at=local(monday, 10), actor=None,
                       by_member=True, now=local(monday - timedelta(days=31), 10))
    staff_booking = booking_create(member=world.member, treatment=world.facial, starts_at=local(monday, 10),
                                   actor=None, now=local(monday, 8, 30))
    assert staff_booking.channel == Booking.Channel.STAFF


def test_members_with_too_many_no_shows_must_book_at_the_front_desk(world, monday, front_desk):
    appointment_policy_update(actor=None, max_no_shows_online=2)
    earlier = monday - timedelta(days=7)
    for hour in (10, 12):
        missed = booking_create(member=world.member, treatment=world.facial, starts_at=local(earlier, hour),
                                actor=front_desk, now=local(earlier, 8))
        booking_no_show(booking=missed, actor=front_desk, now=local(earlier, hour, 30))

    with pytest.raises(PermissionDenied):
        booking_create(member=world.member, treatment=world.facial, starts_at=local(monday, 10), actor=None,
                       by_member=True, now=local(earlier, 18))
    assert booking_create(member=world.member2, treatment=world.facial, starts_at=local(monday, 10), actor=None,
                          by_member=True, now=local(earlier, 18))


def test_online_booking_can_be_switched_off(world, monday):
    appointment_policy_update(actor=None, online_booking_enabled=False)

    with pytest.raises(PermissionDenied):
        booking_create(member=world.member, treatment=world.facial, starts_at=local(monday, 10), actor=None,
                       by_member=True, now=local(monday - timedelta(days=3), 10))
