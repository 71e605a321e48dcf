"""The dispatcher: beat sends it, in the public schema, and it sends a task once to each active
clinic, in that clinic's schema, at a random moment within the jitter window."""

import random
from datetime import datetime

from celery import Task, shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone
from django_tenants.utils import schema_context

from clinics.models import Clinic
from clinics.platform.selectors import clinics_active
from jobs.labels import fan_out_job
from jobs.recording import job_run_recorded


def clinics_at_local_hour(clinics: list[Clinic], *, hour: int | None, now: datetime) -> list[Clinic]:
    """The clinics where it is `hour` o'clock now in their own time zone (all of them if None)."""
    if hour is None:
        return clinics
    return [clinic for clinic in clinics if now.astimezone(clinic.zone).hour == hour]


# The name beat and queued messages use, from before the platform had its own package.
@shared_task(name="clinics.tasks.clinics_fan_out", bind=True, autoretry_for=(OperationalError,), retry_backoff=True,
             max_retries=3)
def clinics_fan_out(self: Task, task_name: str, kwargs: dict | None = None,
                    local_hour: int | None = None) -> int:
    """Send `task_name` with `kwargs` to every active clinic (to those where it is `local_hour`
    o'clock, if given, so an hourly beat entry runs a job at one local time in each clinic)."""
    with job_run_recorded(fan_out_job(task_name)) as counts:
        task = self.app.tasks[task_name]
        clinics = clinics_at_local_hour(list(clinics_active()), hour=local_hour, now=timezone.now())
        for clinic in clinics:
            with schema_context(clinic.schema_name):
                task.apply_async(kwargs=kwargs or {},
                                 countdown=random.uniform(0, settings.CLINIC_FANOUT_JITTER_SECONDS))
        counts["clinics"] = len(clinics)
    return len(clinics)
