"""Whether a message may go to a member: every rule in one place, for one member or a whole batch
at once. Targeting never looks at medical data: these rules read only the member's status,
contact details, consent records and the message log."""

from datetime import datetime, time, timedelta

from django.db.models import Count
from django.utils import timezone

from clinic_loyalty.sql_arrays import any_of
from clinics.context import clinic_zone
from members.models import Member
from members.selectors import consent_granted_members, consent_withdrawn_members
from messaging.models import (
    ESSENTIAL_PURPOSES,
    MARKETING_CONSENT,
    MARKETING_PURPOSES,
    SERVICE_OPT_OUT,
    Channel,
    Message,
    MessagingSettings,
)

CAP_WINDOW = timedelta(days=7)


def in_quiet_hours(at: datetime, *, start: time, end: time) -> bool:
    """Whether `at`, in the clinic's time zone, falls in [start, end) (which may span midnight)."""
    local = timezone.localtime(at, clinic_zone()).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_over(at: datetime, *, start: time, end: time) -> datetime:
    """`at` itself outside quiet hours, else the instant they end (in the clinic's time zone)."""
    if not in_quiet_hours(at, start=start, end=end):
        return at
    zone = clinic_zone()
    local = timezone.localtime(at, zone)
    over = datetime.combine(local.date(), end, tzinfo=zone)
    if over <= local:
        over = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=zone)
    return over


def quiet_hours_began(at: datetime, *, start: time, end: time) -> datetime:
    """The instant the quiet hours containing `at` began, in the clinic's time zone (`at` must be in
    quiet hours)."""
    zone = clinic_zone()
    local = timezone.localtime(at, zone)
    began = datetime.combine(local.date(), start, tzinfo=zone)
    if began > local:
        began = datetime.combine(local.date() - timedelta(days=1), start, tzinfo=zone)
    return began


def recipient_of(member: Member | dict, channel: str) -> str:
    get = member.get if isinstance(member, dict) else lambda name: getattr(member, name)
    return (get("email") if channel == Channel.EMAIL else get("phone")) or ""


def message_skip_reasons(*, members: list[dict], purpose: str, channel: str, at: datetime,
                         rules: MessagingSettings) -> dict[int, str]:
    """For each member (dicts with id, status, phone, email), why the message must be skipped, or
    "" if it may go. In order: inactive member, no address, then for marketing no consent for
    the channel, quiet hours, the weekly cap; for service messages the clinic's switch, then the
    member's own choice for that kind of message (turned off in the portal, on the member page,
    or from a survey page); nothing
    more for essential messages (a sign-in code the member asked for)."""
    reasons: dict[int, str] = {}
    for member in members:
        if member["status"] != Member.Status.ACTIVE:
            reasons[member["id"]] = Message.SkipReason.MEMBER_INACTIVE
        elif not recipient_of(member, channel):
            reasons[member["id"]] = Message.SkipReason.NO_ADDRESS
        else:
            reasons[member["id"]] = ""
    candidates = [member_id for member_id, reason in reasons.items() if not reason]
    if purpose in ESSENTIAL_PURPOSES:
        return reasons
    if purpose not in MARKETING_PURPOSES:
        if not rules.service_messages_enabled:
            reasons.update(dict.fromkeys(candidates, Message.SkipReason.SERVICE_DISABLED))
        elif purpose in SERVICE_OPT_OUT:
            opted_out = consent_withdrawn_members(member_ids=candidates, purpose=SERVICE_OPT_OUT[purpose])
            reasons.update(dict.fromkeys(opted_out, Message.SkipReason.OPTED_OUT))
        return reasons
    consenting = consent_granted_members(member_ids=candidates, purpose=MARKETING_CONSENT[channel])
    quiet = in_quiet_hours(at, start=rules.quiet_hours_start, end=rules.quiet_hours_end)
    recent = dict(Message.objects.filter(member_id__in=any_of(candidates, "bigint"), marketing=True,
                                         status__in=[Message.Status.QUEUED, Message.Status.SENT],
                                         created_at__gt=at - CAP_WINDOW)
                  .values("member_id").annotate(n=Count("id")).values_list("member_id", "n"))
    for member_id in candidates:
        if member_id not in consenting:
            reasons[member_id] = Message.SkipReason.NO_CONSENT
        elif quiet:
            reasons[member_id] = Message.SkipReason.QUIET_HOURS
        elif recent.get(member_id, 0) >= rules.marketing_weekly_cap:
            reasons[member_id] = Message.SkipReason.WEEKLY_CAP
    return reasons
