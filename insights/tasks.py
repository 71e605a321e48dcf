"""Insights tasks. Each runs in the schema it was sent from (see clinic_loyalty/celery.py)."""

from celery import shared_task
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from insights.customer_value import customer_value_fit
from insights.rollups import rollups_check, rollups_compact, rollups_ready, rollups_rebuild
from jobs.recording import job_run_recorded
from points.rules import local_date


@shared_task(bind=True, autoretry_for=(OperationalError, IntegrityError), retry_backoff=True, max_retries=5)
def customer_value_fit_nightly(self) -> dict[str, int]:
    """Nightly: fit the predictive CLV to the visits up to the end of yesterday. A second run the
    same night finds the fit made and changes nothing; two at once race on the unique cut-off day,
    and the loser's retry finds the winner's fit."""
    now = timezone.now()
    with job_run_recorded(self.name) as counts:
        fit, made = customer_value_fit(now=now, today=local_date(now))
        counts.update({"fits_made": int(made), "members_predicted": fit.predicted_members if made else 0})
    return counts


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def rollups_nightly(self) -> dict[str, int]:
    """Nightly: rebuild the KPI rollups when they are not in the clinic's time zone (it changed)
    or differ from the visits (visits loaded with the triggers off); otherwise fold the day
    totals' change rows into one row a day (the figures do not change)."""
    with job_run_recorded(self.name) as counts:
        rebuild = not rollups_ready()
        differences = [] if rebuild else rollups_check()
        if rebuild or differences:
            counts.update(rollups_rebuild())
        else:
            counts["day_rows_compacted"] = rollups_compact()
        counts.update({"rebuilt": int(rebuild or bool(differences)), "differences": len(differences)})
    return counts
