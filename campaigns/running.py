"""Running campaigns: each due occurrence gives the treated members their offer and queues their
messages, set-based in batches. A batch is one transaction that writes the guard rows
(CampaignGrant, unique per campaign, occurrence and member), the points through the ledger's bulk
credit, the coupons and the messages, so it happens entirely or not at all; a second run finds the
guard rows and gives nothing twice. The control group gets nothing. Birthday campaigns run here
too (the nightly birthday job), with one more guard: a member's birthday grant is unique per
birthday year over every birthday campaign."""

from datetime import date, datetime, timedelta

from django.core import signing
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.birthdays import birthdays_on
from campaigns.models import Campaign, CampaignEvent, CampaignOccurrence
from campaigns.schedules import PER_MEMBER, occurrences_between
from campaigns.selectors import audience_sql, campaign_audience_members, tier_ranks
from clinic_loyalty.sql_arrays import any_of
from clinics.context import clinic_url, current_clinic
from clinics.formatting import day_text
from insights.selectors import insights_settings
from messaging.models import Channel, Purpose
from messaging.services import Outgoing, messages_queue
from points.coupons import coupons_issue_many
from points.ledger import BulkCredit, ledger_credit_many
from points.models import Coupon
from points.rules import clinic_zone, local_date, local_midnight, lot_available_from, lot_expiry, loyalty_settings
from points.selectors import lot_last_day

BATCH_SIZE = 5000
CATCH_UP_DAYS = 2
UNSUBSCRIBE_SALT = "campaigns.unsubscribe"


def unsubscribe_token(member_id: int) -> str:
    clinic = current_clinic()
    return signing.dumps([member_id], salt=f"{UNSUBSCRIBE_SALT}:{clinic.pk if clinic else 0}", compress=True)


def unsubscribe_member_id(token: str) -> int | None:
    clinic = current_clinic()
    try:
        return int(signing.loads(token, salt=f"{UNSUBSCRIBE_SALT}:{clinic.pk if clinic else 0}")[0])
    except (signing.BadSignature, ValueError, TypeError, IndexError):
        return None


def _unsubscribe_url(member_id: int) -> str:
    path = reverse("campaign_unsubscribe", args=[unsubscribe_token(member_id)])
    clinic = current_clinic()
    return clinic_url(clinic, path) if clinic else path


# How every campaign message ends: how to stop marketing on its channel. Fixed texts (an SMS
# opt-out in China is "回复TD退订"), like the default templates data rather than interface text.
OPT_OUT_FOOTERS = {
    "zh-hans": {Channel.SMS: " 回复TD退订", Channel.EMAIL: "\n\n如不想再收到优惠信息，请点击退订：{unsubscribe_link}"},
    "en": {Channel.SMS: " Reply TD to unsubscribe",
           Channel.EMAIL: "\n\nTo receive no more offers by email: {unsubscribe_link}"},
}


def opt_out_footer(channel: str, language: str) -> str:
    return OPT_OUT_FOOTERS.get(language, OPT_OUT_FOOTERS["zh-hans"]).get(channel, "")


def occurrence_window(campaign: Campaign, on: date) -> tuple[datetime, datetime]:
    """An occurrence's offer window: from local midnight of its day (whenever the job gives it, so
    a points multiplier counts from 00:00) to local midnight `validity_days` later."""
    return local_midnight(on), local_midnight(on + timedelta(days=campaign.validity_days))


_ADD_AUDIENCE_SQL = """
INSERT INTO campaigns_campaignaudience (campaign_id, member_id, "group", tier_id, added_at)
SELECT %s, a.id,
       CASE WHEN ('x' || substr(md5(%s || ':' || a.id), 1, 8))::bit(32)::bigint %% 10000 < %s * 100
            THEN 'control' ELSE 'treated' END,
       mt.tier_id, %s
FROM ({audience}) a LEFT JOIN tiers_membertier mt ON mt.member_id = a.id
WHERE a.id = ANY(%s::bigint[]) OR %s
ON CONFLICT (campaign_id, member_id) DO NOTHING
"""


def _audience_add(campaign: Campaign, now: datetime, member_ids: list[int] | None = None) -> None:
    """Members who entered the segment after the launch join the audience by the same seed, in
    the control group at the campaign's share (not stratified: they come one by one)."""
    audience, params = audience_sql(campaign)
    with connection.cursor() as cursor:
        cursor.execute(_ADD_AUDIENCE_SQL.format(audience=audience),
                       [campaign.pk, str(campaign.seed), campaign.holdout_percent, now, *params,
                        member_ids or [], member_ids is None])


def trigger_rule(campaign: Campaign) -> tuple[int, str]:
    """A triggered campaign's event, as the days from a member's visit to her occurrence and which
    of her counted visits it counts from: the first (`min`), or the latest (`max`) for becoming
    dormant, which is the insights' `active_days` after it."""
    days = campaign.trigger_days or 0
    if campaign.schedule == Campaign.Schedule.AFTER_DORMANT:
        return days + insights_settings().active_days, "max"
    return days, "min"


def _triggered_members(campaign: Campaign, day: date) -> list[int]:
    """Members whose event was `trigger_days` before `day`: the first counted visit, or becoming
    dormant (no visit for the insights' `active_days` after the last one)."""
    from insights.selectors import counted

    days, aggregate = trigger_rule(campaign)
    event_day = day - timedelta(days=days)
    audience, params = audience_sql(campaign)
    sql = f"""
        SELECT v.member_id FROM visits_visit v JOIN ({audience}) a ON a.id = v.member_id
        WHERE {counted()} GROUP BY v.member_id
        HAVING {aggregate}(v.visited_at) >= %s AND {aggregate}(v.visited_at) < %s"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, local_midnight(event_day), local_midnight(event_day + timedelta(days=1))])
        return [row[0] for row in cursor.fetchall()]


def _birthday_members(campaign: Campaign, on: date) -> dict[int, bool]:
    """The campaign's audience members who celebrate on `on` (their birthday, or the first day of
    their birthday month), each with whether it is their lunar birthday."""
    from campaigns.selectors import campaign_audience_members

    members = campaign_audience_members(campaign) if campaign.segment_id else None
    return {c.member_id: c.lunar for c in birthdays_on(days=[on], timing=campaign.birthday_timing, members=members)}


def _targets(campaign: Campaign, on: date, now: datetime,
             birthdays: dict[int, bool] | None = None) -> list[tuple[int, int | None]]:
    """The treated members of the occurrence, with their tier, in member order (`birthdays`: a
    birthday campaign's members celebrating on `on`)."""
    if campaign.schedule in PER_MEMBER:
        members = list(birthdays or {}) if campaign.is_birthday else _triggered_members(campaign, on)
        if not members:
            return []
        _audience_add(campaign, now, members)
        query = campaign.audience.filter(member_id__in=any_of(members, "bigint"))
    else:
        if campaign.schedule != Campaign.Schedule.ONCE:
            _audience_add(campaign, now)
        query = campaign.audience.filter(member_id__in=campaign_audience_members(campaign).values("pk"))
    return list(query.filter(group="treated").order_by("member_id").values_list("member_id", "tier_id"))


# ON CONFLICT without a target: a row is left out whichever guard it meets, the occurrence's
# (campaign_grant_once) or, for a birthday, the birthday year's (campaign_birthday_once_a_year).
_GUARDS_SQL = """
INSERT INTO campaigns_campaigngrant (campaign_id, occurrence, member_id, granted_at, offer, points,
                                     valid_from, valid_until, birthday_year, lunar)
SELECT %(campaign)s, %(on)s, m, %(now)s, o, 0, %(valid_from)s, %(valid_until)s, %(year)s, l
FROM unnest(%(members)s::bigint[], %(offers)s::boolean[], %(lunar)s::boolean[]) AS t(m, o, l)
ORDER BY m
ON CONFLICT DO NOTHING
RETURNING member_id, offer
"""

# The birthday gift points of each member's tier now (members without a tier: the entry tier's).
_TIER_GIFTS_SQL = """
SELECT t.m, COALESCE(tier.birthday_gift_points, entry_tier.gift, 0)
FROM unnest(%s::bigint[]) AS t(m)
LEFT JOIN tiers_membertier mt ON mt.member_id = t.m
LEFT JOIN tiers_tier tier ON tier.id = mt.tier_id
CROSS JOIN (SELECT (SELECT birthday_gift_points FROM tiers_tier ORDER BY rank LIMIT 1) AS gift) entry_tier
"""


def _points_for(campaign: Campaign, members: list[int]) -> dict[int, int]:
    """The points each member would get: the bonus points, plus for a birthday campaign with the
    tier's gift, the birthday gift points of the member's tier."""
    points = dict.fromkeys(members, campaign.bonus_points)
    if campaign.is_birthday and campaign.tier_gift and members:
        with connection.cursor() as cursor:
            cursor.execute(_TIER_GIFTS_SQL, [members])
            for member_id, gift in cursor.fetchall():
                points[member_id] += gift
    return points

_LINK_SQL = """
UPDATE campaigns_campaigngrant g SET points = t.points, entry_id = t.entry_id, coupon_id = t.coupon_id
FROM unnest(%(members)s::bigint[], %(points)s::int[], %(entries)s::bigint[], %(coupons)s::bigint[])
     AS t(member_id, points, entry_id, coupon_id)
WHERE g.campaign_id = %(campaign)s AND g.occurrence = %(on)s AND g.member_id = t.member_id
"""


def _budget_left(campaign: Campaign) -> tuple[int | None, int | None]:
    if campaign.budget_points is None and campaign.budget_coupons is None:
        return None, None  # nothing to add up (the sum over every grant so far grows batch by batch)
    given = campaign.grants.aggregate(points=Sum("points"), coupons=Count("coupon"))
    points = None if campaign.budget_points is None else max(campaign.budget_points - (given["points"] or 0), 0)
    coupons = None if campaign.budget_coupons is None else max(campaign.budget_coupons - given["coupons"], 0)
    return points, coupons


def _grant_batch(campaign_id: int, on: date, targets: list[tuple[int, int | None]], now: datetime,
                 counts: dict, lunar: dict[int, bool] | None = None) -> bool:
    """One batch in one transaction. False when the campaign was cancelled meanwhile (nothing
    more is given)."""
    with transaction.atomic():
        campaign = (Campaign.objects.select_for_update(of=("self",)).select_related("coupon_template")
                    .get(pk=campaign_id))
        if campaign.status not in (Campaign.Status.SCHEDULED, Campaign.Status.RUNNING):
            return False
        members = [member_id for member_id, _tier in targets]
        held = dict(campaign.grants.filter(member_id__in=any_of(members, "bigint"), offer=True).values("member_id")
                    .annotate(n=Count("id")).values_list("member_id", "n"))
        ranks = tier_ranks()
        min_rank = ranks.get(campaign.min_tier_id) if campaign.min_tier_id else None
        points_left, coupons_left = _budget_left(campaign)
        points_for = _points_for(campaign, members)
        offers = []
        for member_id, tier in targets:
            offer = campaign.has_offer
            if offer and min_rank is not None and (tier is None or ranks.get(tier, -1) < min_rank):
                offer = False
                counts["below_tier"] += 1
            if offer and held.get(member_id, 0) >= campaign.max_grants_per_member:
                offer = False
                counts["max_grants"] += 1
            if offer and points_for[member_id] and points_left is not None:
                if points_left < points_for[member_id]:
                    offer = False
                    counts["budget_exhausted"] += 1
                else:
                    points_left -= points_for[member_id]
            if offer and campaign.coupon_template_id and coupons_left is not None:
                if coupons_left < 1:
                    offer = False
                    counts["budget_exhausted"] += 1
                else:
                    coupons_left -= 1
            offers.append(offer)
        valid_from, valid_until = occurrence_window(campaign, on)
        lunar = lunar or {}
        with connection.cursor() as cursor:
            cursor.execute(_GUARDS_SQL, {"campaign": campaign.pk, "on": on, "now": now, "members": members,
                                         "offers": offers, "valid_from": valid_from, "valid_until": valid_until,
                                         "year": on.year if campaign.is_birthday else None,
                                         "lunar": [lunar.get(m, False) for m in members]})
            granted = sorted(cursor.fetchall())
        if not granted:
            return True
        counts["granted"] += len(granted)
        offered = [member_id for member_id, offer in granted if offer]
        counts["offers"] += len(offered)
        if campaign.is_birthday:
            # The birthday offer's keys (a gift given before it became a campaign keeps its key).
            keys = {m: f"birthday:{on.year}:{m}" for m in offered}
            source_type, reason, coupon_source = "birthday", f"{_('Birthday gift')} {on.year}", Coupon.Source.BIRTHDAY
        else:
            keys = {m: f"campaign:{campaign.pk}:{on.isoformat()}:{m}" for m in offered}
            source_type, reason, coupon_source = "campaign", campaign.name, Coupon.Source.CAMPAIGN
        entries: dict[str, int] = {}
        credited = [m for m in offered if points_for[m]]
        if credited:
            rules = loyalty_settings()
            entries = ledger_credit_many(
                credits=[BulkCredit(member_id=m, amount=points_for[m], source_id=str(m), reason=reason,
                                    dedupe_key=keys[m]) for m in credited],
                kind="bonus", source_type=source_type, at=now, available_from=lot_available_from(now, rules),
                expires_at=lot_expiry(now, rules))
            counts["points"] += sum(points_for[int(m)] for m in entries)
        coupons: dict[int, int] = {}
        template = campaign.coupon_template
        if template is not None and offered:
            coupons = coupons_issue_many(template=template, member_ids=offered, source=coupon_source,
                                         dedupe_keys=[keys[m] for m in offered], at=now)
            counts["coupons"] += len(coupons)
        if entries or coupons:
            linked = sorted(set(coupons) | {int(m) for m in entries})
            with connection.cursor() as cursor:
                cursor.execute(_LINK_SQL, {
                    "campaign": campaign.pk, "on": on, "members": linked,
                    "points": [points_for[m] if str(m) in entries else 0 for m in linked],
                    "entries": [entries.get(str(m)) for m in linked], "coupons": [coupons.get(m) for m in linked]})
        given = {m: points_for[m] if str(m) in entries else 0 for m, _offer in granted}
        _messages(campaign, on, granted, coupons, valid_until, counts, now, given)
    return True


def _count_messages(queued: list, channel_of, counts: dict) -> None:
    for message in queued:
        channel = channel_of(message)
        if message.skip_reason:
            skipped = counts["skipped"].setdefault(channel, {})
            skipped[message.skip_reason] = skipped.get(message.skip_reason, 0) + 1
        else:
            counts["queued"][channel] = counts["queued"].get(channel, 0) + 1


def _gift_text(points: int, coupon: str, valid_until: str) -> str:
    parts = []
    if points:
        parts.append(_("%(points)s bonus points are in your account.") % {"points": points})
    if coupon:
        parts.append(_("Your birthday coupon “%(coupon)s” is valid until %(date)s.")
                     % {"coupon": coupon, "date": valid_until})
    return " ".join(parts)


def _messages(campaign: Campaign, on: date, granted: list[tuple[int, bool]], coupons: dict[int, int],
              valid_until: datetime, counts: dict, now: datetime, points: dict[int, int]) -> None:
    """One message per member and channel the campaign has a text for, as marketing (a birthday
    campaign's as the `birthday_offer` purpose, marketing too: consent, quiet hours and the weekly
    cap apply). A birthday campaign without texts of its own sends the clinic's "Birthday offer"
    template on the default channel when `template_message` is set."""
    texts = list(campaign.messages.all())
    template_message = campaign.is_birthday and campaign.template_message and not texts
    if not texts and not template_message:
        return
    purpose = Purpose.BIRTHDAY_OFFER if campaign.is_birthday else Purpose.MARKETING
    clinic = current_clinic()
    language = clinic.language if clinic else "zh-hans"
    last_day = lot_last_day(valid_until)
    template = campaign.coupon_template
    coupon_until = ""
    if template is not None and coupons:
        coupon_until = lot_last_day(Coupon.objects.get(pk=next(iter(coupons.values()))).valid_until)
        if template_message:
            coupon_until = day_text(coupon_until)  # as the birthday offer's message has always said it
    if template_message:
        outgoing = []
        for member_id, _offer in granted:
            coupon = template.name if member_id in coupons else ""
            outgoing.append(Outgoing(
                member_id=member_id, guard_key=f"campaign:{campaign.pk}:{on.isoformat()}:{member_id}:birthday",
                variables={"gift": _gift_text(points.get(member_id, 0), coupon, coupon_until if coupon else ""),
                           "points": points.get(member_id, 0), "coupon": coupon,
                           "coupon_valid_until": coupon_until if coupon else ""}))
        queued = messages_queue(purpose=purpose, outgoing=outgoing, at=now)
        _count_messages(queued, lambda message: message.channel, counts)
        return
    for text in texts:
        footer = opt_out_footer(text.channel, language)
        outgoing = []
        for member_id, offer in granted:
            variables = {"campaign": campaign.name, "valid_until": last_day,
                         "points": points.get(member_id, 0) if offer else 0,
                         "coupon": template.name if member_id in coupons else "",
                         "coupon_valid_until": coupon_until if member_id in coupons else "",
                         "multiplier": campaign.points_multiplier if offer and campaign.points_multiplier else ""}
            if text.channel == Channel.EMAIL:
                variables["unsubscribe_link"] = _unsubscribe_url(member_id)
            outgoing.append(Outgoing(member_id=member_id, variables=variables,
                                     guard_key=f"campaign:{campaign.pk}:{on.isoformat()}:{member_id}:{text.channel}"))
        queued = messages_queue(purpose=purpose, channel=text.channel, outgoing=outgoing, at=now,
                                text=(text.subject, text.body + footer))
        _count_messages(queued, lambda _message, channel=text.channel: channel, counts)


def _new_counts() -> dict:
    return {"targeted": 0, "granted": 0, "offers": 0, "points": 0, "coupons": 0, "below_tier": 0, "max_grants": 0,
            "budget_exhausted": 0, "queued": {}, "skipped": {}}


def campaign_occurrence_run(*, campaign: Campaign, on: date, now: datetime | None = None,
                            batch_size: int = BATCH_SIZE) -> dict:
    """Give the occurrence `on` to its treated members, batch by batch. Safe to run again: what
    was given is not given twice, and a run that died halfway is completed."""
    now = now or timezone.now()
    counts = _new_counts()
    lunar = _birthday_members(campaign, on) if campaign.is_birthday else None
    targets = _targets(campaign, on, now, lunar)
    counts["targeted"] = len(targets)
    for start in range(0, len(targets), batch_size):
        if not _grant_batch(campaign.pk, on, targets[start:start + batch_size], now, counts, lunar):
            break
    with transaction.atomic():
        occurrence, created = CampaignOccurrence.objects.select_for_update().get_or_create(
            campaign=campaign, on=on, defaults={"ran_at": now, "counts": counts})
        if not created:
            occurrence.counts = _merge(occurrence.counts, counts)
            occurrence.ran_at = now
            occurrence.save(update_fields=["counts", "ran_at"])
        if counts["granted"]:
            CampaignEvent.objects.create(campaign=campaign, kind=CampaignEvent.Kind.OCCURRENCE, at=now,
                                         detail={"on": on.isoformat(), **counts})
    return counts


def _merge(old: dict, new: dict) -> dict:
    merged = dict(old)
    for name, value in new.items():
        if name == "targeted":
            merged[name] = value
        elif isinstance(value, dict):
            inner = dict(merged.get(name, {}))
            for channel, figure in value.items():
                if isinstance(figure, dict):
                    reasons = dict(inner.get(channel, {}))
                    for reason, n in figure.items():
                        reasons[reason] = reasons.get(reason, 0) + n
                    inner[channel] = reasons
                else:
                    inner[channel] = inner.get(channel, 0) + figure
            merged[name] = inner
        else:
            merged[name] = merged.get(name, 0) + value
    return merged


def due_occurrences(campaign: Campaign, now: datetime) -> list[date]:
    """The occurrences due by `now` (their day and time reached) and not older than the catch-up
    days, from the launch day on."""
    today = local_date(now)
    first = max(today - timedelta(days=CATCH_UP_DAYS), local_date(campaign.launched_at))
    if campaign.schedule in PER_MEMBER:
        last = min(today, campaign.ends_on) if campaign.ends_on else today
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)] if last >= first else []
        days = [d for d in days if d >= campaign.starts_on]
    else:
        days = occurrences_between(campaign, first, today)
    return [d for d in days if datetime.combine(d, campaign.send_time, tzinfo=clinic_zone()) <= now]


def _last_day(campaign: Campaign) -> date | None:
    return campaign.starts_on if campaign.schedule == Campaign.Schedule.ONCE else campaign.ends_on


def campaigns_run_due(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Every scheduled or running campaign but the birthday ones (the nightly birthday job runs
    those, `birthday_campaigns_run`): run its due occurrences, mark it running, and finished once
    its last day has run."""
    active = Campaign.objects.filter(status__in=[Campaign.Status.SCHEDULED, Campaign.Status.RUNNING])
    totals = _run(active.exclude(schedule=Campaign.Schedule.BIRTHDAY), now=now or timezone.now(),
                  batch_size=batch_size)
    return {name: totals[name] for name in ("campaigns", "occurrences", "granted")}


def birthday_campaigns_run(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """The nightly birthday job: every scheduled or running birthday campaign's due occurrences
    (today's birthdays and the days a missed run left), through the same running code."""
    active = Campaign.objects.filter(status__in=[Campaign.Status.SCHEDULED, Campaign.Status.RUNNING])
    return _run(active.filter(schedule=Campaign.Schedule.BIRTHDAY), now=now or timezone.now(), batch_size=batch_size)


def _run(campaigns, *, now: datetime, batch_size: int) -> dict[str, int]:
    totals = {"campaigns": 0, "occurrences": 0, "granted": 0, "points": 0, "coupons": 0, "messages_queued": 0,
              "messages_skipped": 0}
    for campaign in campaigns:
        totals["campaigns"] += 1
        for on in due_occurrences(campaign, now):
            counts = campaign_occurrence_run(campaign=campaign, on=on, now=now, batch_size=batch_size)
            totals["occurrences"] += 1
            for name in ("granted", "points", "coupons"):
                totals[name] += counts[name]
            totals["messages_queued"] += sum(counts["queued"].values())
            totals["messages_skipped"] += sum(n for reasons in counts["skipped"].values() for n in reasons.values())
        with transaction.atomic():
            row = Campaign.objects.select_for_update().get(pk=campaign.pk)
            if row.status == Campaign.Status.SCHEDULED and row.occurrences.exists():
                row.status = Campaign.Status.RUNNING
                row.save(update_fields=["status"])
            last = _last_day(row)
            done = last is not None and (local_date(now) > last or (
                local_date(now) == last and datetime.combine(last, row.send_time, tzinfo=clinic_zone()) <= now
                and (row.schedule in PER_MEMBER or row.occurrences.filter(on=last).exists())))
            if row.status == Campaign.Status.RUNNING and done:
                row.status = Campaign.Status.FINISHED
                row.save(update_fields=["status"])
                CampaignEvent.objects.create(campaign=row, kind=CampaignEvent.Kind.FINISHED, at=now)
    return totals
