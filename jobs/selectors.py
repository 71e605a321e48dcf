from django.db.models import QuerySet

from clinics.models import Clinic
from jobs.models import JobRun


def job_run_list(*, clinic: Clinic | None = None, status: str | None = None) -> QuerySet[JobRun]:
    runs = JobRun.objects.select_related("clinic")
    if clinic is not None:
        runs = runs.filter(clinic=clinic)
    return runs.filter(status=status) if status else runs
