"""Reads of the message log and the clinic's templates."""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from clinics.context import local_midnight
from members.models import Member
from members.selectors import members_matching
from messaging.defaults import default_template_text
from messaging.models import Channel, Message, MessageTemplate, Purpose

# The days the log can be filtered by.
LOG_YEARS = (2000, 2999)


def message_log_days_errors(*, created_from: date | None, created_until: date | None) -> dict[str, list[str]]:
    """What is wrong with the first and last day of a filter of the log, by field: a day outside
    `LOG_YEARS`, a last day before the first."""
    errors: dict[str, list[str]] = {}
    for name, day in (("created_from", created_from), ("created_until", created_until)):
        if day is not None and not LOG_YEARS[0] <= day.year <= LOG_YEARS[1]:
            errors[name] = [_("Choose a day in the years %(first)s to %(last)s.")
                            % {"first": LOG_YEARS[0], "last": LOG_YEARS[1]}]
    if created_from and created_until and created_until < created_from:
        errors.setdefault("created_until", []).append(_("The last day cannot be before the first."))
    return errors


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


def _template_order(template: MessageTemplate) -> tuple:
    languages = [code for code, _name in settings.LANGUAGES]
    return (Purpose.values.index(template.purpose), Channel.values.index(template.channel),
            languages.index(template.language) if template.language in languages else len(languages),
            template.language)


def _with_default(template: MessageTemplate) -> MessageTemplate:
    default = default_template_text(purpose=template.purpose, channel=template.channel,
                                    language=template.language)
    template.has_default = default is not None
    template.edited = default != {"subject": template.subject, "body": template.body}
    return template


def message_template_list(*, purpose: str | None = None, channel: str | None = None,
                          language: str | None = None) -> list[MessageTemplate]:
    """The templates by purpose, then by channel and language, each in the order they are
    declared (SMS before email, Simplified Chinese before English). Each template carries
    `edited`: whether its text differs from the default one (True where there is no default),
    and `has_default`."""
    templates = MessageTemplate.objects.all()
    if purpose:
        templates = templates.filter(purpose=purpose)
    if channel:
        templates = templates.filter(channel=channel)
    if language:
        templates = templates.filter(language=language)
    return [_with_default(template) for template in sorted(templates, key=_template_order)]


def message_template_get(*, pk: int) -> MessageTemplate | None:
    """One template, with `edited` and `has_default` as in `message_template_list`."""
    template = MessageTemplate.objects.filter(pk=pk).first()
    return _with_default(template) if template is not None else None


def message_templates_by_purpose() -> list[tuple[str, list[MessageTemplate]]]:
    """Every template (as `message_template_list` gives them), grouped by purpose."""
    templates = message_template_list()
    return [(purpose, [t for t in templates if t.purpose == purpose]) for purpose in Purpose.values]
