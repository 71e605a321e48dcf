"""Reads for the portal's pages, composed from the owning apps' selectors and always scoped to
the signed-in member."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import Booking
from appointments.selectors import booking_list
from feedback.selectors import MemberOpenSurveys, member_open_surveys
from members.models import NOTICE_PURPOSES, ConsentRecord, Member
from members.selectors import consent_current
from points.models import Entry
from points.rules import clinic_zone
from points.selectors import PointsBalance, PointsStatement, coupon_list, points_balance, points_statement
from portal.models import ErasureRequest
from tiers.selectors import MemberTierSummary, member_tier_summary

HOME_EXPIRING_DAYS = 60
STATEMENT_PAGE_SIZE = 20


@dataclass(frozen=True)
class TierBar:
    """How far the member is towards a tier on one criterion, for a progress bar."""

    label: str
    percent: int


@dataclass(frozen=True)
class PortalHome:
    balance: PointsBalance
    tier: MemberTierSummary
    bars: list[TierBar]
    next_appointment: Booking | None
    coupons_usable: int
    surveys: MemberOpenSurveys


def _percent(have: Decimal | int, need: Decimal | int) -> int:
    if not need:
        return 100
    return max(0, min(100, int(Decimal(have) * 100 / Decimal(need))))


def _tier_bars(summary: MemberTierSummary) -> list[TierBar]:
    progress = summary.progress
    if progress.next_tier is None:
        return []
    bars = []
    if progress.spend_needed is not None:
        bars.append(TierBar(_("Spend"), _percent(summary.metrics.spend, progress.next_tier.min_spend)))
    if progress.visits_needed is not None:
        bars.append(TierBar(_("Visits"), _percent(summary.metrics.visits, progress.next_tier.min_visits)))
    return bars


def portal_home(*, member: Member, at: datetime | None = None) -> PortalHome:
    at = at or timezone.now()
    summary = member_tier_summary(member, at)
    upcoming = (booking_list(start=at, member_id=member.pk,
                             statuses=[Booking.Status.BOOKED, Booking.Status.CONFIRMED])
                .filter(starts_at__gte=at).first())
    return PortalHome(balance=points_balance(member, at=at, expiring_within_days=HOME_EXPIRING_DAYS),
                      tier=summary, bars=_tier_bars(summary), next_appointment=upcoming,
                      coupons_usable=coupon_list(member=member, usable_at=at).count(),
                      surveys=member_open_surveys(member=member, now=at))


# The statement filter's kinds, as the member reads them.
STATEMENT_KINDS = {
    "earned": (Entry.Kind.EARN, Entry.Kind.BONUS, Entry.Kind.OPENING, Entry.Kind.RESTORE),
    "spent": (Entry.Kind.REDEEM,),
    "expired": (Entry.Kind.EXPIRE,),
    "other": (Entry.Kind.ADJUST, Entry.Kind.REVERSE, Entry.Kind.TRANSFER),
}


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clinic_zone())


def portal_statement(*, member: Member, kind: str = "", date_from: date | None = None,
                     date_until: date | None = None, page: int = 1) -> PointsStatement:
    """A page of the member's entries (the ledger's statement selector), by kind and by local days
    from `date_from` through `date_until`."""
    return points_statement(
        member, limit=STATEMENT_PAGE_SIZE, offset=(page - 1) * STATEMENT_PAGE_SIZE,
        kinds=STATEMENT_KINDS.get(kind),
        effective_from=_day_start(date_from) if date_from else None,
        effective_until=_day_start(date_until + timedelta(days=1)) if date_until else None)


def entry_description(entry: Entry) -> str:
    """What an entry was, in the language of the request (the stored reason is in the language
    of whoever wrote it, so it is not shown, except the name of a reward)."""
    source = entry.source_type
    if entry.kind == Entry.Kind.EARN:
        return _("Points for your visit") if source == "visit" else _("Points earned")
    if entry.kind == Entry.Kind.BONUS:
        return {"visit": _("Bonus with your visit"), "birthday": _("Birthday gift"),
                "signup": _("Welcome bonus for joining")}.get(source, _("Bonus points"))
    if entry.kind == Entry.Kind.REDEEM:
        if source == "reward":
            return _("Exchanged for a reward: %(name)s") % {"name": entry.reason}
        if source == "visit":
            return _("Used as payment at a visit")
        return _("Points used")
    return {
        Entry.Kind.EXPIRE: _("Points expired"),
        Entry.Kind.ADJUST: _("Adjusted by the clinic"),
        Entry.Kind.REVERSE: _("Taken back after a refund"),
        Entry.Kind.RESTORE: _("Given back after a refund"),
        Entry.Kind.TRANSFER: _("Moved from another membership of yours"),
        Entry.Kind.OPENING: _("Balance brought over from the previous system"),
    }.get(entry.kind, entry.get_kind_display())


@dataclass(frozen=True)
class ConsentRow:
    purpose: str
    label: str
    granted: bool
    record: ConsentRecord | None


def portal_consents(*, member: Member, purposes) -> list[ConsentRow]:
    """The member's current choice per purpose; notices are on until withdrawn, the rest off
    until granted."""
    current = consent_current(member=member)
    rows = []
    for purpose in purposes:
        record = current.get(purpose)
        granted = record.granted if record else purpose in NOTICE_PURPOSES
        rows.append(ConsentRow(purpose=purpose, label=ConsentRecord.Purpose(purpose).label, granted=granted,
                               record=record))
    return rows


def erasure_requests_of(*, member: Member) -> list[ErasureRequest]:
    return list(ErasureRequest.objects.filter(member=member).order_by("-requested_at", "-id")[:5])


def erasure_requests_pending() -> list[ErasureRequest]:
    return list(ErasureRequest.objects.filter(status=ErasureRequest.Status.PENDING)
                .select_related("member").order_by("requested_at", "id"))
