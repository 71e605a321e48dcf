"""Points tasks. Each runs in the schema it was sent from (see clinic_loyalty/celery.py)."""

from celery import shared_task
from django.db import IntegrityError, OperationalError

from jobs.recording import job_run_recorded
from points.coupons import coupons_expire
from points.expiry import expiry_warnings_send
from points.ledger import lots_expire


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def points_expire(self, accounts_per_batch: int = 20_000) -> dict[str, int]:
    """Nightly, just after the clinic's midnight: expire every due lot and every coupon past its
    validity. Anything a missed night left is due too, so the next run catches up."""
    with job_run_recorded(self.name) as counts:
        counts["lots_expired"] = lots_expire(accounts_per_batch=accounts_per_batch)
        counts["coupons_expired"] = coupons_expire()
    return counts


@shared_task(bind=True, autoretry_for=(OperationalError, IntegrityError), retry_backoff=True,
             max_retries=5)
def points_expiry_warn(self) -> dict[str, int]:
    """Each morning: warn members whose points expire within the clinic's warning period."""
    with job_run_recorded(self.name) as counts:
        counts.update(expiry_warnings_send())
    return counts
