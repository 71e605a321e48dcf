"""Reminder rows: one per booking and kind of the clinic's plan (e.g. "24h" and "2h" before),
planned when a booking is made, moved when it is rescheduled and cancelled when it ends; and the
job that sends the due ones (`appointment_reminders_send`) through the messaging app, exactly
once per booking, kind and appointment time."""

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from appointments.models import Booking, Reminder
from appointments.schedule import appointment_policy
from messaging.models import Message, MessagingSettings, Purpose
from messaging.rules import in_quiet_hours, quiet_hours_began, quiet_hours_over
from messaging.services import message_send, messaging_settings

REMINDER_BATCH = 100
# A reminder that quiet hours would hold back past the appointment's start goes this long before
# they begin, so the job (every 5 minutes) reaches it while sending is still allowed.
QUIET_HOURS_LEAD = timedelta(minutes=30)


def reminder_kind(minutes: int) -> str:
    if minutes % 1440 == 0 and minutes >= 2880:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def reminder_due_at(starts_at: datetime, minutes: int, *, rules: MessagingSettings) -> datetime:
    """When the reminder `minutes` before `starts_at` goes: then, unless that falls in quiet hours
    that end only at or after the start (a 2 h reminder of a 07:30 appointment with quiet hours
    21:00–09:00); such a reminder goes `QUIET_HOURS_LEAD` before those quiet hours begin."""
    due_at = starts_at - timedelta(minutes=minutes)
    start, end = rules.quiet_hours_start, rules.quiet_hours_end
    if in_quiet_hours(due_at, start=start, end=end) and quiet_hours_over(due_at, start=start, end=end) >= starts_at:
        return quiet_hours_began(due_at, start=start, end=end) - QUIET_HOURS_LEAD
    return due_at


@transaction.atomic
def reminders_plan(*, booking: Booking, now: datetime | None = None) -> list[Reminder]:
    """Make the booking's reminders match the plan and its start time. A reminder whose time has
    already passed is skipped, not sent late (`quiet_hours` if only the move to before quiet hours
    put it in the past). On a reschedule every reminder, sent or not, is planned again for the new
    time; kinds no longer in the plan are cancelled."""
    now = now or timezone.now()
    rules = messaging_settings()
    existing = {reminder.kind: reminder for reminder in Reminder.objects.select_for_update().filter(booking=booking)}
    planned = []
    for minutes in appointment_policy().reminder_minutes:
        kind = reminder_kind(minutes)
        due_at = reminder_due_at(booking.starts_at, minutes, rules=rules)
        status = Reminder.Status.PENDING if due_at > now else Reminder.Status.SKIPPED
        reminder = existing.pop(kind, None) or Reminder(booking=booking, kind=kind)
        reminder.minutes_before, reminder.due_at, reminder.status, reminder.sent_at = minutes, due_at, status, None
        if status == Reminder.Status.PENDING:
            reminder.reason = ""
        elif booking.starts_at - timedelta(minutes=minutes) > now:
            reminder.reason = Message.SkipReason.QUIET_HOURS
        else:
            reminder.reason = Reminder.Reason.TOO_LATE
        reminder.message = None
        reminder.save()
        planned.append(reminder)
    for leftover in existing.values():
        if leftover.status == Reminder.Status.PENDING:
            leftover.status, leftover.reason = Reminder.Status.CANCELLED, Reminder.Reason.NOT_IN_PLAN
            leftover.save(update_fields=["status", "reason", "updated_at"])
    return planned


def reminders_cancel(*, booking: Booking) -> int:
    """Cancel the booking's reminders not sent yet."""
    return Reminder.objects.filter(booking=booking, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.CANCELLED, reason=Reminder.Reason.BOOKING_INACTIVE, updated_at=timezone.now())


def reminder_mark_sent(*, reminder: Reminder, at: datetime | None = None) -> bool:
    """Record that a reminder went out. True only for the one caller that moved it from pending,
    so a retried or duplicated job never sends twice."""
    at = at or timezone.now()
    return bool(Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.SENT, sent_at=at, updated_at=at))


def reminder_mark_failed(*, reminder: Reminder) -> bool:
    return bool(Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.FAILED, updated_at=timezone.now()))


def reminder_guard_key(reminder: Reminder) -> str:
    """The message log's guard for one reminder: per booking, kind and appointment time, so a
    retried or doubled job sends it once, and a rescheduled appointment is reminded of its new
    time."""
    starts_at = reminder.booking.starts_at.astimezone(UTC)
    return f"appointment-reminder:{reminder.booking_id}:{reminder.kind}:{starts_at:%Y%m%dT%H%MZ}"


def _stale_reason(reminder: Reminder, *, now: datetime, rules: MessagingSettings) -> str:
    """Why a due reminder must not go out any more, or "" if it may."""
    booking = reminder.booking
    if booking.status not in (Booking.Status.BOOKED, Booking.Status.CONFIRMED):
        return Reminder.Reason.BOOKING_INACTIVE
    if reminder.due_at not in (booking.starts_at - timedelta(minutes=reminder.minutes_before),
                               reminder_due_at(booking.starts_at, reminder.minutes_before, rules=rules)):
        return Reminder.Reason.TIME_CHANGED
    if booking.starts_at <= now:
        return Reminder.Reason.APPOINTMENT_STARTED
    return ""


_STATUS_OF_MESSAGE = {
    Message.Status.QUEUED: Reminder.Status.SENT,
    Message.Status.SENT: Reminder.Status.SENT,
    Message.Status.FAILED: Reminder.Status.FAILED,
    Message.Status.SKIPPED: Reminder.Status.SKIPPED,
}


def _reminder_close(reminder: Reminder, *, status: str, reason: str = "", message: Message | None = None,
                    at: datetime) -> bool:
    return bool(Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.PENDING).update(
        status=status, reason=reason, message=message, updated_at=at,
        sent_at=at if status == Reminder.Status.SENT else None))


def _reminder_send(reminder: Reminder, *, now: datetime, rules: MessagingSettings) -> str:
    """Send one locked, due reminder or close it as stale; returns the status it ends in. One that
    quiet hours would hold back until the appointment has started is skipped (`quiet_hours`)."""
    stale = _stale_reason(reminder, now=now, rules=rules)
    if stale:
        status = Reminder.Status.SKIPPED if stale == Reminder.Reason.APPOINTMENT_STARTED else Reminder.Status.CANCELLED
        _reminder_close(reminder, status=status, reason=stale, at=now)
        return status
    booking = reminder.booking
    message = message_send(member=booking.member, purpose=Purpose.APPOINTMENT_REMINDER, at=now,
                           guard_key=reminder_guard_key(reminder), deadline=booking.starts_at,
                           variables={"appointment_time": booking.starts_at,
                                      "practitioner": str(booking.practitioner),
                                      "location": booking.location.name})
    status = _STATUS_OF_MESSAGE[message.status]
    _reminder_close(reminder, status=status, reason=message.skip_reason, message=message, at=now)
    return status


def appointment_reminders_send(*, now: datetime | None = None, batch: int = REMINDER_BATCH) -> dict[str, int]:
    """Send every pending reminder whose time has come, in batches. Each batch locks its
    reminders and their bookings (`FOR UPDATE SKIP LOCKED`, so concurrent runs share the work
    and a booking being changed is left for the next run), checks each booking is still booked
    or confirmed, not started, and at the time the reminder was planned for (if not, the
    reminder is cancelled or skipped with the reason), queues the message under its guard key
    and closes the reminder with the outcome, all in one transaction: a run that dies leaves
    whole batches and the next run does the rest, never twice."""
    # One moment for the whole run, as message delivery does.
    now = now or timezone.now()
    rules = messaging_settings()
    counts = {"reminders_sent": 0, "reminders_skipped": 0, "reminders_cancelled": 0, "reminders_failed": 0}
    while True:
        with transaction.atomic():
            due = list(Reminder.objects.filter(status=Reminder.Status.PENDING, due_at__lte=now)
                       .select_related("booking__member", "booking__location", "booking__practitioner__user")
                       .select_for_update(skip_locked=True, of=("self", "booking"))
                       .order_by("due_at", "id")[:batch])
            if not due:
                return counts
            for reminder in due:
                counts[f"reminders_{_reminder_send(reminder, now=now, rules=rules)}"] += 1
