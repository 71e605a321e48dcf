"""Segments tasks. Each runs in the schema it was sent from (see clinic_loyalty/celery.py)."""

from datetime import timedelta

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from jobs.recording import job_run_recorded
from points.rules import local_date
from segments.scoring import member_scores_refresh


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def member_scores_nightly(self) -> dict[str, int]:
    """Nightly: store every member's RFM scores, cell and lifecycle stage at the end of yesterday
    (the clinic's local day). The store is replaced whole in one transaction, so a second run or a
    retry writes the same rows."""
    with job_run_recorded(self.name) as counts:
        counts["members_scored"] = member_scores_refresh(end=local_date(timezone.now()) - timedelta(days=1))
    return counts
