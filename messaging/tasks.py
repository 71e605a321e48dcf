"""Messaging tasks. Each runs in the schema it was sent from (see clinic_loyalty/celery.py)."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from jobs.recording import job_run_recorded
from messaging import services
from messaging.selectors import messages_due_exist


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def messages_deliver_due(self) -> dict[str, int]:
    """Deliver the clinic's due queued messages. Sent after every commit that queues messages,
    and every few minutes by beat, which also picks up retries and messages a dead worker held.
    A run with nothing due leaves no job-run row."""
    if not messages_due_exist(now=timezone.now()):
        return {}
    with job_run_recorded(self.name) as counts:
        counts.update(services.messages_deliver_due())
    return counts
