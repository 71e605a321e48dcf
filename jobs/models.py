from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobRun(models.Model):
    """One run of a background job in one clinic, or for the whole platform when it has no clinic."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    job = models.CharField(_("job"), max_length=200)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="job_runs", verbose_name=_("clinic"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["-started_at"], name="jobrun_started"),
            models.Index(fields=["clinic", "-started_at"], name="jobrun_clinic_started"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=["running", "succeeded", "failed"]),
                                   name="jobrun_status_valid"),
            models.CheckConstraint(
                condition=(models.Q(status="running", finished_at__isnull=True)
                           | (~models.Q(status="running")
                              & models.Q(finished_at__gte=models.F("started_at")))),
                name="jobrun_finished_iff_done"),
        ]

    def __str__(self) -> str:
        return f"{self.job} · {self.started_at:%Y-%m-%d %H:%M}"
