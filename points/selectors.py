"""Reads of the points ledger, rewards and coupons: balances, statements, what a member can
redeem, and the ledger's own consistency check."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.db import connection
from django.db.models import Count, F, Min, Prefetch, Q, QuerySet, Window
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.context import last_local_day
from members.models import Member
from members.selectors import export_rows
from points.coupons import coupon_code_normalize
from points.ledger import available_balance
from points.models import (
    Account,
    Asset,
    Coupon,
    CouponTemplate,
    Entry,
    Lot,
    LoyaltySettings,
    PointsAdjustment,
    Redemption,
    Reward,
)
from points.rules import local_date, loyalty_settings
from tiers.models import Tier
from tiers.selectors import member_current_tier
from visits.models import Visit


@dataclass(frozen=True)
class ExpiringPoints:
    points: int
    expires_at: datetime
    last_day: date


@dataclass(frozen=True)
class PointsBalance:
    balance: int
    available: int
    pending: int
    lifetime_earned: int
    expiring_soon: int
    expiring: list[ExpiringPoints]
    cash_value: Decimal


@dataclass(frozen=True)
class PointsStatement:
    balance: PointsBalance
    entries: list[Entry]
    count: int
    open_lots: list[Lot]


def _account(member: Member) -> Account | None:
    return Account.objects.filter(member=member, asset=Asset.POINTS).first()


# The last day, in the clinic's time zone, on which points expiring at `expires_at` can be used.
lot_last_day = last_local_day


def _lot_open_at(lot: Lot, at: datetime) -> bool:
    return lot.remaining > 0 and (lot.expires_at is None or lot.expires_at > at)


def _balance_from_lots(account: Account, lots: Iterable[Lot], *, at: datetime,
                       rules: LoyaltySettings, expiring_within_days: int | None = None) -> PointsBalance:
    """The balance figures from the account and its lots with points left (the expired ones
    among them are left out here). `expiring` covers the clinic's warning period, or
    `expiring_within_days` when given."""
    open_lots = [lot for lot in lots if _lot_open_at(lot, at)]
    available = sum(lot.remaining for lot in open_lots if lot.available_from <= at)
    pending = sum(lot.remaining for lot in open_lots if lot.available_from > at)
    days = rules.expiry_warning_days if expiring_within_days is None else expiring_within_days
    warn_until = at + timedelta(days=days)
    by_expiry: dict[datetime, int] = {}
    for lot in open_lots:
        if lot.expires_at is not None and lot.expires_at <= warn_until:
            by_expiry[lot.expires_at] = by_expiry.get(lot.expires_at, 0) + lot.remaining
    expiring = [ExpiringPoints(points=points, expires_at=expires_at, last_day=lot_last_day(expires_at))
                for expires_at, points in sorted(by_expiry.items())]
    cash = (Decimal(available) / rules.points_per_cash_unit).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return PointsBalance(balance=account.balance, available=available, pending=pending,
                         lifetime_earned=account.lifetime_earned,
                         expiring_soon=sum(item.points for item in expiring), expiring=expiring,
                         cash_value=cash)


def _no_points() -> PointsBalance:
    return PointsBalance(0, 0, 0, 0, 0, [], Decimal("0.00"))


def points_balance(member: Member, *, at: datetime | None = None,
                   expiring_within_days: int | None = None) -> PointsBalance:
    """The balance (everything not yet spent or expired), what can be spent now, what is still
    pending, what was ever earned, and what expires within the clinic's warning period (or
    within `expiring_within_days`)."""
    at = at or timezone.now()
    account = _account(member)
    if account is None:
        return _no_points()
    lots = (Lot.objects.filter(account=account, remaining__gt=0)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
            .only("remaining", "available_from", "expires_at"))
    return _balance_from_lots(account, lots, at=at, rules=loyalty_settings(),
                              expiring_within_days=expiring_within_days)


def points_statement(member: Member, *, limit: int = 50, offset: int = 0,
                     at: datetime | None = None, kinds: Iterable[str] | None = None,
                     effective_from: datetime | None = None, effective_until: datetime | None = None,
                     expiring_within_days: int | None = None) -> PointsStatement:
    """A member's entries, newest first, each with the balance after it, and their open lots
    (soonest-expiring first) with what is left, when they become usable and when they expire.
    The account, the settings and the lots are read once: the balance comes from the same lots,
    and the number of entries from the same query as the page of them. Entries can be narrowed
    to some kinds and to [effective_from, effective_until); `count` is then of those."""
    at = at or timezone.now()
    account = _account(member)
    if account is None:
        return PointsStatement(balance=_no_points(), entries=[], count=0, open_lots=[])
    rows = Entry.objects.filter(account=account)
    if kinds:
        rows = rows.filter(kind__in=list(kinds))
    if effective_from is not None:
        rows = rows.filter(effective_at__gte=effective_from)
    if effective_until is not None:
        rows = rows.filter(effective_at__lt=effective_until)
    entries = list(rows.select_related("actor")
                   .annotate(total_count=Window(Count("id"))).order_by("-id")[offset:offset + limit])
    count = entries[0].total_count if entries else rows.count()
    lots = list(Lot.objects.filter(account=account, remaining__gt=0).select_related("entry")
                .order_by("expires_at", "available_from", "id"))
    return PointsStatement(balance=_balance_from_lots(account, lots, at=at, rules=loyalty_settings(),
                                                      expiring_within_days=expiring_within_days),
                           entries=entries, count=count, open_lots=lots)


def adjustment_list(*, status: str | None = None, member: Member | None = None) -> QuerySet[PointsAdjustment]:
    adjustments = PointsAdjustment.objects.select_related("member", "requested_by", "decided_by")
    if status:
        adjustments = adjustments.filter(status=status)
    if member is not None:
        adjustments = adjustments.filter(member=member)
    return adjustments


def reward_refusal(*, reward: Reward, tier: Tier | None, allowed_tier_ids: set[int], used: int,
                   available: int, by_member: bool = False) -> str | None:
    """Why a member cannot redeem `reward` now, or None if they can. Members redeeming for
    themselves online (`by_member`) can take only rewards that give a coupon: a treatment or
    product is handed over at the desk when it is redeemed."""
    if not reward.active:
        return _("This reward is no longer offered.")
    if by_member and reward.kind != Reward.Kind.COUPON:
        return _("This reward is handed over at the clinic: ask the front desk to redeem it.")
    if allowed_tier_ids and (tier is None or tier.pk not in allowed_tier_ids):
        names = Tier.objects.filter(pk__in=allowed_tier_ids).order_by("rank").values_list("name", flat=True)
        return _("This reward is only for members of these tiers: %(tiers)s.") % {"tiers": ", ".join(names)}
    if reward.per_member_limit is not None and used >= reward.per_member_limit:
        return (_("This member has already redeemed this reward %(count)s times, the most allowed.")
                % {"count": used})
    if reward.stock is not None and reward.stock <= 0:
        return _("This reward is out of stock.")
    if available < reward.points_cost:
        return _("Not enough points: %(available)s available, %(wanted)s needed.") % {
            "available": available, "wanted": reward.points_cost}
    return None


@dataclass(frozen=True)
class RewardOffer:
    reward: Reward
    refusal: str | None

    @property
    def can_redeem(self) -> bool:
        return self.refusal is None


def reward_list(*, include_inactive: bool = False) -> QuerySet[Reward]:
    rewards = Reward.objects.select_related("item", "coupon_template").prefetch_related(
        Prefetch("allowed_tiers", queryset=Tier.objects.order_by("rank")))
    return rewards if include_inactive else rewards.filter(active=True)


def reward_offers(*, member: Member, rewards: Iterable[Reward], at: datetime | None = None,
                  by_member: bool = False) -> list[RewardOffer]:
    """Each reward with whether `member` can redeem it now (online when `by_member`) and, if
    not, why."""
    rewards = list(rewards)
    account = _account(member)
    available = available_balance(account, at=at) if account is not None else 0
    tier = member_current_tier(member)
    used = dict(Redemption.objects.filter(member=member, status=Redemption.Status.COMPLETED,
                                          reward__in=rewards)
                .values_list("reward").annotate(count=Count("id")).values_list("reward", "count"))
    return [RewardOffer(reward=reward, refusal=reward_refusal(
        reward=reward, tier=tier, allowed_tier_ids={t.pk for t in reward.allowed_tiers.all()},
        used=used.get(reward.pk, 0), available=available, by_member=by_member)) for reward in rewards]


def redemption_list(*, member: Member) -> QuerySet[Redemption]:
    return Redemption.objects.filter(member=member).select_related("reward", "coupon", "actor")


def coupon_template_list(*, include_inactive: bool = False) -> QuerySet[CouponTemplate]:
    templates = CouponTemplate.objects.select_related("free_item").prefetch_related("categories")
    return templates if include_inactive else templates.filter(active=True)


def coupon_list(*, member: Member, usable_at: datetime | None = None) -> QuerySet[Coupon]:
    """A member's coupons, newest first; with `usable_at`, only those that can be used then."""
    coupons = Coupon.objects.filter(member=member).select_related("template", "template__free_item")
    if usable_at is not None:
        coupons = coupons.filter(status=Coupon.Status.ISSUED, valid_from__lte=usable_at,
                                 valid_until__gt=usable_at)
    return coupons


def coupon_by_code(code: str) -> Coupon | None:
    return (Coupon.objects.select_related("template", "template__free_item", "member")
            .filter(code=coupon_code_normalize(code)).first())


@dataclass(frozen=True)
class LedgerProblem:
    account_id: int
    member_number: str
    check: str
    detail: str


_BALANCES_SQL = """
SELECT a.id, a.balance, COALESCE(e.total, 0), COALESCE(l.total, 0)
FROM points_account a
LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM points_entry GROUP BY account_id) e
       ON e.account_id = a.id
LEFT JOIN (SELECT account_id, SUM(remaining) AS total FROM points_lot WHERE remaining > 0
           GROUP BY account_id) l
       ON l.account_id = a.id
WHERE a.balance <> COALESCE(e.total, 0) OR a.balance <> COALESCE(l.total, 0)
"""

_CHAIN_SQL = """
SELECT account_id, MIN(id), COUNT(*)
FROM (SELECT id, account_id, balance_after,
             SUM(amount) OVER (PARTITION BY account_id ORDER BY id) AS running
      FROM points_entry) chain
WHERE balance_after <> running
GROUP BY account_id
"""

# A debit's allocations add up to what it took; a credit's value sits in its own lot, or (for a
# restore) partly in the lots it gave back into.
_PLACEMENT_SQL = """
SELECT e.account_id, MIN(e.id), COUNT(*)
FROM points_entry e
LEFT JOIN (SELECT entry_id, SUM(amount) AS total FROM points_allocation GROUP BY entry_id) al
       ON al.entry_id = e.id
LEFT JOIN points_lot own ON own.entry_id = e.id
WHERE (e.amount < 0 AND (COALESCE(al.total, 0) <> -e.amount OR own.id IS NOT NULL))
   OR (e.amount > 0 AND COALESCE(al.total, 0) + COALESCE(own.amount, 0) <> e.amount)
GROUP BY e.account_id
"""

_CROSS_ACCOUNT_SQL = """
SELECT e.account_id, MIN(e.id), COUNT(*)
FROM points_allocation al
JOIN points_entry e ON e.id = al.entry_id
JOIN points_lot l ON l.id = al.lot_id
WHERE l.account_id <> e.account_id
GROUP BY e.account_id
"""

_LOTS_SQL = """
SELECT l.account_id, MIN(l.id), COUNT(*)
FROM points_lot l
LEFT JOIN (SELECT al.lot_id,
                  SUM(CASE WHEN e.amount < 0 THEN al.amount ELSE -al.amount END) AS taken
           FROM points_allocation al JOIN points_entry e ON e.id = al.entry_id
           GROUP BY al.lot_id) moved
       ON moved.lot_id = l.id
WHERE l.remaining <> l.amount - COALESCE(moved.taken, 0)
GROUP BY l.account_id
"""


def ledger_verify() -> list[LedgerProblem]:
    """Check every account of the current clinic in set-based SQL: the balance equals the sum of
    its entries and the sum of its open lots; each entry's balance_after continues the running
    sum; each debit's allocations add up to what it took and each credit's value is placed; no
    allocation crosses accounts; each lot's remaining equals its amount minus what debits took
    plus what restores gave back. Returns the disagreements (none on a sound ledger)."""
    found: list[tuple[int, str, str]] = []
    with connection.cursor() as cursor:
        cursor.execute(_BALANCES_SQL)
        for account_id, balance, entries_total, lots_total in cursor.fetchall():
            found.append((account_id, "balance", _(
                "balance %(balance)s, sum of entries %(entries)s, sum of open lots %(lots)s")
                % {"balance": balance, "entries": entries_total, "lots": lots_total}))
        checks = (
            (_CHAIN_SQL, "entry_chain",
             _("%(count)s entries whose balance_after breaks the running sum, the first is entry %(first)s")),
            (_PLACEMENT_SQL, "entry_allocations",
             _("%(count)s entries whose allocations or lot do not match their amount, "
               "the first is entry %(first)s")),
            (_CROSS_ACCOUNT_SQL, "cross_account",
             _("%(count)s entries with allocations in another account's lots, the first is entry %(first)s")),
            (_LOTS_SQL, "lot_remaining",
             _("%(count)s lots whose remaining disagrees with their allocations, "
               "the first is lot %(first)s")),
        )
        for sql, check, message in checks:
            cursor.execute(sql)
            for account_id, first, count in cursor.fetchall():
                found.append((account_id, check, message % {"count": count, "first": first}))
    numbers = dict(Account.objects.filter(pk__in={account_id for account_id, _c, _d in found})
                   .values_list("pk", "member__member_number"))
    return [LedgerProblem(account_id=account_id, member_number=numbers.get(account_id, ""), check=check,
                          detail=detail)
            for account_id, check, detail in sorted(found)]


@dataclass(frozen=True)
class Referee:
    member: Member
    converted: bool
    first_paid_visit_at: datetime | None
    bonus_points: int


@dataclass(frozen=True)
class ReferralStats:
    referred: int
    converted: int
    bonus_points: int
    referees: list[Referee]


def referral_stats(*, member: Member) -> ReferralStats:
    """Whom the member referred (merged duplicates not counted), how many of them converted
    (have a visit with money paid and not all of it refunded), and the referral bonus points the
    member kept for them (paid minus taken back by refunds)."""
    referees = list(member.referrals.exclude(status=Member.Status.MERGED).order_by("joined_on", "id"))
    ids = [referee.pk for referee in referees]
    first_paid = dict(Visit.objects.filter(member_id__in=ids, total__gt=F("refunded_total"))
                      .values("member_id").annotate(first=Min("visited_at")).values_list("member_id", "first"))
    keys = {f"referral:referrer-of:{pk}": pk for pk in ids}
    keys.update({f"reverse:referral:referrer-of:{pk}": pk for pk in ids})
    bonus: dict[int, int] = {}
    for key, amount in Entry.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", "amount"):
        bonus[keys[key]] = bonus.get(keys[key], 0) + amount
    rows = [Referee(member=referee, converted=referee.pk in first_paid,
                    first_paid_visit_at=first_paid.get(referee.pk), bonus_points=bonus.get(referee.pk, 0))
            for referee in referees]
    return ReferralStats(referred=len(rows), converted=sum(row.converted for row in rows),
                         bonus_points=sum(row.bonus_points for row in rows), referees=rows)


def points_export(member: Member) -> dict:
    """The member's points accounts with every entry and lot, coupons, redemptions, manual
    adjustments and referral figures, for an export."""
    accounts = export_rows(Account.objects.filter(member=member).order_by("id"),
                           "id", "asset", "balance", "lifetime_earned")
    for account in accounts:
        account["entries"] = export_rows(
            Entry.objects.filter(account_id=account["id"]).order_by("id"), "id", "kind", "amount",
            "balance_after", "source_type", "source_id", "actor_id", "reason", "effective_at")
        account["lots"] = export_rows(
            Lot.objects.filter(account_id=account["id"]).order_by("id"), "id", "entry_id", "amount",
            "remaining", "available_from", "expires_at")
    stats = referral_stats(member=member)
    return {
        "points_accounts": accounts,
        "coupons": export_rows(Coupon.objects.filter(member=member).order_by("issued_at", "id"),
                               "code", "template__name", "status", "source", "issued_at", "issued_by_id",
                               "valid_from", "valid_until", "redeemed_at", "redeemed_visit_id",
                               "discount_given"),
        "redemptions": export_rows(Redemption.objects.filter(member=member).order_by("created_at", "id"),
                                   "id", "reward__name", "points", "status", "coupon__code", "actor_id",
                                   "created_at", "cancelled_at", "cancel_reason"),
        "points_adjustments": export_rows(
            PointsAdjustment.objects.filter(member=member).order_by("requested_at", "id"),
            "id", "amount", "reason_code", "note", "status", "requested_by_id", "requested_at",
            "decided_by_id", "decided_at", "decision_note"),
        "referral_stats": {"referred": stats.referred, "converted": stats.converted,
                           "bonus_points": stats.bonus_points},
    }


def coupon_conditions(template: CouponTemplate, *, currency: str) -> list[str]:
    """What a coupon gives and when it applies, in sentences for the member."""
    if template.kind == CouponTemplate.Kind.FIXED:
        lines = [_("%(amount)s %(currency)s off") % {"amount": template.amount, "currency": currency}]
    elif template.kind == CouponTemplate.Kind.PERCENT:
        lines = [_("%(percent)s%% off") % {"percent": template.percent}]
        if template.cap is not None:
            lines.append(_("At most %(cap)s %(currency)s off") % {"cap": template.cap, "currency": currency})
    else:
        lines = [_("One free “%(item)s”") % {"item": template.free_item.name}]
    if template.min_spend:
        lines.append(_("For a spend of at least %(min)s %(currency)s") % {"min": template.min_spend,
                                                                          "currency": currency})
    categories = [category.name for category in template.categories.all()]
    if categories:
        lines.append(_("Applies to: %(categories)s") % {"categories": ", ".join(sorted(categories))})
    return lines


@dataclass(frozen=True)
class WalletCoupon:
    coupon: Coupon
    state: str
    last_day: date
    first_day: date | None

    @property
    def usable(self) -> bool:
        return self.state == "ready"


@dataclass(frozen=True)
class Wallet:
    active: list[WalletCoupon]
    history: list[WalletCoupon]


WALLET_HISTORY_LIMIT = 100


def _wallet_coupon(coupon: Coupon, at: datetime) -> WalletCoupon:
    last_day = lot_last_day(coupon.valid_until)
    if coupon.status == Coupon.Status.ISSUED and coupon.valid_until > at:
        not_yet = coupon.valid_from > at
        return WalletCoupon(coupon=coupon, state="not_yet" if not_yet else "ready", last_day=last_day,
                            first_day=local_date(coupon.valid_from) if not_yet else None)
    state = {Coupon.Status.REDEEMED: "used", Coupon.Status.VOID: "cancelled"}.get(coupon.status, "expired")
    return WalletCoupon(coupon=coupon, state=state, last_day=last_day, first_day=None)


def _wallet_coupons() -> QuerySet[Coupon]:
    return Coupon.objects.select_related("template", "template__free_item").prefetch_related("template__categories")


def member_wallet(*, member: Member, at: datetime | None = None) -> Wallet:
    """The member's coupons: those still to use (ready now or later; soonest last day first)
    and the used, expired and cancelled ones (newest first). A coupon past its last day counts
    as expired even before the nightly expiry job has marked it."""
    at = at or timezone.now()
    active = _wallet_coupons().filter(member=member, status=Coupon.Status.ISSUED, valid_until__gt=at)
    history = (_wallet_coupons().filter(member=member)
               .exclude(status=Coupon.Status.ISSUED, valid_until__gt=at)
               .order_by("-valid_until", "-id")[:WALLET_HISTORY_LIMIT])
    return Wallet(active=[_wallet_coupon(c, at) for c in active.order_by("valid_until", "id")],
                  history=[_wallet_coupon(c, at) for c in history])


def member_coupon_get(*, member: Member, pk: int, at: datetime | None = None) -> WalletCoupon | None:
    """One of the member's own coupons (None for anyone else's)."""
    coupon = _wallet_coupons().filter(member=member, pk=pk).first()
    return _wallet_coupon(coupon, at or timezone.now()) if coupon is not None else None


def coupon_code_display(code: str) -> str:
    """The code in groups of four, easier to read out and type (checkout ignores the dashes)."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


# Entries the system writes carry their reason in the language of whoever was signed in then;
# staff pages show these in the viewer's language instead, from what the entry is.
_BONUS_KEYS = (
    ("first-visit:", lambda key: _("First-visit bonus")),
    ("referral:referee:", lambda key: _("Welcome bonus for being referred")),
    ("referral:referrer-of:", lambda key: _("Referral bonus for a referred member's first visit")),
    ("signup:", lambda key: _("Sign-up bonus")),
    ("birthday:", lambda key: _("Birthday gift %(year)s") % {"year": key.split(":")[1]}),
)


def earn_part_text(part) -> str:
    """A line of the receipt or the quote for what one multiplier of the rules added
    (`points.earning.EarnPart` or its record on the visit), in the request's language:
    "护肤品: points ×2" / "Gold tier: points ×1.5" / "Birthday month: points ×2"."""
    record = part.as_record() if hasattr(part, "as_record") else part
    multiplier = Decimal(record["multiplier"]).normalize()
    if record["kind"] == "tier":
        return _("%(tier)s tier: points ×%(multiplier)s") % {"tier": record["name"], "multiplier": multiplier}
    if record["kind"] == "birthday":
        return _("Birthday month: points ×%(multiplier)s") % {"multiplier": multiplier}
    return _("%(category)s: points ×%(multiplier)s") % {"category": record["name"], "multiplier": multiplier}


def bonus_text(key: str) -> str | None:
    """A bonus named by its ledger key (first visit, referral, sign-up, birthday), in the request's
    language; None for a key that names no bonus."""
    for prefix, text in _BONUS_KEYS:
        if key.startswith(prefix):
            return text(key)
    return None


def entry_reason_text(entry: Entry) -> str:
    """Why an entry was written, for staff, in the request's language: the system's reasons
    (visits, bonuses, points as cash, expiry, merges) are worded now; what staff typed (an
    adjustment's or a refund's reason) and a reward's name are shown as written."""
    bonus = bonus_text(entry.dedupe_key or "")
    if bonus is not None:
        return bonus
    if entry.source_type == "visit" and entry.kind == Entry.Kind.EARN:
        return _("Visit #%(id)s") % {"id": entry.source_id}
    if entry.source_type == "visit" and entry.kind == Entry.Kind.REDEEM:
        return _("Used as cash at checkout")
    if entry.kind == Entry.Kind.EXPIRE:
        return _("Points expired")
    if entry.kind == Entry.Kind.TRANSFER:
        return _("Moved from a merged member")
    return entry.reason
