"""Feedback tasks. Each runs in the schema it was sent from (see clinic_loyalty/celery.py)."""

from celery import shared_task
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from feedback import services
from feedback.selectors import feedback_work_exists
from jobs.recording import job_run_recorded


@shared_task(bind=True, autoretry_for=(OperationalError, IntegrityError), retry_backoff=True,
             max_retries=5)
def feedback_surveys_send(self) -> dict[str, int]:
    """Every few minutes: plan the surveys of new visits, send the due ones and make the
    follow-up tasks of the treatment rules. A run with nothing to do leaves no job-run row."""
    now = timezone.now()
    if not feedback_work_exists(now=now):
        return {}
    with job_run_recorded(self.name) as counts:
        counts["surveys_planned"] = services.surveys_plan(now=now)
        counts.update(services.surveys_send_due(now=now))
        counts["followups_created"] = services.treatment_followups_create(now=now)
    return counts


@shared_task(bind=True, autoretry_for=(OperationalError, IntegrityError), retry_backoff=True,
             max_retries=5)
def recall_followups_create(self) -> dict[str, int]:
    """Each morning in the clinic: a recall follow-up for each member newly due for a session."""
    with job_run_recorded(self.name) as counts:
        counts["followups_created"] = services.recall_followups_create()
    return counts
