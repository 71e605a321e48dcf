"""Imports from the staff pages: the file is uploaded and previewed first (its header and first
rows, or why it cannot be read), then imported in the background by a Celery task through
`imports.services.csv_import`, the same import as the API and the command line, while the page
polls its progress."""

import io

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import User
from imports.models import ImportUpload
from imports.reading import MAX_FILE_BYTES, FileRejected, csv_read
from imports.services import csv_import, import_columns

PREVIEW_ROWS = 10
PROGRESS_TTL = 24 * 3600


def _progress_key(upload_id: int) -> str:
    return f"import-upload-progress:{upload_id}"


@transaction.atomic
def import_upload_create(*, kind: str, file, actor: User) -> ImportUpload:
    """Keep an uploaded file with a preview: the header, the first rows, how many rows, and the
    file's own errors (not CSV, a missing column) if it has any."""
    columns = import_columns(kind)
    if columns is None:
        raise ValidationError({"kind": _("Choose what the file holds.")})
    content = file.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise ValidationError({"file": _("The file is larger than %(size)s MB.") % {"size": MAX_FILE_BYTES // 2**20}})
    try:
        rows = csv_read(content, columns=columns)
    except FileRejected as exc:
        preview = {"header": [], "rows": [], "row_count": 0, "errors": [list(error) for error in exc.errors]}
    else:
        header = list(rows[0].cells)
        preview = {"header": header, "row_count": len(rows), "errors": [],
                   "rows": [[row.line, [row.cells.get(column, "") for column in header]]
                            for row in rows[:PREVIEW_ROWS]]}
    name = (getattr(file, "name", "") or "").rsplit("/", 1)[-1][:255]
    return ImportUpload.objects.create(kind=kind, file_name=name, content=content, preview=preview,
                                       language=get_language() or "", actor=actor)


def import_upload_start(*, upload: ImportUpload, skip_errors: bool, actor: User) -> bool:
    """Queue the import of an uploaded file (once: a second start does nothing and says so)."""
    from imports.tasks import import_upload_run

    if upload.preview.get("errors"):
        raise ValidationError(_("This file cannot be imported; upload a corrected one."))
    with transaction.atomic():
        started = ImportUpload.objects.filter(pk=upload.pk, status=ImportUpload.Status.UPLOADED).update(
            status=ImportUpload.Status.QUEUED, skip_errors=skip_errors)
        if started:
            cache.set(_progress_key(upload.pk), {"stage": "queued", "rows": 0}, PROGRESS_TTL)
            import_upload_run.delay_on_commit(upload.pk)
    return bool(started)


def import_upload_process(*, upload_id: int) -> ImportUpload | None:
    """Import a queued upload (the task's work): `csv_import` with the upload's kind and
    options, reporting its stages; the file's content is then cleared. None when the upload is
    not waiting (already taken by another run of the task)."""
    if not ImportUpload.objects.filter(pk=upload_id, status=ImportUpload.Status.QUEUED).update(
            status=ImportUpload.Status.RUNNING):
        return None
    upload = ImportUpload.objects.get(pk=upload_id)
    file = io.BytesIO(bytes(upload.content))
    file.name = upload.file_name

    def progress(stage: str, rows: int) -> None:
        cache.set(_progress_key(upload_id), {"stage": stage, "rows": rows}, PROGRESS_TTL)

    try:
        report = csv_import(kind=upload.kind, file=file, actor=upload.actor, skip_errors=upload.skip_errors,
                            progress=progress)
    except Exception:
        ImportUpload.objects.filter(pk=upload_id).update(status=ImportUpload.Status.FAILED)
        progress("failed", 0)
        raise
    ImportUpload.objects.filter(pk=upload_id).update(status=ImportUpload.Status.FINISHED, run_id=report.run_id,
                                                     content=b"")
    upload.refresh_from_db()
    return upload


def import_upload_progress(*, upload: ImportUpload) -> dict:
    """Where the upload's import is: its stage (uploaded, queued, checking, writing, finished,
    failed) and how many rows that stage covers."""
    if upload.status in (ImportUpload.Status.FINISHED, ImportUpload.Status.FAILED, ImportUpload.Status.UPLOADED):
        return {"stage": upload.status, "rows": upload.preview.get("row_count", 0)}
    return cache.get(_progress_key(upload.pk)) or {"stage": upload.status, "rows": 0}
