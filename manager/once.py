"""A form that creates something is submitted once: it carries a fresh token, and the first POST
with that token claims it in the idempotency table, in the same transaction as the work. A second
POST with the same token (a double click, a reload) waits for the first to commit, then is sent
where the first one went, and creates nothing. A POST that fails validation claims nothing, so
the corrected form can be sent again."""

import hashlib
import re
import uuid
from collections.abc import Callable

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from idempotency.models import IdempotencyRecord

FIELD = "form_token"
_TOKEN = re.compile(r"[0-9a-f]{32}")


class TokenMissing(Exception):
    """The POST carries no valid form token (an old page, or a hand-made request)."""


def form_token_new() -> str:
    return uuid.uuid4().hex


def _fingerprint(request: HttpRequest) -> str:
    return hashlib.sha256(f"form {request.path}".encode()).hexdigest()


def post_once(request: HttpRequest, handle: Callable[[], HttpResponse]) -> HttpResponse:
    """Run `handle` (which returns a redirect on success) at most once per form token."""
    token = request.POST.get(FIELD, "")
    if not _TOKEN.fullmatch(token):
        raise TokenMissing
    scope, fingerprint = f"form:user:{request.user.pk}", _fingerprint(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(scope=scope, key=token, fingerprint=fingerprint)
        except IntegrityError:
            first = IdempotencyRecord.objects.get(scope=scope, key=token)
            if first.fingerprint != fingerprint or not first.body:
                raise TokenMissing from None
            messages.info(request, _("This form had already been sent; it was saved once."))
            return redirect(first.body["location"])
        response = handle()
        if not 300 <= response.status_code < 400:
            transaction.set_rollback(True)
            return response
        record.status_code = response.status_code
        record.body = {"location": response["Location"]}
        record.save(update_fields=["status_code", "body"])
        return response
