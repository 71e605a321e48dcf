"""Recommendation tasks. Each runs in the schema it was sent from (see clinic_loyalty/celery.py)."""

from celery import shared_task
from django.db import OperationalError

from jobs.recording import job_run_recorded
from recommendations.learning import recommendations_learn


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def recommendations_learn_nightly(self) -> dict[str, int]:
    """Nightly: learn the clinic's repeat intervals, co-purchases and popularity from its visits.
    Idempotent: a second run replaces the tables with the same contents."""
    with job_run_recorded(self.name) as counts:
        learning = recommendations_learn()
        counts.update({"visit_lines": learning.visit_lines, "intervals": learning.intervals,
                       "associations": learning.associations, "popular": learning.popular})
    return counts
