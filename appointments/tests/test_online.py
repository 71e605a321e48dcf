"""Online booking per treatment, the free times a member may book online, and the member's own
appointments with what they may still change online."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied

from appointments.models import Booking
from appointments.online import member_booking_get, member_bookings, online_slots, treatments_bookable_online
from appointments.schedule import appointment_policy_update
from appointments.selectors import calendar_day
from appointments.services import booking_cancel, booking_create, booking_reschedule
from appointments.tests.conftest import local
from visits.services import catalogue_item_update


def test_a_treatment_kept_off_online_booking_is_refused_to_members_but_not_to_the_front_desk(
        world, monday, front_desk):
    world.laser_treatment = catalogue_item_update(item=world.laser_treatment, online_booking_enabled=False)
    now = local(monday - timedelta(days=3), 10)

    with pytest.raises(PermissionDenied, match="front desk only"):
        booking_create(member=world.member, treatment=world.laser_treatment, starts_at=local(monday, 10),
                       actor=None, by_member=True, now=now)
    booking = booking_create(member=world.member, treatment=world.laser_treatment, starts_at=local(monday, 10),
                             actor=front_desk, now=now)

    assert booking.channel == Booking.Channel.STAFF
    assert world.laser_treatment not in treatments_bookable_online()
    assert {world.botox, world.facial} <= set(treatments_bookable_online())


def test_no_treatment_is_bookable_online_when_the_clinic_switches_it_off(world):
    appointment_policy_update(actor=None, online_booking_enabled=False)

    assert list(treatments_bookable_online()) == []


def test_online_slots_start_after_the_notice_and_end_at_the_horizon(world, monday):
    appointment_policy_update(actor=None, online_min_notice_minutes=180, online_max_days_ahead=30)
    now = local(monday, 9)

    slots = online_slots(treatment=world.facial, day=monday, now=now)

    assert slots and slots[0].starts_at == local(monday, 12)
    assert len({slot.starts_at for slot in slots}) == len(slots)
    assert online_slots(treatment=world.facial, day=monday + timedelta(days=31), now=now) == []
    assert online_slots(treatment=world.facial, day=monday - timedelta(days=1), now=now) == []


def test_every_online_slot_is_one_the_booking_service_accepts_from_a_member(world, monday):
    now = local(monday - timedelta(days=1), 9)
    slot = online_slots(treatment=world.botox, day=monday, now=now)[-1]

    booking = booking_create(member=world.member, treatment=world.botox, starts_at=slot.starts_at, actor=None,
                             by_member=True, now=now)

    assert booking.starts_at == slot.starts_at
    assert slot.starts_at not in {s.starts_at for s in online_slots(
        treatment=world.botox, day=monday, now=now, practitioner_id=booking.practitioner_id)}


def test_a_members_appointments_say_what_can_still_be_changed_online(world, monday):
    appointment_policy_update(actor=None, cancel_window_hours=24, reschedule_window_hours=48)
    booked_at = local(monday - timedelta(days=5), 10)
    soon = booking_create(member=world.member, treatment=world.facial, starts_at=local(monday, 10), actor=None,
                          by_member=True, now=booked_at)
    later = booking_create(member=world.member, treatment=world.facial, starts_at=local(monday, 14), actor=None,
                           by_member=True, now=booked_at)
    gone = booking_create(member=world.member, treatment=world.botox, starts_at=local(monday, 16), actor=None,
                          by_member=True, now=booked_at)
    booking_cancel(booking=gone, actor=None, reason="", by_member=True, now=booked_at)
    booking_create(member=world.member2, treatment=world.botox, starts_at=local(monday, 11), actor=None,
                   by_member=True, now=booked_at)

    mine = member_bookings(member=world.member, now=local(monday - timedelta(days=1), 12))

    assert [(item.booking, item.can_cancel, item.can_reschedule) for item in mine.upcoming] == [
        (soon, False, False), (later, True, False)]
    assert mine.past == [gone]
    assert member_booking_get(member=world.member2, pk=soon.pk) is None
    assert member_booking_get(member=world.member, pk=soon.pk) == soon


def test_the_services_hold_the_member_to_the_same_windows_the_page_shows(world, monday):
    appointment_policy_update(actor=None, cancel_window_hours=24, reschedule_window_hours=48)
    booking = booking_create(member=world.member, treatment=world.facial, starts_at=local(monday, 14), actor=None,
                             by_member=True, now=local(monday - timedelta(days=5), 10))
    now = local(monday - timedelta(days=1), 12)

    with pytest.raises(PermissionDenied):
        booking_reschedule(booking=booking, starts_at=local(monday, 16), actor=None, by_member=True, now=now)
    booking = booking_cancel(booking=booking, actor=None, reason="", by_member=True, now=now)

    assert booking.status == Booking.Status.CANCELLED and not booking.late_cancellation


def test_an_online_booking_is_on_the_staff_calendar_marked_as_booked_in_the_portal(world, monday):
    booking = booking_create(member=world.member, treatment=world.facial, starts_at=local(monday, 10), actor=None,
                             by_member=True, now=local(monday - timedelta(days=3), 10))

    day = calendar_day(day=monday)

    assert booking in day.bookings
    assert booking.get_channel_display() == "Member portal"
    assert booking.events.get().get_channel_display() == "Member portal"
