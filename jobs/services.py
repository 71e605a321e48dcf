"""Writes to the job-run log. Each run is written as it starts and again as it ends, outside the
job's own transactions, so a failed job still leaves its record."""

from django.utils import timezone

from clinics.models import Clinic
from jobs.models import JobRun


def job_run_start(*, job: str, clinic: Clinic | None) -> JobRun:
    return JobRun.objects.create(job=job, clinic=clinic)


def job_run_succeed(*, run: JobRun, counts: dict[str, int]) -> JobRun:
    run.status = JobRun.Status.SUCCEEDED
    run.counts = counts
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "counts", "finished_at"])
    return run


def job_run_fail(*, run: JobRun, counts: dict[str, int], error: str) -> JobRun:
    run.status = JobRun.Status.FAILED
    run.counts = counts
    run.error = error
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "counts", "error", "finished_at"])
    return run
