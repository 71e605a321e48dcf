"""Reads of the message log."""

from datetime import datetime

from django.db.models import Q, QuerySet

from members.models import Member
from messaging.models import Message


def messages_due_exist(*, now: datetime) -> bool:
    return Message.objects.filter(status=Message.Status.QUEUED, next_attempt_at__lte=now).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).exists()


def message_list(*, member: Member | None = None, status: str | None = None,
                 purpose: str | None = None) -> QuerySet[Message]:
    messages = Message.objects.all()
    if member is not None:
        messages = messages.filter(member=member)
    if status:
        messages = messages.filter(status=status)
    return messages.filter(purpose=purpose) if purpose else messages
