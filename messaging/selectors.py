"""Reads of the message log and the clinic's templates."""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet

from members.models import Member
from members.selectors import members_matching
from messaging.defaults import default_template_text
from messaging.models import Channel, Message, MessageTemplate, Purpose
from points.rules import local_midnight


def messages_due_exist(*, now: datetime) -> bool:
    return Message.objects.filter(status=Message.Status.QUEUED, next_attempt_at__lte=now).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).exists()


def message_list(*, member: Member | None = None, status: str | None = None, purpose: str | None = None,
                 member_query: str = "", created_from: date | None = None,
                 created_until: date | None = None) -> QuerySet[Message]:
    """The message log, newest first, with each message's member. `member_query` finds members as
    the front desk's search does (phone, last 4 digits, name, pinyin, member number);
    `created_from` and `created_until` are days in the clinic's time zone, both included."""
    messages = Message.objects.select_related("member")
    if member is not None:
        messages = messages.filter(member=member)
    if status:
        messages = messages.filter(status=status)
    if purpose:
        messages = messages.filter(purpose=purpose)
    if member_query.strip():
        messages = messages.filter(member__in=members_matching(query=member_query))
    if created_from is not None:
        messages = messages.filter(created_at__gte=local_midnight(created_from))
    if created_until is not None:
        messages = messages.filter(created_at__lt=local_midnight(created_until + timedelta(days=1)))
    return messages.order_by("-created_at", "-id")


def message_get(*, pk: int) -> Message | None:
    return Message.objects.select_related("member", "template").filter(pk=pk).first()


def message_templates_by_purpose() -> list[tuple[str, list[MessageTemplate]]]:
    """Every template, grouped by purpose, then by channel and language, each in the order they
    are declared (SMS before email, Simplified Chinese before English). Each template carries
    `edited`: whether its text differs from the default one (True where there is no default)."""
    languages = [code for code, _name in settings.LANGUAGES]

    def order(template: MessageTemplate) -> tuple:
        return (Channel.values.index(template.channel),
                languages.index(template.language) if template.language in languages else len(languages),
                template.language)

    templates = sorted(MessageTemplate.objects.all(), key=order)
    for template in templates:
        default = default_template_text(purpose=template.purpose, channel=template.channel,
                                        language=template.language)
        template.edited = default != {"subject": template.subject, "body": template.body}
    return [(purpose, [t for t in templates if t.purpose == purpose]) for purpose in Purpose.values]
