"""How job runs are named in the log and shown to people. A job's name is its Celery task's name;
a dispatcher's run is named after the task it sent to every clinic."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

FAN_OUT_PREFIX = "fan-out:"

JOB_LABELS = {
    "accounts.tasks.sessions_clear": gettext_lazy("Clear expired sessions"),
}

COUNT_LABELS = {
    "clinics": gettext_lazy("clinics"),
    "deleted": gettext_lazy("deleted"),
}


def fan_out_job(task_name: str) -> str:
    return f"{FAN_OUT_PREFIX}{task_name}"


def job_label(job: str) -> str:
    task_name = job.removeprefix(FAN_OUT_PREFIX)
    label = str(JOB_LABELS.get(task_name, task_name))
    if task_name != job:
        return _("%(job)s (sent to each clinic)") % {"job": label}
    return label


def counts_label(counts: dict[str, int]) -> str:
    return ", ".join(f"{COUNT_LABELS.get(key, key)}: {value}" for key, value in counts.items())
