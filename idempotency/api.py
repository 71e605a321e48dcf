"""`Idempotency-Key` support for value-moving API endpoints.

The key is claimed by inserting its row in the same transaction as the work. A concurrent
retry waits on the unique index until the first attempt commits, then returns its answer; if
the first attempt failed (and rolled back), the retry does the work itself. Only successful
answers are kept: a refused request moved nothing and may be retried with the same key."""

import functools
import hashlib
import json

from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.response import Response

from clinic_loyalty.api_errors import error_body
from idempotency.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 100

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER, {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH}, location=OpenApiParameter.HEADER,
    required=False,
    description=gettext_lazy("A unique key per operation (e.g. a UUID). A retry with the same key "
                             "returns the first answer and moves nothing."))


def _file_digest(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return f"{upload.name}:{digest.hexdigest()}"


def _fingerprint(request) -> str:
    """Method, path and body. An uploaded file counts by its name and content."""
    data = request.data
    if hasattr(data, "items") and any(isinstance(value, UploadedFile) for value in data.values()):
        data = {key: _file_digest(value) if isinstance(value, UploadedFile) else value
                for key, value in data.items()}
    payload = json.dumps(data, sort_keys=True, default=str) if data else ""
    return hashlib.sha256(f"{request.method} {request.path}\n{payload}".encode()).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        return Response(error_body("idempotency_key_reused",
                                   _("This Idempotency-Key was already used for a different request.")),
                        status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    response = Response(record.body, status=record.status_code)
    response["Idempotent-Replay"] = "true"
    return response


def _claim(*, scope: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Insert the key's row, or None if it is already there. A concurrent attempt with the same
    key waits here until the first one commits (then gets None) or rolls back (then inserts)."""
    table = IdempotencyRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (scope, key, fingerprint, status_code, created_at) "  # noqa: S608
            "VALUES (%s, %s, %s, 0, now()) ON CONFLICT (scope, key) DO NOTHING RETURNING id",
            [scope, key, fingerprint])
        row = cursor.fetchone()
    if row is None:
        return None
    return IdempotencyRecord(pk=row[0], scope=scope, key=key, fingerprint=fingerprint)


def idempotent(handler):
    """Decorate an APIView method (post/put/patch) that moves value."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            return Response(error_body("invalid_idempotency_key",
                                       _("The Idempotency-Key may have at most 100 characters.")),
                            status=status.HTTP_400_BAD_REQUEST)
        scope = f"user:{request.user.pk}"
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            record = _claim(scope=scope, key=key, fingerprint=fingerprint)
            if record is None:
                return _replay(IdempotencyRecord.objects.get(scope=scope, key=key), fingerprint)
            response = handler(view, request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
                return response
            record.status_code = response.status_code
            record.body = response.data
            record.save(update_fields=["status_code", "body"])
            return response

    return wrapper
