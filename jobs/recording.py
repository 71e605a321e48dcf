"""Recording job runs, at the Celery edge: a run belongs to the clinic whose schema the task runs
in, or to the platform in the public schema."""

from collections.abc import Iterator
from contextlib import contextmanager

from clinics.context import current_clinic
from jobs.services import job_run_fail, job_run_start, job_run_succeed


@contextmanager
def job_run_recorded(job: str) -> Iterator[dict[str, int]]:
    """Log a run of `job` as it starts and as it ends. The block fills in the yielded counts; an
    exception marks the run failed, with its message, and goes on to Celery (and its retries)."""
    run = job_run_start(job=job, clinic=current_clinic())
    counts: dict[str, int] = {}
    try:
        yield counts
    except Exception as exc:
        job_run_fail(run=run, counts=counts, error=f"{exc.__class__.__name__}: {exc}")
        raise
    job_run_succeed(run=run, counts=counts)
