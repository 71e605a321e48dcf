"""Writes to messaging: the clinic's settings and templates, queueing messages (one or a whole
batch, each checked against the rules and recorded, skipped ones with their reason), and
delivering what is queued."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import settings_change_check
from audit.services import settings_update
from clinic_loyalty.sql_arrays import any_of
from clinics.context import clinic_key, current_clinic
from members.models import Member
from messaging import tasks
from messaging.backends import OutgoingMessage, PermanentFailure, TemporaryFailure, backend_for
from messaging.defaults import default_template_rows, default_template_text
from messaging.models import ESSENTIAL_PURPOSES, MARKETING_PURPOSES, Message, MessageTemplate, MessagingSettings
from messaging.rendering import template_render, template_texts_validate
from messaging.rules import message_skip_reasons, quiet_hours_over, recipient_of

MAX_ATTEMPTS = 5
CLAIM_LEASE = timedelta(minutes=10)
DELIVERY_BATCH = 100


def messaging_settings() -> MessagingSettings:
    return MessagingSettings.objects.filter(pk=1).first() or MessagingSettings(pk=1)


def messaging_defaults_install() -> None:
    """The settings row and the default templates (zh-Hans and English, every purpose and
    channel). Idempotent: templates the clinic has edited are kept."""
    MessagingSettings.objects.get_or_create(pk=1)
    existing = set(MessageTemplate.objects.values_list("purpose", "channel", "language"))
    MessageTemplate.objects.bulk_create(
        [MessageTemplate(**row) for row in default_template_rows()
         if (row["purpose"], row["channel"], row["language"]) not in existing])


# The most marketing messages a clinic may send one member in any 7 days.
MAX_WEEKLY_CAP = 50

SETTINGS_FIELDS = ("default_channel", "quiet_hours_start", "quiet_hours_end", "marketing_weekly_cap",
                   "service_messages_enabled")


@transaction.atomic
def messaging_settings_update(*, actor: User | None, **changes) -> MessagingSettings:
    """Change the clinic's default channel, quiet hours, weekly cap of marketing messages or its
    switch for service messages."""
    row = MessagingSettings.objects.select_for_update().get_or_create(pk=1)[0]
    return settings_update(actor=actor, obj=row, changes=changes, fields=SETTINGS_FIELDS)


@transaction.atomic
def message_template_update(*, template: MessageTemplate, actor: User | None, body: str,
                            subject: str | None = None) -> MessageTemplate:
    """New text for a template (and a new subject, if given). Unknown variables and malformed
    braces are refused with an error on the field, and nothing changes."""
    template_texts_validate(purpose=template.purpose, body=body, subject=subject or "")
    changes = {"body": body} if subject is None else {"body": body, "subject": subject}
    return settings_update(actor=actor, obj=template, changes=changes, fields=("body", "subject"))


def message_template_restore_default(*, template: MessageTemplate, actor: User | None) -> MessageTemplate:
    """Put back the text the template was installed with."""
    settings_change_check(actor)
    default = default_template_text(purpose=template.purpose, channel=template.channel,
                                    language=template.language)
    if default is None:
        raise ValidationError(_("There is no default text in this language."))
    return message_template_update(template=template, actor=actor, **default)


def _clinic_language() -> str:
    clinic = current_clinic()
    return clinic.language if clinic else settings.LANGUAGE_CODE


def _template_for(purpose: str, channel: str, language: str) -> MessageTemplate | None:
    templates = {t.language: t for t in MessageTemplate.objects.filter(purpose=purpose, channel=channel)}
    return templates.get(language) or templates.get("zh-hans") or next(iter(templates.values()), None)


@dataclass(frozen=True)
class Outgoing:
    """One message to queue: to whom, with which variables, guarded by which key (if it must go
    once)."""

    member_id: int
    variables: dict = field(default_factory=dict)
    guard_key: str | None = None


def messages_queue(*, purpose: str, outgoing: list[Outgoing], channel: str | None = None,
                   at: datetime | None = None, text: tuple[str, str] | None = None,
                   deadline: datetime | None = None) -> list[Message]:
    """Record a message to each member: queued if the rules allow it, skipped with the reason if
    not. Messages whose guard key was used before are left out. Runs in the caller's transaction
    (or its own); the queued ones are delivered after the commit. For marketing, the members'
    rows are locked so two batches cannot both pass the weekly cap. `text` (subject, body) is
    the sender's own text (a campaign's), used instead of the clinic's template for the purpose.
    `deadline`: a service message that would wait for the end of quiet hours until then or later
    (a reminder of an appointment starting before they end) is skipped (`quiet_hours`), not sent late."""
    at = at or timezone.now()
    rules = messaging_settings()
    channel = channel or rules.default_channel
    marketing = purpose in MARKETING_PURPOSES
    with transaction.atomic():
        keys = [item.guard_key for item in outgoing if item.guard_key]
        used = set(Message.objects.filter(guard_key__in=any_of(keys, "text")).values_list("guard_key", flat=True))
        outgoing = [item for item in outgoing if not item.guard_key or item.guard_key not in used]
        if not outgoing:
            return []
        ids = sorted({item.member_id for item in outgoing})
        members_query = Member.objects.filter(pk__in=any_of(ids, "bigint")).order_by("pk")
        if marketing:
            members_query = members_query.select_for_update()
        members = {row["id"]: row for row in members_query.values("id", "status", "phone", "email", "name")}
        reasons = message_skip_reasons(members=list(members.values()), purpose=purpose, channel=channel,
                                       at=at, rules=rules)
        # Service messages (reminders, expiry warnings, surveys) wait for the end of quiet hours;
        # marketing in quiet hours is skipped above; essential ones (a sign-in code) go at once.
        send_at = at if marketing or purpose in ESSENTIAL_PURPOSES else quiet_hours_over(
            at, start=rules.quiet_hours_start, end=rules.quiet_hours_end)
        too_late = deadline is not None and send_at >= deadline
        language = _clinic_language()
        template = None if text else _template_for(purpose, channel, language)
        clinic = current_clinic()
        base = {"clinic": clinic.name if clinic else ""}
        messages = []
        for item in outgoing:
            member = members[item.member_id]
            reason = (reasons[item.member_id] or (Message.SkipReason.QUIET_HOURS if too_late else "")
                      or ("" if template or text else Message.SkipReason.NO_TEMPLATE))
            variables = {**base, "name": member["name"], **item.variables}
            subject, body = text or ((template.subject, template.body) if template else ("", ""))
            message_language = template.language if template else language
            messages.append(Message(
                member_id=item.member_id, recipient=recipient_of(member, channel), channel=channel,
                purpose=purpose, marketing=marketing, template=template,
                language=message_language,
                subject=template_render(subject, variables, language=message_language),
                body=template_render(body, variables, language=message_language),
                status=Message.Status.SKIPPED if reason else Message.Status.QUEUED, skip_reason=reason,
                guard_key=item.guard_key, created_at=at, next_attempt_at=None if reason else send_at))
        _messages_insert(messages)
        if any(message.status == Message.Status.QUEUED for message in messages):
            tasks.messages_deliver_due.delay_on_commit()
    return messages


_COPIED_FIELDS = ("id", "member_id", "recipient", "channel", "purpose", "marketing", "template_id", "language",
                  "subject", "body", "status", "skip_reason", "error", "attempts", "backend", "provider_id",
                  "guard_key", "created_at", "next_attempt_at")


def messages_queue_batched(*, purpose: str, outgoing: list[Outgoing], at: datetime | None = None,
                           batch: int = 2000) -> tuple[int, int]:
    """`messages_queue` in batches of `batch`, each its own transaction, so a large job holds no lock
    for long and a failure loses one batch at most (its guard keys make the next run redo it).
    Returns (queued, skipped)."""
    queued = skipped = 0
    for start in range(0, len(outgoing), batch):
        with transaction.atomic():
            messages = messages_queue(purpose=purpose, outgoing=outgoing[start:start + batch], at=at)
        batch_skipped = sum(1 for message in messages if message.skip_reason)
        skipped += batch_skipped
        queued += len(messages) - batch_skipped
    return queued, skipped


def expiry_warnings_queue(*, purpose: str, days: int, due_sql: str, outgoing_of, now: datetime,
                          batch: int = 2000) -> dict[str, int]:
    """Warnings of what runs out within `days` days of today (in the clinic's time zone; 0: none):
    `due_sql` (parameters `zone`, `now`, `horizon`, the local midnight after the last day) gives
    the rows, `outgoing_of(row)` each row's message, queued with `messages_queue_batched`."""
    from clinics.context import clinic_zone, local_date, local_midnight

    counts = {"warnings_queued": 0, "warnings_skipped": 0}
    if days == 0:
        return counts
    horizon = local_midnight(local_date(now) + timedelta(days=days + 1))
    with connection.cursor() as cursor:
        cursor.execute(due_sql, {"zone": str(clinic_zone()), "now": now, "horizon": horizon})
        due = cursor.fetchall()
    counts["warnings_queued"], counts["warnings_skipped"] = messages_queue_batched(
        purpose=purpose, outgoing=[outgoing_of(row) for row in due], at=now, batch=batch)
    return counts


def _messages_insert(messages: list[Message]) -> None:
    """Insert the messages with COPY, their ids taken from the table's sequence first (a batch job
    queues tens of thousands at once; COPY writes them several times faster than an INSERT
    built by the ORM)."""
    if not messages:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [Message._meta.db_table, len(messages)])
        for message, (pk,) in zip(messages, cursor.fetchall(), strict=True):
            message.pk = message.id = pk
            message._state.adding = False
        # A duplicate guard key raises IntegrityError, as an INSERT through the ORM would.
        with connection.wrap_database_errors, cursor.copy(
                f"COPY {Message._meta.db_table} ({', '.join(_COPIED_FIELDS)}) FROM STDIN") as copy:
            for message in messages:
                copy.write_row([getattr(message, name) for name in _COPIED_FIELDS])


def message_send(*, member: Member, purpose: str, variables: dict | None = None,
                 channel: str | None = None, guard_key: str | None = None,
                 at: datetime | None = None, deadline: datetime | None = None) -> Message:
    """Queue one message to a member (delivered after the commit), or record why it is skipped.
    With `guard_key` it happens once: a second call returns the first message. `deadline`: see
    `messages_queue`."""
    if guard_key:
        existing = Message.objects.filter(guard_key=guard_key).first()
        if existing is not None:
            return existing
    queued = messages_queue(purpose=purpose, channel=channel, at=at, deadline=deadline,
                            outgoing=[Outgoing(member_id=member.pk, variables=variables or {},
                                               guard_key=guard_key)])
    return queued[0] if queued else Message.objects.get(guard_key=guard_key)


_CLAIM_SQL = """
UPDATE messaging_message m
SET claimed_until = %(lease)s, attempts = m.attempts + 1
WHERE m.id IN (
    SELECT id FROM messaging_message
    WHERE status = 'queued' AND next_attempt_at <= %(now)s
      AND (claimed_until IS NULL OR claimed_until < %(now)s)
      AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
    ORDER BY next_attempt_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING m.id
"""


def _claim(*, now: datetime, limit: int, ids: list[int] | None = None) -> list[int]:
    """Take a lease on due queued messages, so no other worker sends them meanwhile. A worker that
    dies holding a lease leaves the message queued; it is taken again when the lease ends."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"now": now, "lease": now + CLAIM_LEASE, "limit": limit, "ids": ids})
        return sorted(row[0] for row in cursor.fetchall())


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed attempt: 1, 2, 4, 8… minutes."""
    return timedelta(minutes=2 ** (attempts - 1))


def _deliver_one(message: Message, *, now: datetime) -> str:
    clinic = current_clinic()
    backend = backend_for(message.channel)
    outgoing = OutgoingMessage(channel=message.channel, recipient=message.recipient, subject=message.subject,
                               body=message.body, reference=clinic_key(message.pk),
                               sender=clinic.name if clinic else "")
    try:
        provider_id = backend.send(outgoing)
    except PermanentFailure as exc:
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED, failed_at=now, error=str(exc)[:1000], claimed_until=None,
            next_attempt_at=None, backend=backend.name)
        return "failed"
    except TemporaryFailure as exc:
        if message.attempts >= MAX_ATTEMPTS:
            Message.objects.filter(pk=message.pk).update(
                status=Message.Status.FAILED, failed_at=now, error=str(exc)[:1000], claimed_until=None,
                next_attempt_at=None, backend=backend.name)
            return "failed"
        Message.objects.filter(pk=message.pk).update(
            error=str(exc)[:1000], claimed_until=None, backend=backend.name,
            next_attempt_at=now + retry_delay(message.attempts))
        return "retrying"
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENT, sent_at=now, provider_id=provider_id[:120], claimed_until=None,
        next_attempt_at=None, error="", backend=backend.name)
    return "sent"


def messages_deliver_due(*, now: datetime | None = None, ids: list[int] | None = None,
                         batch: int = DELIVERY_BATCH) -> dict[str, int]:
    """Deliver every queued message that is due (or only `ids`): sent, retried later with
    backoff after a temporary failure, failed after a refusal or the last attempt."""
    counts = {"sent": 0, "retrying": 0, "failed": 0}
    # One moment for the whole run: a message put off during the run is not due again in it.
    now = now or timezone.now()
    while True:
        claimed = _claim(now=now, limit=batch, ids=ids)
        if not claimed:
            return counts
        for message in Message.objects.filter(pk__in=claimed).order_by("pk"):
            counts[_deliver_one(message, now=now)] += 1
