"""Reads of campaigns: whom a campaign targets, the launch preview (targeted, held out,
reachable per channel, estimated cost), the offers a member holds, the points multiplier in force
for a member, and what a campaign has given."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from campaigns.models import Campaign, CampaignAudience, CampaignGrant, CampaignSettings
from clinic_loyalty.sql_arrays import any_of
from members.models import Member
from members.selectors import consent_granted_members
from messaging.models import MARKETING_CONSENT, Channel
from points.models import CouponTemplate
from segments.selectors import segment_members

CENT = Decimal("0.01")


def campaign_settings() -> CampaignSettings:
    return CampaignSettings.objects.filter(pk=1).first() or CampaignSettings(pk=1)


def campaign_audience_members(campaign: Campaign, *, at: datetime | None = None) -> QuerySet[Member]:
    """The active members the campaign targets: its segment's members, or all active members."""
    if campaign.segment_id is not None:
        return segment_members(campaign.segment, at=at).filter(status=Member.Status.ACTIVE)
    return Member.objects.filter(status=Member.Status.ACTIVE)


def audience_sql(campaign: Campaign) -> tuple[str, list]:
    """The audience as SQL selecting member ids (positional parameters)."""
    sql, params = campaign_audience_members(campaign).order_by().values("pk").query.sql_with_params()
    return f"SELECT q.id FROM ({sql}) AS q(id)", list(params)  # noqa: S608


# Stratified by tier: within each tier (no tier is a stratum of its own) the members are ordered
# by md5(seed:member id), and the first round(n × percent / 100) of them are the control group.
_STRATA_SQL = """
SELECT a.id, mt.tier_id,
       row_number() OVER (PARTITION BY mt.tier_id ORDER BY md5(%s || ':' || a.id), a.id)
         <= round(count(*) OVER (PARTITION BY mt.tier_id) * %s / 100.0) AS control
FROM ({audience}) a0 JOIN members_member a ON a.id = a0.id
LEFT JOIN tiers_membertier mt ON mt.member_id = a.id
"""


def strata_sql(campaign: Campaign, seed: int) -> tuple[str, list]:
    audience, params = audience_sql(campaign)
    return _STRATA_SQL.format(audience=audience), [str(seed), campaign.holdout_percent, *params]


def tier_ranks() -> dict[int, int]:
    from tiers.models import Tier

    return dict(Tier.objects.values_list("pk", "rank"))


def coupon_face_value(template: CouponTemplate | None) -> Decimal | None:
    """What one coupon is counted as worth in an estimate: its amount, a percentage coupon's cap,
    a free item's price; None when it cannot be known (a percentage coupon without a cap)."""
    if template is None:
        return Decimal(0)
    if template.kind == CouponTemplate.Kind.FIXED:
        return template.amount
    if template.kind == CouponTemplate.Kind.PERCENT:
        return template.cap
    return getattr(template.free_item, "price", None)


@dataclass
class Preview:
    targeted: int = 0
    treated: int = 0
    held_out: int = 0
    offer_members: int = 0
    reachable: dict[str, int] = field(default_factory=dict)
    points: int = 0
    coupons: int = 0
    coupon_value: Decimal | None = Decimal(0)
    message_cost: Decimal = Decimal(0)
    by_tier: list[dict] = field(default_factory=list)

    @property
    def estimated_cost(self) -> Decimal | None:
        if self.coupon_value is None:
            return None
        rate = campaign_settings().point_cost
        return (Decimal(self.points) * rate + self.coupon_value + self.message_cost).quantize(CENT)


def campaign_preview(campaign: Campaign, *, seed: int = 0) -> Preview:
    """What launching would do for one occurrence: members targeted, treated and held out (the
    control share of each tier), members who get the offer (at or above the campaign's tier),
    members reachable per channel the campaign has a text for (active, with an address and the
    channel's marketing consent; quiet hours and the weekly cap are checked at sending), and the
    estimated cost: points, coupons at face value, messages at the clinic's price. For a birthday
    campaign that is a year of birthdays: every targeted member once, with the tier's gift."""
    sql, params = strata_sql(campaign, seed)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, tier_id, control FROM ({sql}) s", params)  # noqa: S608
        rows = cursor.fetchall()
    preview = Preview(targeted=len(rows))
    ranks = tier_ranks()
    min_rank = ranks.get(campaign.min_tier_id) if campaign.min_tier_id else None
    treated = [member_id for member_id, _tier, control in rows if not control]
    offered = [member_id for member_id, tier, control in rows if not control
               and (min_rank is None or (tier is not None and ranks.get(tier, -1) >= min_rank))]
    per_tier: dict[int | None, list[int]] = {}
    for _member, tier, control in rows:
        counts = per_tier.setdefault(tier, [0, 0])
        counts[1 if control else 0] += 1
    preview.by_tier = [{"tier": tier, "treated": t, "control": c} for tier, (t, c) in per_tier.items()]
    preview.treated, preview.held_out = len(treated), len(rows) - len(treated)
    preview.offer_members = len(offered) if campaign.has_offer else 0
    if campaign.has_offer:
        points = len(offered) * campaign.bonus_points
        if campaign.is_birthday and campaign.tier_gift and offered:
            from campaigns.running import _points_for  # the tier's gift, as the run adds it

            points = sum(_points_for(campaign, offered).values())
        if campaign.budget_points is not None:
            points = min(points, campaign.budget_points)
        preview.points = points
        if campaign.coupon_template_id:
            coupons = len(offered) if campaign.budget_coupons is None else min(len(offered), campaign.budget_coupons)
            preview.coupons = coupons
            value = coupon_face_value(campaign.coupon_template)
            preview.coupon_value = None if value is None else value * coupons
    rules = campaign_settings()
    treated_members = Member.objects.filter(pk__in=any_of(treated, "bigint"))
    contacts = dict(treated_members.values_list("pk", "phone")) if treated else {}
    emails = dict(treated_members.exclude(email="").values_list("pk", "email")) if treated else {}
    for message in campaign.messages.all():
        addressed = [m for m in treated if (emails.get(m) if message.channel == Channel.EMAIL else contacts.get(m))]
        reachable = len(consent_granted_members(member_ids=addressed, purpose=MARKETING_CONSENT[message.channel]))
        preview.reachable[message.channel] = reachable
        preview.message_cost += rules.message_cost(message.channel) * reachable
    return preview


@dataclass(frozen=True)
class MultiplierHeld:
    """A campaign's points multiplier in force for a member: the campaign, the occurrence, and the
    grant (None before the occurrence's offers are given: from local midnight of its first day)."""

    campaign: Campaign
    occurrence: date
    grant: CampaignGrant | None = None


# Whether a member not yet in a recurring campaign's audience would join its control group (the
# rule of running._ADD_AUDIENCE_SQL, the same expression).
_JOINS_CONTROL_SQL = "SELECT ('x' || substr(md5(%s || ':' || %s), 1, 8))::bit(32)::bigint %% 10000 < %s * 100"


def _eligible_before_given(campaign: Campaign, member: Member) -> bool:
    """Would the occurrence's run give this member the campaign's offer? Treated (not in the
    control group; a member who joined the segment since is placed by the campaign's seed, as the
    run will), in the campaign's audience now (segment, active), at or above its tier, under its
    cap per member and within its budget."""
    from campaigns.running import _budget_left
    from tiers.models import MemberTier

    row = CampaignAudience.objects.filter(campaign=campaign, member=member).values_list("group", "tier_id").first()
    if row is None:
        if campaign.schedule == Campaign.Schedule.ONCE:
            return False  # a one-off campaign's audience is fixed at launch
        with connection.cursor() as cursor:
            cursor.execute(_JOINS_CONTROL_SQL, [str(campaign.seed), member.pk, campaign.holdout_percent])
            if cursor.fetchone()[0]:
                return False
        tier_id = MemberTier.objects.filter(member=member).values_list("tier_id", flat=True).first()
    else:
        group, tier_id = row
        if group != CampaignAudience.Group.TREATED:
            return False
    if not campaign_audience_members(campaign).filter(pk=member.pk).exists():
        return False
    if campaign.min_tier_id:
        ranks = tier_ranks()
        if tier_id is None or ranks.get(tier_id, -1) < ranks.get(campaign.min_tier_id, 0):
            return False
    if campaign.grants.filter(member=member, offer=True).count() >= campaign.max_grants_per_member:
        return False
    points_left, coupons_left = _budget_left(campaign)
    if campaign.bonus_points and points_left is not None and points_left < campaign.bonus_points:
        return False
    return not (campaign.coupon_template_id and coupons_left is not None and coupons_left < 1)


def _celebrates_on(campaign: Campaign, member: Member, day: date) -> bool:
    """Whether the birthday campaign's run of `day` reaches the member (the birthday rules of
    `campaigns.birthdays`: 29 February, lunar birthdays, the birthday month)."""
    from campaigns.birthdays import birthdays_on

    return bool(birthdays_on(days=[day], timing=campaign.birthday_timing, members=Member.objects.filter(pk=member.pk)))


def _triggered_on(campaign: Campaign, member: Member, at: datetime) -> date | None:
    """The day a triggered campaign's run reaches the member by her counted visits before `at`
    (`running.trigger_rule`: her first visit's local day, or her latest's plus the days to become
    dormant, plus the campaign's `trigger_days`); None when she has no visit."""
    from campaigns.running import trigger_rule
    from insights.selectors import counted
    from points.rules import local_date

    days, aggregate = trigger_rule(campaign)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {aggregate}(v.visited_at) FROM visits_visit v "  # noqa: S608 - min or max
                       f"WHERE v.member_id = %s AND v.visited_at < %s AND {counted()}", [member.pk, at])
        event = cursor.fetchone()[0]
    return None if event is None else local_date(event) + timedelta(days=days)


def _multiplier_before_given(member: Member, at: datetime) -> list[MultiplierHeld]:
    """The multipliers of the scheduled or running campaigns whose occurrence's window — local
    midnight of its day to local midnight `validity_days` later — holds `at`, but whose offers for
    that occurrence have not been given yet (the job runs at the send time): the member gets the
    multiplier if the run will give them the offer. For birthday and triggered campaigns the
    occurrence is the member's own day (her birthday; N days after her first visit or after she
    became dormant). One query when no such window is open, and one more per triggered
    campaign with a multiplier."""
    from campaigns.running import CATCH_UP_DAYS
    from campaigns.schedules import TRIGGERED, occurrences_between
    from points.rules import local_date, local_midnight

    today = local_date(at)
    found = []
    for campaign in (Campaign.objects.filter(status__in=[Campaign.Status.SCHEDULED, Campaign.Status.RUNNING],
                                             points_multiplier__isnull=False).select_related("coupon_template")):
        if campaign.schedule in TRIGGERED:
            # The member's day, if a run still to come gives it (the runs catch up CATCH_UP_DAYS).
            on = _triggered_on(campaign, member, at)
            if (on is not None and max(campaign.starts_on, local_date(campaign.launched_at),
                                       today - timedelta(days=CATCH_UP_DAYS)) <= on
                    and (campaign.ends_on is None or on <= campaign.ends_on)
                    and local_midnight(on) <= at < local_midnight(on + timedelta(days=campaign.validity_days))
                    and not campaign.occurrences.filter(on=on).exists()
                    and _eligible_before_given(campaign, member)):
                found.append(MultiplierHeld(campaign, on))
            continue
        if campaign.is_birthday:
            # From local midnight of the day the member celebrates (her birthday, or the first of
            # her birthday month), as the day's run will give it, unless given this year already.
            if (local_date(campaign.launched_at) <= today and _celebrates_on(campaign, member, today)
                    and not CampaignGrant.objects.filter(member=member, birthday_year=today.year).exists()
                    and _eligible_before_given(campaign, member)):
                found.append(MultiplierHeld(campaign, today))
            continue
        first = max(today - timedelta(days=campaign.validity_days - 1), local_date(campaign.launched_at))
        for on in occurrences_between(campaign, first, today):
            if not (local_midnight(on) <= at < local_midnight(on + timedelta(days=campaign.validity_days))):
                continue
            if campaign.occurrences.filter(on=on).exists():
                continue  # given: the grants say who holds it
            if _eligible_before_given(campaign, member):
                found.append(MultiplierHeld(campaign, on))
            break
    return found


def campaign_multiplier_for(*, member: Member, at: datetime) -> MultiplierHeld | None:
    """The campaign points multiplier the member holds at `at`, with its campaign; None when there
    is none. A grant holds it over its window (local midnight of the occurrence's day to local
    midnight `validity_days` later); before the occurrence's offers are given that day, a member
    the run will give it to holds it too (`_multiplier_before_given`). The control group and
    members outside the segment never hold it; a cancelled campaign's grants stop multiplying.
    Several at once (the campaigns app refuses overlapping multiplier campaigns, but a grant
    outlives its campaign's edits) do not stack: the highest counts. One query on the grants'
    (member, valid_until) index and one on the campaigns when no window is open."""
    grant = (CampaignGrant.objects.select_related("campaign")
             .filter(member=member, offer=True, valid_from__lte=at, valid_until__gt=at,
                     campaign__points_multiplier__isnull=False)
             .exclude(campaign__status=Campaign.Status.CANCELLED)
             .order_by("-campaign__points_multiplier", "campaign_id").first())
    held = [MultiplierHeld(grant.campaign, grant.occurrence, grant)] if grant else []
    held += [h for h in _multiplier_before_given(member, at) if not grant or h.campaign.pk != grant.campaign_id]
    if not held:
        return None
    return max(held, key=lambda h: (h.campaign.points_multiplier, -h.campaign.pk))


def member_campaign_offers(*, member: Member, at: datetime | None = None) -> list[CampaignGrant]:
    """The campaign offers the member holds now (for the front desk): within their window, with
    the campaign, the coupon and the points given."""
    at = at or timezone.now()
    return list(CampaignGrant.objects.select_related("campaign", "coupon", "coupon__template")
                .filter(member=member, offer=True, valid_from__lte=at, valid_until__gt=at)
                .order_by("valid_until", "id"))


@dataclass(frozen=True)
class Given:
    members: int
    offers: int
    points: int
    coupons: int
    coupons_redeemed: int


def campaign_given(campaign: Campaign) -> Given:
    """What the campaign has given so far (what a cancellation leaves in place)."""
    row = campaign.grants.aggregate(
        members=Count("member", distinct=True), offers=Count("id", filter=Q(offer=True)),
        points=Sum("points"), coupons=Count("coupon"),
        redeemed=Count("coupon", filter=Q(coupon__status="redeemed")))
    return Given(members=row["members"], offers=row["offers"], points=row["points"] or 0,
                 coupons=row["coupons"], coupons_redeemed=row["redeemed"])


def campaign_grants_list(campaign: Campaign, *, limit: int = 200) -> list[CampaignGrant]:
    return list(campaign.grants.select_related("member", "coupon").order_by("-granted_at", "-id")[:limit])
