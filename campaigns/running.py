"""Running campaigns: each due occurrence gives the treated members their offer and queues their
messages, set-based in batches. A batch is one transaction that writes the guard rows
(CampaignGrant, unique per campaign, occurrence and member), the points through the ledger's bulk
credit, the coupons and the messages, so it happens entirely or not at all; a second run finds the
guard rows and gives nothing twice. The control group gets nothing."""

from datetime import date, datetime, timedelta

from django.core import signing
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignEvent, CampaignOccurrence
from campaigns.schedules import TRIGGERED, occurrences_between
from campaigns.selectors import audience_sql, campaign_audience_members, tier_ranks
from clinic_loyalty.sql_arrays import any_of
from clinics.context import clinic_url, current_clinic
from insights.selectors import insights_settings
from messaging.models import Channel, Purpose
from messaging.services import Outgoing, messages_queue
from points.coupons import coupons_issue_many
from points.ledger import BulkCredit, ledger_credit_many
from points.models import Coupon
from points.rules import clinic_zone, local_date, local_midnight, lot_available_from, lot_expiry, loyalty_settings
from points.selectors import lot_last_day
from segments.selectors import segment_planning

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


def occurrence_window(campaign: Campaign, on: date, now: datetime) -> tuple[datetime, datetime]:
    start = datetime.combine(on, campaign.send_time, tzinfo=clinic_zone())
    return min(max(now, local_midnight(on)), start), local_midnight(on + timedelta(days=campaign.validity_days))


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


def _triggered_members(campaign: Campaign, day: date) -> list[int]:
    """Members whose event was `trigger_days` before `day`: the first counted visit, or becoming
    dormant (no visit for the insights' `active_days` after the last one)."""
    from insights.selectors import counted

    days = campaign.trigger_days or 0
    if campaign.schedule == Campaign.Schedule.AFTER_DORMANT:
        days += insights_settings().active_days
        aggregate = "max"
    else:
        aggregate = "min"
    event_day = day - timedelta(days=days)
    audience, params = audience_sql(campaign)
    sql = f"""
        SELECT v.member_id FROM visits_visit v JOIN ({audience}) a ON a.id = v.member_id
        WHERE {counted()} GROUP BY v.member_id
        HAVING {aggregate}(v.visited_at) >= %s AND {aggregate}(v.visited_at) < %s"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, local_midnight(event_day), local_midnight(event_day + timedelta(days=1))])
        return [row[0] for row in cursor.fetchall()]


def _targets(campaign: Campaign, on: date, now: datetime) -> list[tuple[int, int | None]]:
    """The treated members of the occurrence, with their tier, in member order."""
    if campaign.schedule in TRIGGERED:
        members = _triggered_members(campaign, on)
        if not members:
            return []
        _audience_add(campaign, now, members)
        query = campaign.audience.filter(member_id__in=any_of(members, "bigint"))
    else:
        if campaign.schedule != Campaign.Schedule.ONCE:
            _audience_add(campaign, now)
        query = campaign.audience.filter(member_id__in=campaign_audience_members(campaign).values("pk"))
    return list(query.filter(group="treated").order_by("member_id").values_list("member_id", "tier_id"))


_GUARDS_SQL = """
INSERT INTO campaigns_campaigngrant (campaign_id, occurrence, member_id, granted_at, offer, points,
                                     valid_from, valid_until)
SELECT %(campaign)s, %(on)s, m, %(now)s, o, 0, %(valid_from)s, %(valid_until)s
FROM unnest(%(members)s::bigint[], %(offers)s::boolean[]) AS t(m, o)
ORDER BY m
ON CONFLICT (campaign_id, occurrence, member_id) DO NOTHING
RETURNING member_id, offer
"""

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
                 counts: dict) -> bool:
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
        offers = []
        for member_id, tier in targets:
            offer = campaign.has_offer
            if offer and min_rank is not None and (tier is None or ranks.get(tier, -1) < min_rank):
                offer = False
                counts["below_tier"] += 1
            if offer and held.get(member_id, 0) >= campaign.max_grants_per_member:
                offer = False
                counts["max_grants"] += 1
            if offer and campaign.bonus_points and points_left is not None:
                if points_left < campaign.bonus_points:
                    offer = False
                    counts["budget_exhausted"] += 1
                else:
                    points_left -= campaign.bonus_points
            if offer and campaign.coupon_template_id and coupons_left is not None:
                if coupons_left < 1:
                    offer = False
                    counts["budget_exhausted"] += 1
                else:
                    coupons_left -= 1
            offers.append(offer)
        valid_from, valid_until = occurrence_window(campaign, on, now)
        with connection.cursor() as cursor:
            cursor.execute(_GUARDS_SQL, {"campaign": campaign.pk, "on": on, "now": now, "members": members,
                                         "offers": offers, "valid_from": valid_from, "valid_until": valid_until})
            granted = sorted(cursor.fetchall())
        if not granted:
            return True
        counts["granted"] += len(granted)
        offered = [member_id for member_id, offer in granted if offer]
        counts["offers"] += len(offered)
        key = f"campaign:{campaign.pk}:{on.isoformat()}"
        entries: dict[str, int] = {}
        if campaign.bonus_points and offered:
            rules = loyalty_settings()
            entries = ledger_credit_many(
                credits=[BulkCredit(member_id=m, amount=campaign.bonus_points, source_id=str(m),
                                    reason=campaign.name, dedupe_key=f"{key}:{m}") for m in offered],
                kind="bonus", source_type="campaign", at=now, available_from=lot_available_from(now, rules),
                expires_at=lot_expiry(now, rules))
            counts["points"] += campaign.bonus_points * len(entries)
        coupons: dict[int, int] = {}
        template = campaign.coupon_template
        if template is not None and offered:
            coupons = coupons_issue_many(template=template, member_ids=offered, source=Coupon.Source.CAMPAIGN,
                                         dedupe_keys=[f"{key}:{m}" for m in offered], at=now)
            counts["coupons"] += len(coupons)
        if entries or coupons:
            linked = sorted(set(coupons) | {int(m) for m in entries})
            with connection.cursor() as cursor:
                cursor.execute(_LINK_SQL, {
                    "campaign": campaign.pk, "on": on, "members": linked,
                    "points": [campaign.bonus_points if str(m) in entries else 0 for m in linked],
                    "entries": [entries.get(str(m)) for m in linked], "coupons": [coupons.get(m) for m in linked]})
        _messages(campaign, on, granted, coupons, valid_until, counts, now)
    return True


def _messages(campaign: Campaign, on: date, granted: list[tuple[int, bool]], coupons: dict[int, int],
              valid_until: datetime, counts: dict, now: datetime) -> None:
    texts = list(campaign.messages.all())
    if not texts:
        return
    clinic = current_clinic()
    language = clinic.language if clinic else "zh-hans"
    last_day = lot_last_day(valid_until)
    template = campaign.coupon_template
    coupon_until = ""
    if template is not None and coupons:
        coupon_until = lot_last_day(Coupon.objects.get(pk=next(iter(coupons.values()))).valid_until)
    for text in texts:
        footer = opt_out_footer(text.channel, language)
        outgoing = []
        for member_id, offer in granted:
            variables = {"campaign": campaign.name, "valid_until": last_day,
                         "points": campaign.bonus_points if offer else 0,
                         "coupon": template.name if member_id in coupons else "",
                         "coupon_valid_until": coupon_until if member_id in coupons else "",
                         "multiplier": campaign.points_multiplier if offer and campaign.points_multiplier else ""}
            if text.channel == Channel.EMAIL:
                variables["unsubscribe_link"] = _unsubscribe_url(member_id)
            outgoing.append(Outgoing(member_id=member_id, variables=variables,
                                     guard_key=f"campaign:{campaign.pk}:{on.isoformat()}:{member_id}:{text.channel}"))
        queued = messages_queue(purpose=Purpose.MARKETING, channel=text.channel, outgoing=outgoing, at=now,
                                text=(text.subject, text.body + footer))
        for message in queued:
            if message.skip_reason:
                skipped = counts["skipped"].setdefault(text.channel, {})
                skipped[message.skip_reason] = skipped.get(message.skip_reason, 0) + 1
            else:
                counts["queued"][text.channel] = counts["queued"].get(text.channel, 0) + 1


def _new_counts() -> dict:
    return {"targeted": 0, "granted": 0, "offers": 0, "points": 0, "coupons": 0, "below_tier": 0, "max_grants": 0,
            "budget_exhausted": 0, "queued": {}, "skipped": {}}


def campaign_occurrence_run(*, campaign: Campaign, on: date, now: datetime | None = None,
                            batch_size: int = BATCH_SIZE) -> dict:
    """Give the occurrence `on` to its treated members, batch by batch. Safe to run again: what
    was given is not given twice, and a run that died halfway is completed."""
    now = now or timezone.now()
    counts = _new_counts()
    with segment_planning():
        targets = _targets(campaign, on, now)
    counts["targeted"] = len(targets)
    for start in range(0, len(targets), batch_size):
        if not _grant_batch(campaign.pk, on, targets[start:start + batch_size], now, counts):
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
    if campaign.schedule in TRIGGERED:
        last = min(today, campaign.ends_on) if campaign.ends_on else today
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)] if last >= first else []
        days = [d for d in days if d >= campaign.starts_on]
    else:
        days = occurrences_between(campaign, first, today)
    return [d for d in days if datetime.combine(d, campaign.send_time, tzinfo=clinic_zone()) <= now]


def _last_day(campaign: Campaign) -> date:
    return campaign.starts_on if campaign.schedule == Campaign.Schedule.ONCE else campaign.ends_on


def campaigns_run_due(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Every scheduled or running campaign: run its due occurrences, mark it running, and finished
    once its last day has run."""
    now = now or timezone.now()
    totals = {"campaigns": 0, "occurrences": 0, "granted": 0}
    for campaign in Campaign.objects.filter(status__in=[Campaign.Status.SCHEDULED, Campaign.Status.RUNNING]):
        totals["campaigns"] += 1
        for on in due_occurrences(campaign, now):
            counts = campaign_occurrence_run(campaign=campaign, on=on, now=now, batch_size=batch_size)
            totals["occurrences"] += 1
            totals["granted"] += counts["granted"]
        with transaction.atomic():
            row = Campaign.objects.select_for_update().get(pk=campaign.pk)
            if row.status == Campaign.Status.SCHEDULED and row.occurrences.exists():
                row.status = Campaign.Status.RUNNING
                row.save(update_fields=["status"])
            last = _last_day(row)
            done = local_date(now) > last or (
                local_date(now) == last and datetime.combine(last, row.send_time, tzinfo=clinic_zone()) <= now
                and (row.schedule in TRIGGERED or row.occurrences.filter(on=last).exists()))
            if row.status == Campaign.Status.RUNNING and done:
                row.status = Campaign.Status.FINISHED
                row.save(update_fields=["status"])
                CampaignEvent.objects.create(campaign=row, kind=CampaignEvent.Kind.FINISHED, at=now)
    return totals
