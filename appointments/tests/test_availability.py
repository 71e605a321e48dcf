"""Availability: working hours, buffers, exceptions, bookings and rooms/devices, in the clinic's
time zone (Asia/Shanghai by default; Europe/Berlin across its daylight-saving changes)."""

from datetime import UTC, datetime, time, timedelta

from appointments.availability import availability
from appointments.models import ScheduleException
from appointments.schedule import schedule_exception_create
from appointments.services import booking_create
from appointments.tests.conftest import hours_for, local, next_dst_change


def starts(slots, practitioner=None):
    return [s.starts_at for s in slots if practitioner is None or s.practitioner_id == practitioner.pk]


def test_a_free_day_offers_every_step_from_opening_until_the_treatment_still_fits(world, monday):
    slots = availability(treatment=world.facial, start=monday, end=monday, practitioner_ids=[world.dr_a.pk])

    assert starts(slots)[0] == local(monday, 9)
    assert starts(slots)[-1] == local(monday, 17, 15)
    assert len(slots) == (8 * 60 + 15) // 15 + 1


def test_shanghai_opening_time_is_stored_in_utc(world, monday):
    slots = availability(treatment=world.facial, start=monday, end=monday, practitioner_ids=[world.dr_a.pk])

    assert slots[0].starts_at.astimezone(UTC) == datetime.combine(monday, time(1), tzinfo=UTC)


def test_a_booking_blocks_its_treatment_plus_buffer(world, monday):
    booking_create(member=world.member, treatment=world.botox, starts_at=local(monday, 10), practitioner=world.dr_a,
                   actor=None)

    free = starts(availability(treatment=world.facial, start=monday, end=monday), world.dr_a)

    assert local(monday, 9, 15) in free
    assert local(monday, 9, 30) not in free
    assert local(monday, 10, 30) not in free
    assert local(monday, 10, 45) in free
    assert local(monday, 10) in starts(availability(treatment=world.facial, start=monday, end=monday), world.dr_b)


def test_leave_removes_only_that_practitioners_time(world, monday):
    schedule_exception_create(kind=ScheduleException.Kind.LEAVE, practitioner=world.dr_a, actor=None,
                              starts_at=local(monday, 12), ends_at=local(monday, 14), reason="看病")

    slots = availability(treatment=world.facial, start=monday, end=monday)

    assert not [s for s in starts(slots, world.dr_a) if local(monday, 11, 16) <= s < local(monday, 14)]
    assert local(monday, 14) in starts(slots, world.dr_a)
    assert local(monday, 12) in starts(slots, world.dr_b)


def test_a_public_holiday_closes_the_whole_clinic_and_a_closure_its_location(world, monday):
    tuesday = monday + timedelta(days=1)
    schedule_exception_create(kind=ScheduleException.Kind.HOLIDAY, actor=None, reason="国庆",
                              starts_at=local(monday, 0), ends_at=local(tuesday, 0))
    schedule_exception_create(kind=ScheduleException.Kind.CLOSURE, location=world.location, actor=None,
                              starts_at=local(tuesday, 13), ends_at=local(tuesday, 18))

    assert availability(treatment=world.facial, start=monday, end=monday) == []
    afternoon = [s for s in starts(availability(treatment=world.facial, start=tuesday, end=tuesday))
                 if s >= local(tuesday, 12, 16)]
    assert afternoon == []


def test_the_only_laser_machine_is_shared_between_practitioners(world, monday):
    booking_create(member=world.member, treatment=world.laser_treatment, starts_at=local(monday, 10),
                   practitioner=world.dr_a, actor=None)

    laser_b = starts(availability(treatment=world.laser_treatment, start=monday, end=monday), world.dr_b)
    facial_b = starts(availability(treatment=world.facial, start=monday, end=monday), world.dr_b)

    assert not [s for s in laser_b if local(monday, 8, 46) < s < local(monday, 11, 15)]
    assert local(monday, 11, 15) in laser_b
    assert local(monday, 10) in facial_b


def test_rooms_run_out_when_both_are_taken(world, monday, make_staff):
    from accounts.roles import Role
    from appointments.schedule import practitioner_create

    dr_c = practitioner_create(user=make_staff(Role.PRACTITIONER), treatments=[world.botox])
    hours_for(dr_c, world.location)
    for practitioner, member in ((world.dr_a, world.member), (world.dr_b, world.member2)):
        booking_create(member=member, treatment=world.botox, starts_at=local(monday, 10), practitioner=practitioner,
                       actor=None)

    free_c = starts(availability(treatment=world.botox, start=monday, end=monday), dr_c)

    assert local(monday, 10) not in free_c
    assert local(monday, 10, 30) not in free_c
    assert local(monday, 10, 45) in free_c


def test_a_device_out_of_service_cannot_be_booked(world, monday):
    schedule_exception_create(kind=ScheduleException.Kind.MAINTENANCE, resource=world.laser, actor=None,
                              starts_at=local(monday, 0), ends_at=local(monday, 23))

    assert availability(treatment=world.laser_treatment, start=monday, end=monday) == []
    assert availability(treatment=world.botox, start=monday, end=monday) != []


def test_no_slots_for_a_practitioner_who_does_not_perform_it_or_on_a_day_off(world, monday):
    world.dr_b.treatments.remove(world.botox)
    sunday = monday + timedelta(days=6)

    assert starts(availability(treatment=world.botox, start=monday, end=monday), world.dr_b) == []
    assert availability(treatment=world.botox, start=sunday, end=sunday) == []


def test_cancelled_bookings_free_their_time(world, monday):
    from appointments.services import booking_cancel

    booking = booking_create(member=world.member, treatment=world.facial, starts_at=local(monday, 10),
                             practitioner=world.dr_a, actor=None)
    booking_cancel(booking=booking, actor=None, reason="改期")

    assert local(monday, 10) in starts(availability(treatment=world.facial, start=monday, end=monday), world.dr_a)


def test_not_before_hides_times_already_too_close(world, monday):
    slots = availability(treatment=world.facial, start=monday, end=monday, practitioner_ids=[world.dr_a.pk],
                         not_before=local(monday, 12, 5))

    assert starts(slots)[0] == local(monday, 12, 15)


def test_berlin_week_across_the_autumn_change_keeps_local_opening_times(world, berlin):
    change = next_dst_change(10)
    saturday, monday_after = change - timedelta(days=1), change + timedelta(days=1)

    slots = availability(treatment=world.facial, start=saturday, end=monday_after, practitioner_ids=[world.dr_a.pk])

    firsts = {}
    for slot in slots:
        firsts.setdefault(slot.starts_at.astimezone(berlin.zone).date(), slot.starts_at)
    assert sorted(firsts) == [saturday, monday_after]
    assert firsts[saturday].astimezone(UTC).time() == time(7)
    assert firsts[monday_after].astimezone(UTC).time() == time(8)
    assert all(slot.starts_at.astimezone(berlin.zone).time() >= time(9) for slot in slots)


def test_berlin_spring_change_with_sunday_hours(world, berlin):
    change = next_dst_change(3)
    hours_for(world.dr_a, world.location, days=[5, 6])

    slots = availability(treatment=world.facial, start=change - timedelta(days=1), end=change,
                         practitioner_ids=[world.dr_a.pk])

    by_day = {}
    for slot in slots:
        by_day.setdefault(slot.starts_at.astimezone(berlin.zone).date(), []).append(slot)
    saturday, sunday = by_day[change - timedelta(days=1)], by_day[change]
    assert saturday[0].starts_at.astimezone(UTC).time() == time(8)
    assert sunday[0].starts_at.astimezone(UTC).time() == time(7)
    assert len(saturday) == len(sunday)
    assert sunday[-1].starts_at.astimezone(berlin.zone).time() == time(17, 15)
