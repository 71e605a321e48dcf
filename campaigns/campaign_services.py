"""Writes to campaigns: create and change a draft (with its texts per channel), launch it (the
control group chosen and stored), cancel it. Every change is an event with its actor."""

import secrets
import unicodedata
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import settings_change_check
from audit.services import settings_update
from campaigns.models import Campaign, CampaignEvent, CampaignMessage, CampaignSettings, SmsReply
from campaigns.schedules import PER_MEMBER, TRIGGERED, first_occurrence, occurrences_between, shortest_gap_days
from campaigns.selectors import campaign_given, campaign_preview, campaign_settings, strata_sql
from members.models import ConsentRecord, Member
from members.naming import phone_normalize
from members.services import consent_record
from messaging.models import MARKETING_CONSENT, Channel, Message, Purpose
from messaging.rendering import template_texts_validate
from points.rules import local_date

CAMPAIGN_FIELDS = ("name", "kind", "schedule", "starts_on", "ends_on", "send_time", "month", "day", "trigger_days",
                   "validity_days", "bonus_points", "coupon_template", "points_multiplier", "min_tier",
                   "holdout_percent", "max_grants_per_member", "budget_points", "budget_coupons", "segment",
                   "birthday_timing", "tier_gift", "template_message")
# What a running birthday campaign may change in place (the birthday offer's settings).
BIRTHDAY_CHANGEABLE = ("birthday_timing", "coupon_template", "bonus_points", "tier_gift", "template_message",
                       "validity_days")
EDITABLE = (Campaign.Status.DRAFT,)
ACTIVE = (Campaign.Status.SCHEDULED, Campaign.Status.RUNNING)


def _event(campaign: Campaign, kind: str, *, actor: User | None, at: datetime | None = None, **detail) -> None:
    CampaignEvent.objects.create(campaign=campaign, kind=kind, actor=actor, at=at or timezone.now(), detail=detail)


def _schedule_check(campaign: Campaign) -> dict[str, str]:
    errors: dict[str, str] = {}
    schedule = campaign.schedule
    if schedule in (Campaign.Schedule.YEARLY, Campaign.Schedule.YEARLY_LUNAR):
        if not campaign.month or not campaign.day:
            errors["month"] = _("A yearly campaign needs its month and day.")
        elif schedule == Campaign.Schedule.YEARLY_LUNAR and campaign.day > 30:
            errors["day"] = _("A lunar month has at most 30 days.")
        elif schedule == Campaign.Schedule.YEARLY:
            try:
                date(2024, campaign.month, campaign.day)
            except ValueError:
                errors["day"] = _("This month has no such day.")
    if schedule == Campaign.Schedule.MONTHLY and not campaign.day:
        errors["day"] = _("A monthly campaign needs its day of the month.")
    if schedule in TRIGGERED and campaign.trigger_days is None:
        errors["trigger_days"] = _("Say how many days after the event the campaign reaches the member.")
    if schedule not in (Campaign.Schedule.ONCE, Campaign.Schedule.BIRTHDAY) and campaign.ends_on is None:
        errors["ends_on"] = _("A recurring or triggered campaign needs its last day.")
    if schedule == Campaign.Schedule.ONCE and campaign.ends_on is not None:
        campaign.ends_on = None
    if campaign.ends_on and campaign.ends_on < campaign.starts_on:
        errors["ends_on"] = _("The last day is before the first day.")
    gap = shortest_gap_days(campaign)
    if gap is not None and campaign.validity_days > gap:
        errors["validity_days"] = _("The offer would still be valid when the next occurrence starts "
                                    "(occurrences can be %(gap)s days apart); make it valid for at most "
                                    "%(gap)s days.") % {"gap": gap}
    if not errors and schedule not in PER_MEMBER and campaign.ends_on and not occurrences_between(
            campaign, campaign.starts_on, campaign.ends_on):
        errors["starts_on"] = _("The schedule has no occurrence between the first and the last day.")
    return errors


def _offer_check(campaign: Campaign, keep_coupon_id: int | None = None) -> dict[str, str]:
    errors = {}
    template = campaign.coupon_template
    if template is not None and not template.active and template.pk != keep_coupon_id:
        errors["coupon_template"] = _("This coupon template is inactive; choose an active one.")
    if campaign.segment_id and campaign.segment.archived:
        errors["segment"] = _("This segment is archived; choose another one.")
    if campaign.holdout_percent > 50:
        errors["holdout_percent"] = _("The control group can be at most 50 %.")
    return errors


def _overlap_check(campaign: Campaign) -> dict[str, str]:
    """Two campaigns with a points multiplier whose periods overlap would stack at checkout."""
    if not campaign.points_multiplier:
        return {}
    last = campaign.ends_on or campaign.starts_on
    end = last + timedelta(days=campaign.validity_days)
    clash = (Campaign.objects.filter(status__in=ACTIVE, points_multiplier__isnull=False)
             .exclude(pk=campaign.pk).filter(starts_on__lte=end).order_by("starts_on"))
    for other in clash:
        other_end = (other.ends_on or other.starts_on) + timedelta(days=other.validity_days)
        if other_end >= campaign.starts_on:
            return {"points_multiplier": _("“%(other)s” already multiplies points from %(start)s to %(end)s; two "
                                           "multipliers cannot overlap.")
                    % {"other": other.name, "start": other.starts_on, "end": other_end}}
    return {}


def _validate(campaign: Campaign, keep_coupon_id: int | None = None) -> None:
    """`keep_coupon_id`: a coupon template chosen before may stay though it is now inactive."""
    errors = {**_schedule_check(campaign), **_offer_check(campaign, keep_coupon_id)}
    try:
        campaign.full_clean(exclude=["created_by", "created_at"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, messages[0])
    if errors:
        raise ValidationError(errors)


def _messages_set(campaign: Campaign, texts: dict[str, dict]) -> None:
    """The campaign's text per channel; an empty body removes the channel's text."""
    errors = {}
    for channel, text in texts.items():
        if channel not in Channel.values:
            errors[f"messages.{channel}"] = _("Unknown channel.")
            continue
        try:
            template_texts_validate(purpose=Purpose.MARKETING, body=text.get("body", ""),
                                    subject=text.get("subject", ""))
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors[f"messages.{channel}.{name}"] = messages[0]
    if errors:
        raise ValidationError(errors)
    for channel, text in texts.items():
        if not text.get("body", "").strip():
            CampaignMessage.objects.filter(campaign=campaign, channel=channel).delete()
            continue
        CampaignMessage.objects.update_or_create(campaign=campaign, channel=channel, defaults={
            "subject": text.get("subject", ""), "body": text["body"]})


@transaction.atomic
def campaign_create(*, actor: User | None, name: str, starts_on: date, messages: dict | None = None,
                    **fields) -> Campaign:
    """A draft campaign. Refused with errors per field, changing nothing, for a schedule without
    its dates, offers valid past the next occurrence, an inactive coupon template, a control group
    above 50 % or a text with unknown variables."""
    settings_change_check(actor)
    unknown = set(fields) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise ValidationError(_("These fields do not exist: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    fields.setdefault("holdout_percent", campaign_settings().default_holdout_percent)
    campaign = Campaign(name=(name or "").strip(), starts_on=starts_on, created_at=timezone.now(),
                        created_by=actor, **fields)
    _validate(campaign)
    campaign.save()
    _messages_set(campaign, messages or {})
    _event(campaign, CampaignEvent.Kind.CREATED, actor=actor)
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, actor: User | None, messages: dict | None = None,
                    **changes) -> Campaign:
    """Change a draft; a launched campaign cannot be changed (cancel it and start a new one)."""
    settings_change_check(actor)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in EDITABLE:
        raise ValidationError(_("Only a draft can be changed; this campaign is %(status)s.")
                              % {"status": campaign.get_status_display()})
    unknown = set(changes) - set(CAMPAIGN_FIELDS) - {"name"}
    if unknown:
        raise ValidationError(_("These fields do not exist: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    for name, value in changes.items():
        setattr(campaign, name, value)
    _validate(campaign)
    campaign.save()
    if messages is not None:
        _messages_set(campaign, messages)
    _event(campaign, CampaignEvent.Kind.CHANGED, actor=actor,
           fields=sorted(changes) + (["messages"] if messages is not None else []))
    return campaign


@transaction.atomic
def birthday_campaign_change(*, campaign: Campaign, actor: User | None, **changes) -> Campaign:
    """Change a scheduled or running birthday campaign's offer (what the birthday-offer page and
    API set): its timing, coupon, bonus points, the tier's gift and the birthday message. The
    guard rows stay: who was given this birthday year's offer is not given it again. The event
    keeps the values before and after."""
    settings_change_check(actor)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not campaign.is_birthday or campaign.status not in ACTIVE:
        raise ValidationError(_("Only a draft can be changed; this campaign is %(status)s.")
                              % {"status": campaign.get_status_display()})
    unknown = set(changes) - set(BIRTHDAY_CHANGEABLE)
    if unknown:
        raise ValidationError(_("These fields do not exist: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    before = {}
    kept_coupon = campaign.coupon_template_id
    for name, value in changes.items():
        attname = campaign._meta.get_field(name).attname
        before[name] = getattr(campaign, attname)
        setattr(campaign, name, value)
    _validate(campaign, keep_coupon_id=kept_coupon)
    campaign.save()
    after = {name: getattr(campaign, campaign._meta.get_field(name).attname) for name in changes}
    _event(campaign, CampaignEvent.Kind.CHANGED, actor=actor, fields=sorted(changes),
           before={k: str(v) if v is not None else None for k, v in before.items()},
           after={k: str(v) if v is not None else None for k, v in after.items()})
    return campaign


@transaction.atomic
def campaign_delete(*, campaign: Campaign, actor: User | None) -> None:
    settings_change_check(actor)
    if campaign.status != Campaign.Status.DRAFT:
        raise ValidationError(_("Only a draft can be deleted; cancel a launched campaign instead."))
    campaign.messages.all().delete()
    campaign.events.all().delete()
    campaign.delete()


_AUDIENCE_INSERT_SQL = """
INSERT INTO campaigns_campaignaudience (campaign_id, member_id, "group", tier_id, added_at)
SELECT %s, id, CASE WHEN control THEN 'control' ELSE 'treated' END, tier_id, %s FROM ({strata}) s
ON CONFLICT (campaign_id, member_id) DO NOTHING
"""


@transaction.atomic
def campaign_launch(*, campaign: Campaign, actor: User | None, now: datetime | None = None) -> Campaign:
    """Launch a draft: check it once more, choose the control group (stratified by tier, by a
    seed stored with the campaign) and store every targeted member's group, then schedule it.
    Refused, changing nothing, when no member is targeted, the campaign gives and says nothing,
    its first day has passed, its schedule overlaps, or the first occurrence would exceed its
    budget."""
    settings_change_check(actor)
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.DRAFT:
        raise ValidationError(_("Only a draft can be launched; this campaign is %(status)s.")
                              % {"status": campaign.get_status_display()})
    _validate(campaign)
    errors = _overlap_check(campaign)
    if campaign.starts_on < local_date(now):
        errors["starts_on"] = _("The first day has passed; choose today or a later day.")
    if campaign.schedule not in PER_MEMBER and first_occurrence(campaign) is None:
        errors["starts_on"] = _("The schedule has no occurrence between the first and the last day.")
    if not campaign.has_offer and not campaign.messages.exists() and not (
            campaign.is_birthday and campaign.template_message):
        errors["bonus_points"] = _("The campaign gives nothing and says nothing: add an offer or a message.")
    if campaign.is_birthday and Campaign.objects.filter(schedule=Campaign.Schedule.BIRTHDAY, status__in=ACTIVE) \
            .exclude(pk=campaign.pk).exists():
        errors["schedule"] = _("Another birthday campaign is already running; cancel it first (a member gets "
                               "one birthday offer a year in any case).")
    if errors:
        raise ValidationError(errors)
    seed = secrets.randbits(62)
    preview = campaign_preview(campaign, seed=seed)
    # A birthday campaign reaches members one by one as their birthday comes, including members
    # who join later: it may start before the clinic has any.
    if preview.targeted == 0 and not campaign.is_birthday:
        raise ValidationError(_("No member matches the campaign's segment; there is no one to launch it to."),
                              code="empty_audience")
    # A birthday campaign's occurrence is one day's birthdays, not the whole audience: its budget
    # is only checked as it gives.
    if (campaign.budget_points is not None and not campaign.is_birthday
            and preview.offer_members * campaign.bonus_points > campaign.budget_points):
        raise ValidationError({"budget_points": _(
            "The first occurrence needs %(needed)s points for %(members)s members, more than the budget of "
            "%(budget)s points.") % {"needed": preview.offer_members * campaign.bonus_points,
                                    "members": preview.offer_members, "budget": campaign.budget_points}})
    if (campaign.budget_coupons is not None and campaign.coupon_template_id and not campaign.is_birthday
            and preview.offer_members > campaign.budget_coupons):
        raise ValidationError({"budget_coupons": _(
            "The first occurrence needs %(needed)s coupons, more than the budget of %(budget)s coupons.")
            % {"needed": preview.offer_members, "budget": campaign.budget_coupons}})
    campaign.seed = seed
    strata, params = strata_sql(campaign, seed)
    with connection.cursor() as cursor:
        cursor.execute(_AUDIENCE_INSERT_SQL.format(strata=strata), [campaign.pk, now, *params])
    campaign.status = Campaign.Status.SCHEDULED
    campaign.launched_at = now
    campaign.save(update_fields=["seed", "status", "launched_at"])
    _event(campaign, CampaignEvent.Kind.LAUNCHED, actor=actor, at=now, targeted=preview.targeted,
           treated=preview.treated, held_out=preview.held_out, reachable=preview.reachable,
           points=preview.points, coupons=preview.coupons)
    from campaigns import tasks

    if not campaign.is_birthday:  # the nightly birthday job runs birthday campaigns
        tasks.campaigns_run_due.delay_on_commit()
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, actor: User | None, reason: str = "",
                    now: datetime | None = None) -> Campaign:
    """Stop a campaign: no further offers, and its queued messages not yet sent are skipped
    (reason: cancelled). What was already given stays (see `campaign_given`)."""
    settings_change_check(actor)
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in (Campaign.Status.DRAFT, *ACTIVE):
        raise ValidationError(_("This campaign is already %(status)s.") % {"status": campaign.get_status_display()})
    stopped = (Message.objects.filter(guard_key__startswith=f"campaign:{campaign.pk}:", status=Message.Status.QUEUED)
               .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
               .update(status=Message.Status.SKIPPED, skip_reason=Message.SkipReason.CANCELLED,
                       next_attempt_at=None))
    campaign.status = Campaign.Status.CANCELLED
    campaign.save(update_fields=["status"])
    given = campaign_given(campaign)
    _event(campaign, CampaignEvent.Kind.CANCELLED, actor=actor, at=now, reason=reason, messages_stopped=stopped,
           members_given=given.members, points_given=given.points, coupons_given=given.coupons)
    return campaign


OPT_OUT_REPLIES = frozenset({"TD", "T", "退订", "STOP", "UNSUBSCRIBE"})
# Around the word a member may type: spaces, quotes and the ASCII and full-width punctuation.
_REPLY_STRIP = " \t\r\n.,;:!?'\"。，；：！？、“”‘’"


def sms_reply_is_opt_out(text: str) -> bool:
    """TD, T, 退订, STOP or UNSUBSCRIBE, in any case, in full-width letters too (ＴＤ), with
    punctuation or spaces around it."""
    word = unicodedata.normalize("NFKC", text or "").strip(_REPLY_STRIP).upper()
    return word in OPT_OUT_REPLIES


def marketing_opt_out(*, member: Member, channel: str, via: str, at: datetime | None = None) -> None:
    """The member wants no more marketing on `channel`: the channel's marketing consent is
    withdrawn in the consent records (from an email's unsubscribe link or an SMS reply)."""
    consent_record(member=member, purpose=MARKETING_CONSENT[channel], granted=False, channel=via, actor=None, at=at)


def _member_by_phone(phone: str) -> Member | None:
    try:
        e164 = phone_normalize(phone or "")
    except ValidationError:
        return None
    return Member.objects.filter(phone=e164, status__in=[Member.Status.ACTIVE, Member.Status.ARCHIVED]).first()


def marketing_sms_reply(*, phone: str, text: str, at: datetime | None = None) -> bool:
    """An SMS reply from a member: TD (退订) withdraws their SMS marketing consent. True when it
    was an opt-out from a known member."""
    if not sms_reply_is_opt_out(text):
        return False
    member = _member_by_phone(phone)
    if member is None:
        return False
    marketing_opt_out(member=member, channel=Channel.SMS, via=ConsentRecord.Channel.SMS_REPLY, at=at)
    return True


def sms_reply_receive(*, provider_message_id: str, phone: str, text: str, at: datetime | None = None) -> bool:
    """An SMS reply delivered by the provider's webhook, once per provider message id: a second
    delivery of the same message does nothing (and answers as the first did). An opt-out word
    from a member's number withdraws their SMS marketing consent (consent records, channel
    `sms_reply`). True when the reply was an opt-out from a member."""
    at = at or timezone.now()
    try:
        with transaction.atomic():
            reply = SmsReply.objects.create(provider_message_id=provider_message_id, received_at=at)
            reply.member = _member_by_phone(phone)
            if reply.member is not None:
                reply.text = (text or "")[:160]
                if sms_reply_is_opt_out(text):
                    marketing_opt_out(member=reply.member, channel=Channel.SMS,
                                      via=ConsentRecord.Channel.SMS_REPLY, at=at)
                    reply.opted_out = True
            reply.save(update_fields=["member", "text", "opted_out"])
    except IntegrityError:
        reply = SmsReply.objects.get(provider_message_id=provider_message_id)
    return reply.opted_out


SETTINGS_FIELDS = ("gross_margin_rate", "sms_cost", "email_cost", "wechat_cost", "point_cost", "after_window_days",
                   "default_holdout_percent")


@transaction.atomic
def campaign_settings_update(*, actor: User | None, **changes) -> CampaignSettings:
    """Change what campaign results are measured with: the gross margin rate, the price of a
    message per channel, the cost of a point, the days measured after the window, the default
    control group."""
    return settings_update(actor=actor, obj=CampaignSettings.objects.select_for_update().get_or_create(pk=1)[0],
                           changes=changes, fields=SETTINGS_FIELDS)
