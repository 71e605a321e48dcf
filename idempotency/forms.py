"""Idempotency for HTML forms that move value: a form carries a fresh key in a hidden field; the
first submission with that key does the work and keeps where it led; a second one (a double
click, a browser retry, the back button) is sent to the same place and moves nothing.

The key is claimed by inserting its row in the same transaction as the work, exactly like the
API's `Idempotency-Key`: a concurrent duplicate waits on the unique index until the first commits.
A submission refused with a ValidationError rolls back, key and all, so it can be corrected and
sent again."""

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.db import IntegrityError, transaction

from idempotency.models import IdempotencyRecord

FIELD_NAME = "idempotency_key"
MAX_KEY_LENGTH = 100
_IGNORED_FIELDS = {"csrfmiddlewaretoken", FIELD_NAME}


def idempotency_key_new() -> str:
    return uuid.uuid4().hex


class IdempotencyKeyField(forms.CharField):
    """The hidden key of a value-moving form; a new one on every fresh form."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(max_length=MAX_KEY_LENGTH, required=False, initial=idempotency_key_new, **kwargs)


@dataclass(frozen=True)
class Submission:
    location: str
    replayed: bool


def _fingerprint(request) -> str:
    fields = sorted((name, value) for name, values in request.POST.lists() if name not in _IGNORED_FIELDS
                    for value in values)
    return hashlib.sha256(f"{request.path}\n{fields!r}".encode()).hexdigest()


def submit_once(request, perform: Callable[[], str], *, scope: str | None = None) -> Submission:
    """Run `perform` (which does the work through a service and returns the address to go to
    next) at most once per form key and user (or other `scope`, e.g. a portal member).
    Exceptions from `perform` propagate, with everything rolled back."""
    key = request.POST.get(FIELD_NAME, "").strip()[:MAX_KEY_LENGTH]
    if not key:
        return Submission(location=perform(), replayed=False)
    scope = scope or f"form:user:{request.user.pk}"
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(scope=scope, key=key, fingerprint=_fingerprint(request))
        except IntegrityError:
            record = IdempotencyRecord.objects.get(scope=scope, key=key)
            return Submission(location=record.body["location"], replayed=True)
        location = perform()
        record.status_code = 303
        record.body = {"location": location}
        record.save(update_fields=["status_code", "body"])
    return Submission(location=location, replayed=False)
