"""Reads composed for the front-desk pages, from the loyalty core's own selectors."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Max, Min, Prefetch, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from appointments.models import Booking
from campaigns.models import CampaignMultiplierUse
from frontdesk.appointment_selectors import appointments_on, member_appointments
from members.models import Member
from members.selectors import consent_current, member_has_allergies, member_referrals
from points.models import Asset, Coupon, Entry, Lot, PointsAdjustment
from points.rules import local_date, loyalty_settings
from points.selectors import (
    PointsBalance,
    PointsStatement,
    adjustment_list,
    bonus_text,
    coupon_list,
    earn_part_text,
    entry_reason_text,
    points_balance,
    points_statement,
    redemption_list,
)
from tiers.models import Tier, TierChange
from tiers.selectors import MemberTierSummary, member_current_tier, member_tier_summary
from visits.models import ZERO, Visit, VisitLine
from visits.selectors import visits_with_details, visits_with_lines

TODAY_LIST_LIMIT = 50
MEMBER_PAGE_ENTRIES = 20
MEMBER_PAGE_VISITS = 20


@dataclass(frozen=True)
class ExpiringMember:
    member: Member
    points: int
    first_expiry: datetime


@dataclass(frozen=True)
class TodayOverview:
    day: date
    birthdays: list[Member]
    expiring: list[ExpiringMember]
    expiry_warning_days: int
    pending_adjustments: list[PointsAdjustment] | None
    appointments: list[Booking]


def birthdays_on(day: date, *, limit: int = TODAY_LIST_LIMIT) -> list[Member]:
    return list(Member.objects.filter(status=Member.Status.ACTIVE, birthday__month=day.month,
                                      birthday__day=day.day).order_by("name", "pk")[:limit])


def members_with_points_expiring(*, at: datetime, within_days: int,
                                 limit: int = TODAY_LIST_LIMIT) -> list[ExpiringMember]:
    """Active members with open points expiring within `within_days`, soonest first."""
    rows = list(Lot.objects.filter(remaining__gt=0, expires_at__gt=at,
                                   expires_at__lte=at + timedelta(days=within_days),
                                   account__member__status=Member.Status.ACTIVE, account__asset=Asset.POINTS)
                .values("account__member_id").annotate(points=Sum("remaining"), first=Min("expires_at"))
                .order_by("first", "account__member_id")[:limit])
    members = Member.objects.in_bulk([row["account__member_id"] for row in rows])
    return [ExpiringMember(member=members[row["account__member_id"]], points=row["points"],
                           first_expiry=row["first"]) for row in rows]


def today_overview(*, user: User, at: datetime | None = None) -> TodayOverview:
    at = at or timezone.now()
    rules = loyalty_settings()
    pending = None
    if user.has_perm("points.approve_adjustment"):
        pending = list(adjustment_list(status=PointsAdjustment.Status.PENDING)
                       .order_by("requested_at", "id")[:TODAY_LIST_LIMIT])
    return TodayOverview(day=local_date(at), birthdays=birthdays_on(local_date(at)),
                         expiring=members_with_points_expiring(at=at, within_days=rules.expiry_warning_days),
                         expiry_warning_days=rules.expiry_warning_days, pending_adjustments=pending,
                         appointments=appointments_on(local_date(at)))


@dataclass(frozen=True)
class MemberOverview:
    member: Member
    has_allergies: bool
    tier: MemberTierSummary
    statement: PointsStatement
    coupons: list[Coupon]
    visits: list[Visit]
    referrals: list[Member]
    consents: dict
    redemptions: list
    pending_adjustments: list[PointsAdjustment]
    upcoming_appointments: list[Booking]
    past_appointments: list[Booking]


def member_overview(*, member: Member, at: datetime | None = None) -> MemberOverview:
    """Everything the member page shows, in a fixed number of queries whatever the history.
    The allergy flag is read with the member when it was fetched through
    `members_with_allergy_flag`; the points account, settings and lots once, by the statement."""
    at = at or timezone.now()
    upcoming, past = member_appointments(member_id=member.pk, now=at)
    return MemberOverview(
        member=member,
        has_allergies=member_has_allergies(member=member),
        tier=member_tier_summary(member, at),
        statement=points_statement(member, limit=MEMBER_PAGE_ENTRIES, at=at),
        coupons=list(coupon_list(member=member)[:50]),
        visits=list(visits_with_lines().filter(member=member)[:MEMBER_PAGE_VISITS]),
        referrals=list(member_referrals(member=member)[:50]),
        consents=consent_current(member=member),
        redemptions=list(redemption_list(member=member)[:20]),
        pending_adjustments=list(adjustment_list(member=member, status=PointsAdjustment.Status.PENDING)),
        upcoming_appointments=upcoming,
        past_appointments=past,
    )


@dataclass(frozen=True)
class MemberFigures:
    """What staff compare before merging two registrations of one person."""

    member: Member
    points: PointsBalance
    visits: int
    spend: Decimal
    last_visit_at: datetime | None
    tier: Tier


def member_figures(*, member: Member) -> MemberFigures:
    visits = Visit.objects.filter(member=member).aggregate(
        count=Count("id"), spend=Sum(F("total") - F("refunded_total")), last=Max("visited_at"))
    return MemberFigures(member=member, points=points_balance(member), visits=visits["count"],
                         spend=visits["spend"] or ZERO, last_visit_at=visits["last"],
                         tier=member_current_tier(member))


@dataclass(frozen=True)
class Receipt:
    visit: Visit
    points_earned: int
    tier_change: TierChange | None
    # The visit's points entries, each its own line: the points for the visit, then each bonus.
    points_lines: tuple = ()


def points_lines(*, visit: tuple[str, int] | None, parts, campaigns, bonuses) -> tuple[tuple[str, int], ...]:
    """The points of a visit as lines of their own, in the request's language, the same way on the
    quote and on the receipt: the points for the visit without what its multipliers added, what each
    multiplier of the rules added (`parts`: `points.earning.EarnPart` or its record on the visit),
    what each campaign's multiplier added (`campaigns`: name, multiplier, points), then each bonus
    (`bonuses`: its line's text, points). `visit` is the text and the points with the multipliers;
    the lines add up to it plus the bonuses."""
    records = [part.as_record() if hasattr(part, "as_record") else part for part in parts]
    records = [record for record in records if record["points"]]
    campaigns = [campaign for campaign in campaigns if campaign[2]]
    lines = []
    if visit is not None:
        text, points = visit
        added = sum(record["points"] for record in records) + sum(campaign[2] for campaign in campaigns)
        lines.append((text, points - added))
        lines += [(earn_part_text(record), record["points"]) for record in records]
        lines += [(_("%(campaign)s: points ×%(multiplier)s") % {"campaign": name, "multiplier": multiplier.normalize()},
                   points) for name, multiplier, points in campaigns]
    lines += [(text, points) for text, points in bonuses if points]
    return tuple(lines)


def quote_points_lines(quote) -> tuple[tuple[str, int], ...]:
    """The quote's points as the receipt will show them (`points_lines`), each bonus its own line."""
    return points_lines(
        visit=(_("Points for this visit"), quote.points_earned) if quote.points_earned else None,
        parts=quote.points_parts,
        campaigns=[(extra.label, extra.multiplier, points) for extra, points in quote.extra_points],
        bonuses=[(bonus_text(key) or _("Bonus"), points) for key, points in quote.bonuses])


def visit_receipt(*, visit_id: int, tier_change_id: int | None = None) -> Receipt:
    """A checked-out visit with the points it earned the member (bonuses included) and, when
    named, the tier change it caused."""
    visit = visits_with_details().get(pk=visit_id)
    entries = list(Entry.objects.filter(account__member_id=visit.member_id, source_type="visit",
                                        source_id=str(visit.pk), kind__in=[Entry.Kind.EARN, Entry.Kind.BONUS],
                                        account__asset=Asset.POINTS)
                   .order_by("id"))
    earned = sum(entry.amount for entry in entries)
    change = None
    if tier_change_id is not None:
        change = (TierChange.objects.select_related("from_tier", "to_tier")
                  .filter(pk=tier_change_id, member_id=visit.member_id).first())
    uses = list(CampaignMultiplierUse.objects.select_related("campaign").filter(visit_id=visit.pk))
    earn = next((entry for entry in entries if entry.kind == Entry.Kind.EARN), None)
    lines = points_lines(
        visit=(entry_reason_text(earn), earn.amount) if earn is not None else None,
        parts=visit.points_parts if earn is not None else (),
        campaigns=[(use.campaign.name, use.multiplier, use.points) for use in uses] if earn is not None else (),
        bonuses=[(entry_reason_text(entry), entry.amount) for entry in entries if entry is not earn])
    return Receipt(visit=visit, points_earned=earned, tier_change=change, points_lines=lines)


def visit_for_refund(*, visit_id: int) -> Visit:
    return (Visit.objects.select_related("member")
            .prefetch_related(Prefetch("lines", queryset=VisitLine.objects.order_by("id")), "refunds")
            .get(pk=visit_id))
