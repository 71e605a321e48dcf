"""Campaign tasks. Each runs in the schema it was sent from (see clinic_loyalty/celery.py)."""

from celery import shared_task
from django.db import IntegrityError, OperationalError

from campaigns import results, running, services
from jobs.recording import job_run_recorded


@shared_task(bind=True, autoretry_for=(OperationalError, IntegrityError), retry_backoff=True,
             max_retries=5)
def birthday_offers_grant(self, batch_size: int = services.BATCH_SIZE) -> dict[str, int]:
    """Each morning in the clinic: today's birthday offers (and any a missed run left)."""
    with job_run_recorded(self.name) as counts:
        counts.update(services.birthday_offers_grant(batch_size=batch_size))
    return counts


@shared_task(bind=True, autoretry_for=(OperationalError, IntegrityError), retry_backoff=True,
             max_retries=5)
def campaigns_run_due(self) -> dict[str, int]:
    """Every hour, and right after a launch: the campaigns' due occurrences."""
    with job_run_recorded(self.name) as counts:
        counts.update(running.campaigns_run_due())
    return counts


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def campaign_results_due(self) -> dict[str, int]:
    """Each night: the results of campaigns whose measurement period has ended."""
    with job_run_recorded(self.name) as counts:
        counts["computed"] = results.campaign_results_due()
    return counts
