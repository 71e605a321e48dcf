"""Reminder rows: one per booking and kind of the clinic's plan (e.g. "24h" and "2h" before),
planned when a booking is made, moved when it is rescheduled and cancelled when it ends. The
sending job takes `selectors.reminders_due(now)` and marks each row with `reminder_mark_sent`,
which succeeds once only."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from appointments.models import Booking, Reminder
from appointments.schedule import appointment_policy


def reminder_kind(minutes: int) -> str:
    if minutes % 1440 == 0 and minutes >= 2880:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


@transaction.atomic
def reminders_plan(*, booking: Booking, now: datetime | None = None) -> list[Reminder]:
    """Make the booking's reminders match the plan and its start time. A reminder whose time has
    already passed is skipped, not sent late. On a reschedule every reminder, sent or not, is
    planned again for the new time; kinds no longer in the plan are cancelled."""
    now = now or timezone.now()
    existing = {reminder.kind: reminder for reminder in Reminder.objects.select_for_update().filter(booking=booking)}
    planned = []
    for minutes in appointment_policy().reminder_minutes:
        kind = reminder_kind(minutes)
        due_at = booking.starts_at - timedelta(minutes=minutes)
        status = Reminder.Status.PENDING if due_at > now else Reminder.Status.SKIPPED
        reminder = existing.pop(kind, None) or Reminder(booking=booking, kind=kind)
        reminder.minutes_before, reminder.due_at, reminder.status, reminder.sent_at = minutes, due_at, status, None
        reminder.save()
        planned.append(reminder)
    for leftover in existing.values():
        if leftover.status == Reminder.Status.PENDING:
            leftover.status = Reminder.Status.CANCELLED
            leftover.save(update_fields=["status", "updated_at"])
    return planned


def reminders_cancel(*, booking: Booking) -> int:
    """Cancel the booking's reminders not sent yet."""
    return Reminder.objects.filter(booking=booking, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.CANCELLED, updated_at=timezone.now())


def reminder_mark_sent(*, reminder: Reminder, at: datetime | None = None) -> bool:
    """Record that a reminder went out. True only for the one caller that moved it from pending,
    so a retried or duplicated job never sends twice."""
    at = at or timezone.now()
    return bool(Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.SENT, sent_at=at, updated_at=at))


def reminder_mark_failed(*, reminder: Reminder) -> bool:
    return bool(Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.FAILED, updated_at=timezone.now()))
