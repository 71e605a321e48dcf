"""Imports tasks. Each runs in the schema it was sent from (see clinic_loyalty/celery.py)."""

from celery import shared_task
from django.utils import translation

from imports.models import ImportUpload
from imports.uploads import import_upload_process


@shared_task
def import_upload_run(upload_id: int) -> dict:
    """Import an uploaded file in the background, in the language of whoever uploaded it (the
    row errors are kept as text). Not retried: a failed import leaves the upload failed, and the
    file can be uploaded again."""
    language = ImportUpload.objects.filter(pk=upload_id).values_list("language", flat=True).first()
    with translation.override(language or None):
        upload = import_upload_process(upload_id=upload_id)
    return {"run": upload.run_id if upload else None}
