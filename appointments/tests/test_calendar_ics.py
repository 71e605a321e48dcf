"""Front-desk calendar selectors (day and week per practitioner, room or device) and the .ics
file of a booking."""

from datetime import timedelta

from appointments.ics import booking_ics
from appointments.models import ScheduleException
from appointments.schedule import schedule_exception_create
from appointments.selectors import calendar_day, calendar_week
from appointments.services import booking_cancel, booking_create, booking_reschedule
from appointments.tests.conftest import local


def test_a_practitioners_day_shows_bookings_hours_and_leave(world, monday):
    mine = booking_create(member=world.member, treatment=world.botox, starts_at=local(monday, 10),
                          practitioner=world.dr_a, actor=None)
    booking_create(member=world.member2, treatment=world.botox, starts_at=local(monday, 10),
                   practitioner=world.dr_b, actor=None)
    leave = schedule_exception_create(kind=ScheduleException.Kind.LEAVE, practitioner=world.dr_a, actor=None,
                                      starts_at=local(monday, 14), ends_at=local(monday, 15))
    schedule_exception_create(kind=ScheduleException.Kind.LEAVE, practitioner=world.dr_b, actor=None,
                              starts_at=local(monday, 14), ends_at=local(monday, 15))

    day = calendar_day(day=monday, practitioner_id=world.dr_a.pk)

    assert [b.pk for b in day.bookings] == [mine.pk]
    assert day.exceptions == [leave]
    assert [(w["starts_at"], w["ends_at"]) for w in day.working] == [(local(monday, 9), local(monday, 18))]


def test_a_room_week_runs_monday_to_sunday_and_hides_cancelled_unless_asked(world, monday):
    wednesday = monday + timedelta(days=2)
    kept = booking_create(member=world.member, treatment=world.botox, starts_at=local(wednesday, 10), actor=None)
    dropped = booking_create(member=world.member2, treatment=world.botox, starts_at=local(wednesday, 11), actor=None)
    booking_cancel(booking=dropped, actor=None, reason="不来了")

    week = calendar_week(day=wednesday, resource_id=kept.room_id)
    with_cancelled = calendar_week(day=wednesday, resource_id=kept.room_id, include_cancelled=True)

    assert [d.day for d in week] == [monday + timedelta(days=n) for n in range(7)]
    assert [b.pk for b in week[2].bookings] == [kept.pk]
    assert {b.pk for b in with_cancelled[2].bookings} == {kept.pk, dropped.pk}
    assert all(not d.bookings for i, d in enumerate(week) if i != 2)


def test_a_day_in_berlin_is_its_local_day(world, berlin, monday):
    late = booking_create(member=world.member, treatment=world.facial, starts_at=local(monday, 17), actor=None)

    day = calendar_day(day=monday)

    assert day.starts_at == local(monday, 0)
    assert day.ends_at == local(monday + timedelta(days=1), 0)
    assert [b.pk for b in day.bookings] == [late.pk]


def test_the_ics_file_has_the_booking_in_utc_and_follows_changes(world, monday):
    booking = booking_create(member=world.member, treatment=world.botox, starts_at=local(monday, 10), actor=None)

    ics = booking_ics(booking, clinic_name="测试诊所", host="testclinic.localhost")

    lines = ics.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR"
    assert f"DTSTART:{monday:%Y%m%d}T020000Z" in lines
    assert f"DTEND:{monday:%Y%m%d}T023000Z" in lines
    assert f"UID:booking-{booking.pk}@testclinic.localhost" in lines
    assert "SUMMARY:肉毒素 at 测试诊所" in lines or any(line.startswith("SUMMARY:") for line in lines)
    assert "SEQUENCE:0" in lines and "STATUS:CONFIRMED" in lines
    assert all(len(line.encode()) <= 75 for line in lines)

    booking = booking_reschedule(booking=booking, starts_at=local(monday, 11), actor=None)
    assert "SEQUENCE:1" in booking_ics(booking, clinic_name="测试诊所", host="h")
    booking = booking_cancel(booking=booking, actor=None, reason="改天")
    assert "STATUS:CANCELLED" in booking_ics(booking, clinic_name="测试诊所", host="h")
