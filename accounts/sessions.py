"""Housekeeping of staff sessions, which live in each clinic's own schema."""

from django.contrib.sessions.models import Session
from django.utils import timezone


def sessions_expired_delete() -> int:
    """Delete the sessions that have expired (as `clearsessions` does); return how many."""
    deleted, _by_model = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
