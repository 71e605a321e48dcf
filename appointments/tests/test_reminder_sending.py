"""The reminder job: due reminders go out once per booking, kind and appointment time, through
the messaging rules; cancelled or rescheduled bookings never get a stale reminder; the time in
the message is the clinic's local time, across daylight-saving changes too."""

from datetime import UTC, time, timedelta

import pytest
from django.utils import timezone

from appointments.models import Booking, Reminder
from appointments.reminders import appointment_reminders_send, reminder_guard_key
from appointments.schedule import appointment_policy_update
from appointments.services import booking_cancel, booking_check_in, booking_create, booking_reschedule
from appointments.tasks import appointment_reminders_send as reminders_task
from appointments.tests.conftest import local, next_dst_change
from jobs.labels import counts_label, job_label
from jobs.models import JobRun
from members.services import member_register
from messaging.models import Message, Purpose
from messaging.services import messaging_settings_update

NOTHING = {"reminders_sent": 0, "reminders_skipped": 0, "reminders_cancelled": 0, "reminders_failed": 0}


def shown(day, clock: str) -> str:
    """A moment as the clinic's Chinese messages show it: "12月7日 周一 10:00"."""
    return f"{day.month}月{day.day}日 周{'一二三四五六日'[day.weekday()]} {clock}"


def book(world, start, member=None, **kwargs) -> Booking:
    return booking_create(member=member or world.member, treatment=world.facial, starts_at=start, actor=None,
                          practitioner=world.dr_a, **kwargs)


def reminder(booking: Booking, kind: str) -> Reminder:
    return Reminder.objects.get(booking=booking, kind=kind)


def reminders_of(booking: Booking) -> list[Message]:
    return list(Message.objects.filter(member=booking.member, purpose=Purpose.APPOINTMENT_REMINDER)
                .order_by("id"))


def test_a_due_reminder_is_sent_and_one_not_yet_due_waits(world, monday):
    booking = book(world, local(monday, 10))
    now = local(monday, 10) - timedelta(hours=24) + timedelta(minutes=1)

    counts = appointment_reminders_send(now=now)

    assert counts == {**NOTHING, "reminders_sent": 1}
    [message] = reminders_of(booking)
    assert message.status == Message.Status.QUEUED
    assert message.guard_key == reminder_guard_key(reminder(booking, "24h"))
    assert message.recipient == world.member.phone
    assert shown(monday, "10:00") in message.body
    assert "静安店" in message.body and "李医生" in message.body and "张小美" in message.body
    sent = reminder(booking, "24h")
    assert (sent.status, sent.sent_at, sent.message_id, sent.reason) == (Reminder.Status.SENT, now, message.pk, "")
    assert reminder(booking, "2h").status == Reminder.Status.PENDING


def test_running_the_job_twice_sends_each_reminder_once(world, monday):
    booking = book(world, local(monday, 10))
    now = local(monday, 8, 5)

    first = appointment_reminders_send(now=now)
    second = appointment_reminders_send(now=now)

    assert first == {**NOTHING, "reminders_sent": 2}
    assert second == NOTHING
    assert len(reminders_of(booking)) == 2
    assert {r.status for r in Reminder.objects.filter(booking=booking)} == {Reminder.Status.SENT}


def test_a_reminder_already_in_the_message_log_is_not_sent_again(world, monday):
    """A run that queued the message but whose reminder row went back to pending (a run racing a
    re-plan to the same time) finds the message by its guard key and sends nothing new."""
    booking = book(world, local(monday, 10))
    now = local(monday, 8, 5)
    appointment_reminders_send(now=now)
    Reminder.objects.filter(booking=booking, kind="2h").update(status=Reminder.Status.PENDING, sent_at=None)

    counts = appointment_reminders_send(now=now)

    assert counts == {**NOTHING, "reminders_sent": 1}
    assert len(reminders_of(booking)) == 2


def test_batches_cover_every_due_reminder(world, monday):
    bookings = [book(world, local(monday, 10 + n), member=member_register(name=f"会员{n}", phone=f"1370000000{n}",
                                                                           actor=None))
                for n in range(5)]

    counts = appointment_reminders_send(now=local(monday, 7), batch=2)

    assert counts["reminders_sent"] == 5  # the 24h reminder of each
    assert Message.objects.filter(purpose=Purpose.APPOINTMENT_REMINDER).count() == 5
    assert {reminder(b, "24h").status for b in bookings} == {Reminder.Status.SENT}


def test_a_cancelled_booking_gets_no_reminder(world, monday):
    booking = book(world, local(monday, 10))
    booking_cancel(booking=booking, actor=None, reason="出差")

    counts = appointment_reminders_send(now=local(monday, 9))

    assert counts == NOTHING
    assert reminders_of(booking) == []
    assert {(r.status, r.reason) for r in Reminder.objects.filter(booking=booking)} == {
        (Reminder.Status.CANCELLED, Reminder.Reason.BOOKING_INACTIVE)}


@pytest.mark.parametrize("end", ["cancel", "check_in"])
def test_a_reminder_left_pending_by_a_booking_that_ended_is_cancelled_not_sent(world, monday, front_desk, end):
    """The job checks the booking again under its lock: a reminder row still pending (written by a
    transaction that raced the job) for a booking cancelled or checked in is closed, not sent."""
    booking = book(world, local(monday, 10))
    if end == "cancel":
        booking_cancel(booking=booking, actor=None, reason="出差")
    else:
        booking_check_in(booking=booking, actor=front_desk, now=local(monday, 9, 50))
    Reminder.objects.filter(booking=booking).update(status=Reminder.Status.PENDING, reason="")

    counts = appointment_reminders_send(now=local(monday, 9))

    assert counts == {**NOTHING, "reminders_cancelled": 2}
    assert reminders_of(booking) == []
    assert {(r.status, r.reason) for r in Reminder.objects.filter(booking=booking)} == {
        (Reminder.Status.CANCELLED, Reminder.Reason.BOOKING_INACTIVE)}


def test_a_rescheduled_booking_is_reminded_of_its_new_time_only(world, monday):
    booking = book(world, local(monday, 10))
    new_day = monday + timedelta(days=2)
    booking_reschedule(booking=booking, starts_at=local(new_day, 15), actor=None, now=local(monday, 7))

    at_old_time = appointment_reminders_send(now=local(monday, 8, 5))
    at_new_time = appointment_reminders_send(now=local(new_day, 13, 5))

    assert at_old_time == NOTHING
    assert at_new_time == {**NOTHING, "reminders_sent": 2}
    messages = reminders_of(booking)
    assert len(messages) == 2
    assert all(shown(new_day, "15:00") in m.body for m in messages)
    assert not any(shown(monday, "10:00") in m.body for m in messages)


def test_a_reminder_sent_before_a_reschedule_is_sent_again_for_the_new_time(world, monday):
    booking = book(world, local(monday, 10))
    appointment_reminders_send(now=local(monday - timedelta(days=1), 10, 5))
    new_day = monday + timedelta(days=3)
    booking_reschedule(booking=booking, starts_at=local(new_day, 11), actor=None, now=local(monday, 7))

    counts = appointment_reminders_send(now=local(new_day - timedelta(days=1), 11, 5))

    assert counts == {**NOTHING, "reminders_sent": 1}
    first, second = reminders_of(booking)
    assert shown(monday, "10:00") in first.body
    assert shown(new_day, "11:00") in second.body
    assert first.guard_key != second.guard_key


def test_a_reminder_whose_due_time_no_longer_matches_the_booking_is_cancelled(world, monday):
    """A row the reschedule has not re-planned yet (it still carries the old due time) is stale:
    closed with its reason, never sent for the old time."""
    booking = book(world, local(monday, 10))
    Booking.objects.filter(pk=booking.pk).update(starts_at=local(monday, 16), ends_at=local(monday, 16, 45),
                                                 blocked_until=local(monday, 16, 45))

    counts = appointment_reminders_send(now=local(monday, 8, 5))

    assert counts == {**NOTHING, "reminders_cancelled": 2}
    assert reminders_of(booking) == []
    assert {r.reason for r in Reminder.objects.filter(booking=booking)} == {Reminder.Reason.TIME_CHANGED}


def test_a_reminder_the_job_reaches_only_after_the_appointment_started_is_skipped(world, monday):
    booking = book(world, local(monday, 10))

    counts = appointment_reminders_send(now=local(monday, 10, 30))

    assert counts == {**NOTHING, "reminders_skipped": 2}
    assert reminders_of(booking) == []
    assert {(r.status, r.reason) for r in Reminder.objects.filter(booking=booking)} == {
        (Reminder.Status.SKIPPED, Reminder.Reason.APPOINTMENT_STARTED)}


def test_a_member_without_marketing_consent_still_gets_reminders(world, monday):
    """Reminders are service messages: no marketing consent is needed, quiet hours do not apply."""
    booking = book(world, local(monday, 10))
    assert not world.member.consents.exists()

    appointment_reminders_send(now=local(monday - timedelta(days=1), 23, 30))  # inside quiet hours

    [message] = reminders_of(booking)
    assert message.status == Message.Status.QUEUED and message.skip_reason == ""


def test_service_messages_switched_off_skip_the_reminder_with_the_reason(world, monday, owner):
    messaging_settings_update(actor=owner, service_messages_enabled=False)
    booking = book(world, local(monday, 10))

    counts = appointment_reminders_send(now=local(monday, 8, 5))

    assert counts == {**NOTHING, "reminders_skipped": 2}
    assert {(m.status, m.skip_reason) for m in reminders_of(booking)} == {
        (Message.Status.SKIPPED, Message.SkipReason.SERVICE_DISABLED)}
    assert {(r.status, r.reason) for r in Reminder.objects.filter(booking=booking)} == {
        (Reminder.Status.SKIPPED, Message.SkipReason.SERVICE_DISABLED)}
    # Skipped is final: switching service messages back on later sends nothing for this time.
    messaging_settings_update(actor=owner, service_messages_enabled=True)
    assert appointment_reminders_send(now=local(monday, 8, 10)) == NOTHING


def test_a_member_without_an_address_for_the_channel_is_skipped_with_the_reason(world, monday, owner):
    messaging_settings_update(actor=owner, default_channel="email")
    booking = book(world, local(monday, 10))
    assert world.member.email == ""

    appointment_reminders_send(now=local(monday, 7))

    [message] = reminders_of(booking)
    assert (message.channel, message.status, message.skip_reason) == (
        "email", Message.Status.SKIPPED, Message.SkipReason.NO_ADDRESS)
    assert (reminder(booking, "24h").status, reminder(booking, "24h").reason) == (
        Reminder.Status.SKIPPED, Message.SkipReason.NO_ADDRESS)


# Time zones ---------------------------------------------------------------------------------------


def test_the_appointment_time_is_shown_in_shanghai_time(world, monday, clinic):
    assert clinic.time_zone == "Asia/Shanghai"
    booking = book(world, local(monday, 10))
    assert booking.starts_at.astimezone(UTC).time() == time(2)

    appointment_reminders_send(now=local(monday, 8, 5))

    for message in reminders_of(booking):
        assert shown(monday, "10:00") in message.body
        assert "02:00" not in message.body


@pytest.mark.parametrize("month", [3, 10])
def test_a_reminder_sent_before_a_berlin_dst_change_shows_the_local_time_after_it(world, berlin, month):
    """A 2-day reminder goes out on the Saturday before the change, about Monday 10:00 after it:
    the message shows 10:00 in the new offset, not the offset of the moment it was sent."""
    appointment_policy_update(actor=None, reminder_minutes=[2880])
    change = next_dst_change(month)
    monday_after = change + timedelta(days=1)
    booking = book(world, local(monday_after, 10), now=local(change - timedelta(days=5), 12))
    due = reminder(booking, "2d").due_at
    offsets = (due.astimezone(berlin.zone).utcoffset(), booking.starts_at.astimezone(berlin.zone).utcoffset())
    assert offsets == ((timedelta(hours=1), timedelta(hours=2)) if month == 3
                       else (timedelta(hours=2), timedelta(hours=1)))

    counts = appointment_reminders_send(now=due + timedelta(minutes=3))

    assert counts["reminders_sent"] == 1
    [message] = reminders_of(booking)
    assert shown(monday_after, "10:00") in message.body
    assert due.astimezone(berlin.zone).date() == change - timedelta(days=1)


# The task -------------------------------------------------------------------------------------------


def test_the_task_logs_its_run_with_counts_and_a_run_with_nothing_due_logs_nothing(world, clinic):
    """The task runs at the real time: a one-week reminder of an appointment a few days ahead,
    planned a week ago, is due now."""
    appointment_policy_update(actor=None, reminder_minutes=[10080])
    day = timezone.localdate(timezone.now(), clinic.zone) + timedelta(days=2)
    day += timedelta(days=1) if day.weekday() == 6 else timedelta(0)
    booking = book(world, local(day, 10), now=timezone.now() - timedelta(days=7))
    assert reminder(booking, "7d").status == Reminder.Status.PENDING

    reminders_task.delay()
    reminders_task.delay()

    [run] = JobRun.objects.filter(job=reminders_task.name, clinic=clinic)
    assert run.status == JobRun.Status.SUCCEEDED
    assert run.counts == {**NOTHING, "reminders_sent": 1}
    assert job_label(run.job) == "Appointment reminders"
    assert set(counts_label(run.counts).split(", ")) == {
        "reminders sent: 1", "reminders skipped: 0", "stale reminders cancelled: 0", "reminders failed: 0"}


def test_a_reminder_quiet_hours_would_hold_past_the_start_goes_before_they_begin(world, monday):
    """Quiet hours 21:00–09:00 in the clinic's time zone (Asia/Shanghai): the 2 h reminder of a 09:00
    appointment falls at 07:00, when waiting for 09:00 would deliver it as the appointment starts.
    It is planned for 20:30 the evening before instead, and delivered at once then."""
    sunday = monday - timedelta(days=1)
    booking = book(world, local(monday, 9))
    assert reminder(booking, "2h").due_at == local(sunday, 20, 30) == local(monday, 9) - timedelta(hours=12, minutes=30)
    assert reminder(booking, "24h").due_at == local(sunday, 9)  # 09:00 is outside quiet hours: unchanged

    counts = appointment_reminders_send(now=local(sunday, 20, 31))

    assert counts == {**NOTHING, "reminders_sent": 2}
    messages = reminders_of(booking)
    assert [m.status for m in messages] == [Message.Status.QUEUED] * 2
    assert all(m.next_attempt_at == local(sunday, 20, 31) < booking.starts_at for m in messages)
    assert {r.status for r in Reminder.objects.filter(booking=booking)} == {Reminder.Status.SENT}


def test_a_reminder_reached_in_quiet_hours_that_end_after_the_start_is_skipped_not_sent_late(world, monday):
    """The job reaches the reminders only at 21:10, in quiet hours that end at 09:00 when the
    appointment starts: both are skipped with the reason, no message waits to go out after the start."""
    sunday = monday - timedelta(days=1)
    booking = book(world, local(monday, 9))

    counts = appointment_reminders_send(now=local(sunday, 21, 10))

    assert counts == {**NOTHING, "reminders_skipped": 2}
    assert {(m.status, m.skip_reason, m.next_attempt_at) for m in reminders_of(booking)} == {
        (Message.Status.SKIPPED, Message.SkipReason.QUIET_HOURS, None)}
    assert {(r.status, r.reason) for r in Reminder.objects.filter(booking=booking)} == {
        (Reminder.Status.SKIPPED, Message.SkipReason.QUIET_HOURS)}


def test_a_reminder_reached_in_quiet_hours_that_end_before_the_start_waits_for_their_end(world, monday):
    sunday = monday - timedelta(days=1)
    booking = book(world, local(monday, 10))

    appointment_reminders_send(now=local(sunday, 23))

    [message] = reminders_of(booking)
    assert (message.status, message.next_attempt_at) == (Message.Status.QUEUED, local(monday, 9))
    assert message.next_attempt_at < booking.starts_at


def test_a_reminder_moved_before_quiet_hours_that_already_began_is_skipped_when_planned(world, monday):
    from appointments.reminders import reminders_plan

    sunday = monday - timedelta(days=1)
    booking = book(world, local(monday, 9))

    reminders_plan(booking=booking, now=local(sunday, 22))

    assert (reminder(booking, "2h").status, reminder(booking, "2h").reason) == (
        Reminder.Status.SKIPPED, Message.SkipReason.QUIET_HOURS)
    assert (reminder(booking, "24h").status, reminder(booking, "24h").reason) == (
        Reminder.Status.SKIPPED, Reminder.Reason.TOO_LATE)
    assert appointment_reminders_send(now=local(sunday, 22, 5)) == NOTHING


def test_quiet_hours_are_the_clinics_local_hours_for_reminders(world, monday, berlin):
    """In Europe/Berlin the same 09:00 appointment's 2 h reminder goes at 20:30 Berlin time."""
    sunday = monday - timedelta(days=1)
    booking = book(world, local(monday, 9))

    assert reminder(booking, "2h").due_at == local(sunday, 20, 30)
    assert local(sunday, 20, 30).utcoffset() in (timedelta(hours=1), timedelta(hours=2))
