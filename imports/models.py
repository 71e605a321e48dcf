from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ImportRun(models.Model):
    """One CSV import, whatever its outcome, so managers can see what was brought in, from
    which file, by whom, and which rows were refused."""

    class Kind(models.TextChoices):
        MEMBERS = "members", _("Members")
        VISITS = "visits", _("Visit history")
        BALANCES = "balances", _("Opening point balances")

    class Status(models.TextChoices):
        COMPLETED = "completed", _("Imported")
        PARTIAL = "partial", _("Imported, rows with errors skipped")
        REJECTED = "rejected", _("Rejected, nothing imported")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("imported by"))
    skip_errors = models.BooleanField(_("skip rows with errors"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    imported = models.PositiveIntegerField(_("rows imported"), default=0)
    skipped = models.PositiveIntegerField(_("rows skipped"), default=0)
    already_imported = models.PositiveIntegerField(_("rows imported before"), default=0)
    created = models.PositiveIntegerField(_("records created"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True,
                              help_text=_("[line, column, message] for each error."))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(finished_at__gte=models.F("started_at")),
                                   name="import_run_finishes_after_start"),
            models.CheckConstraint(condition=~Q(status="rejected") | Q(imported=0),
                                   name="rejected_import_imports_nothing"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name} ({self.started_at:%Y-%m-%d %H:%M})"

    @property
    def duration(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


class ImportUpload(models.Model):
    """A file uploaded on the imports page: kept until it is imported in the background (then
    its content is cleared), with a preview of its first rows, and the ImportRun it became."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded, not imported yet")
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Importing")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=10, choices=ImportRun.Kind.choices)
    file_name = models.CharField(_("file name"), max_length=255)
    content = models.BinaryField(editable=False)
    preview = models.JSONField(default=dict, blank=True,
                               help_text=_("header, rows (the first ones), row_count, errors (the file's own)."))
    language = models.CharField(max_length=10)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    skip_errors = models.BooleanField(_("skip rows with errors"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED)
    run = models.OneToOneField(ImportRun, null=True, blank=True, on_delete=models.PROTECT, related_name="upload")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(status="finished") | Q(run__isnull=False),
                                   name="finished_upload_has_run"),
        ]
