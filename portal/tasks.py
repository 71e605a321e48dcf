"""Portal housekeeping. Runs in the schema it was sent from (see clinic_loyalty/celery.py)."""

from celery import shared_task
from django.db import OperationalError

from jobs.recording import job_run_recorded
from portal.services import portal_records_expired_delete


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def portal_records_clear(self) -> dict[str, int]:
    """Delete ended member sessions and old sign-in codes in the current clinic."""
    with job_run_recorded(self.name) as counts:
        counts.update(portal_records_expired_delete())
    return counts
