"""Package tasks. Each runs in the schema it was sent from (see clinic_loyalty/celery.py)."""

from celery import shared_task
from django.db import IntegrityError, OperationalError

from jobs.recording import job_run_recorded
from packages.expiry import package_expiry_warnings_send


@shared_task(bind=True, autoretry_for=(OperationalError, IntegrityError), retry_backoff=True, max_retries=5)
def package_expiry_warn(self) -> dict[str, int]:
    """Each morning: warn members whose package sessions' last day is within the warning period."""
    with job_run_recorded(self.name) as counts:
        counts.update(package_expiry_warnings_send())
    return counts
