"""Tier tasks. Each runs in the schema it was sent from (see clinic_loyalty/celery.py)."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from jobs.recording import job_run_recorded
from tiers.services import tiers_evaluate


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def tiers_evaluate_nightly(self) -> dict[str, int]:
    """Nightly: the clinic's tier evaluation (grace periods, downgrades). Running it again the
    same night changes nothing."""
    with job_run_recorded(self.name) as counts:
        counts.update(tiers_evaluate(at=timezone.now()))
    return counts
