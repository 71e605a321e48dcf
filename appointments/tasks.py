"""Appointment tasks. Each runs in the schema it was sent from (see clinic_loyalty/celery.py)."""

from celery import shared_task
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from appointments.reminders import REMINDER_BATCH
from appointments.reminders import appointment_reminders_send as reminders_send
from appointments.selectors import reminders_pending_due_exist
from jobs.recording import job_run_recorded


@shared_task(bind=True, autoretry_for=(OperationalError, IntegrityError), retry_backoff=True,
             max_retries=5)
def appointment_reminders_send(self, batch: int = REMINDER_BATCH) -> dict[str, int]:
    """Every few minutes: send the clinic's due appointment reminders. A run with nothing due
    leaves no job-run row."""
    now = timezone.now()
    if not reminders_pending_due_exist(now=now):
        return {}
    with job_run_recorded(self.name) as counts:
        counts.update(reminders_send(now=now, batch=batch))
    return counts
