"""Checkout and refunds: the one place where a visit, its payments, points, coupon and tier
move together, in one transaction."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from checkout.config import clinic_config
from checkout.pricing import (
    BillPrice,
    LineInput,
    PaymentInput,
    bill_price,
    cents,
    payments_complete,
)
from members.models import Member
from points.coupons import coupon_code_normalize, coupon_consume, coupon_reinstate
from points.ledger import (
    AlreadyRecorded,
    InsufficientBalance,
    Source,
    accounts_lock,
    accounts_lock_many,
    available_balance,
    ledger_credit,
    ledger_debit,
    ledger_restore,
    ledger_reverse,
    lot_in_account,
)
from points.models import Account, Asset, Coupon, Entry
from points.rules import lot_available_from, lot_expiry, loyalty_settings
from storedvalue.services import card_accounts, card_charge, card_of, card_refund
from tiers.models import TierChange
from tiers.selectors import TierMetrics, member_tier_metrics, tier_qualified
from tiers.services import tier_standing_lock, tier_standing_read, tier_upgrade_check
from visits.models import ZERO, Payment, Refund, RefundLine, Visit, VisitLine


@dataclass
class CheckoutResult:
    visit: Visit
    lines: list[VisitLine] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    points_earned: int = 0
    bonuses: dict[str, int] = field(default_factory=dict)
    # (ExtraMultiplier, points) for each extra multiplier applied (inside points_earned).
    extra_points: tuple = ()
    tier_change: TierChange | None = None


def _coupon_by_code(code: str, *, lock: bool) -> Coupon | None:
    if not coupon_code_normalize(code):
        return None
    coupons = Coupon.objects.select_for_update() if lock else Coupon.objects.all()
    coupon = coupons.filter(code=coupon_code_normalize(code)).first()
    if coupon is None:
        raise ValidationError({"coupon_code": _("No coupon has this code.")})
    return coupon


# Steps other apps add in AppConfig.ready(), run inside the checkout's or the refund's transaction
# (after the checkout's points accounts are locked): packages sells and uses sessions.
CHECKOUT_STEPS: list[Callable[..., None]] = []  # (member, visit, lines, visit_lines, actor, at)
REFUND_STEPS: list[Callable[..., None]] = []  # (visit, visit_lines, requested, actor, at)
# Run only when an extra multiplier (points.earning.EXTRA_MULTIPLIERS) added points to the visit:
# campaigns records which campaign offer did, for the receipt and its results.
EXTRA_POINTS_STEPS: list[Callable[..., None]] = []  # (member, visit, extra_points, actor, at)


def _check_payments(payments: list[PaymentInput], total: Decimal) -> None:
    if any(payment.amount <= 0 for payment in payments):
        raise ValidationError({"payments": _("Each payment must be more than zero.")})
    if any(payment.method not in Payment.Method.values for payment in payments):
        raise ValidationError({"payments": _("Unknown payment method.")})
    paid = sum((payment.amount for payment in payments), ZERO)
    if paid != total:
        raise ValidationError({"payments": _("Payments add up to %(paid)s but the bill is %(total)s.")
                               % {"paid": paid, "total": total}})


def _is_first_paid_visit(member: Member, visit: Visit) -> bool:
    return not Visit.objects.filter(member=member, total__gt=0).exclude(pk=visit.pk).exists()


@dataclass(frozen=True)
class VisitBonus:
    """A bonus a member's first paid visit brings. `key` is its ledger entry's dedupe key, which
    also names it on the quote and the receipt (`points.selectors.bonus_text`)."""

    name: str  # first_visit, referral (the referred member's welcome) or referrer
    key: str
    amount: int
    reason: str
    to_referrer: bool = False  # credited to the member who referred, not the one checking out


def first_visit_bonuses(*, member: Member, referrer: Member | None, rules) -> list[VisitBonus]:
    """The bonuses of `member`'s first paid visit by the rules (those worth something): checkout
    credits them, the quote shows the member's own, each as its own line."""
    bonuses = [VisitBonus("first_visit", f"first-visit:{member.pk}", rules.first_visit_bonus,
                          _("First-visit bonus"))]
    if referrer is not None:
        bonuses += [
            VisitBonus("referral", f"referral:referee:{member.pk}", rules.referral_bonus_referee,
                       _("Welcome bonus for being referred")),
            VisitBonus("referrer", f"referral:referrer-of:{member.pk}", rules.referral_bonus_referrer,
                       _("Referral bonus for %(name)s's first visit") % {"name": member.name}, to_referrer=True)]
    return [bonus for bonus in bonuses if bonus.amount > 0]


def _credit_bonus(account: Account, *, amount: int, key: str, reason: str, visit: Visit,
                  actor: User | None, at: datetime, rules) -> int:
    if amount <= 0:
        return 0
    try:
        ledger_credit(account=account, amount=amount, kind=Entry.Kind.BONUS, source=Source("visit", visit.pk),
                      actor=actor, reason=reason, dedupe_key=key, at=at,
                      available_from=lot_available_from(at, rules), expires_at=lot_expiry(at, rules))
    except AlreadyRecorded:
        return 0
    return amount


@transaction.atomic
def checkout_complete(*, member: Member, lines: list[LineInput], payments: list[PaymentInput],
                      actor: User | None, coupon_code: str = "", points_to_use: int = 0,
                      at: datetime | None = None, external_ref: str = "") -> CheckoutResult:
    """Record a visit: lines, discounts (tier, coupon, points as cash), payments; then points
    earned by the rules (with first-visit and referral bonuses), the tier upgraded if earned,
    and the coupon consumed."""
    return _checkout_record(member=member, lines=lines, payments=payments, actor=actor, coupon_code=coupon_code,
                            points_to_use=points_to_use, at=at, external_ref=external_ref)


def _checkout_record(*, member: Member, lines: list[LineInput], payments: list[PaymentInput] | None,
                     actor: User | None, coupon_code: str, points_to_use: int, at: datetime | None,
                     external_ref: str = "") -> CheckoutResult:
    """checkout_complete's work; `payments=None` (for a quote only) skips the payments check."""
    at = at or timezone.now()
    if not member.is_active:
        raise ValidationError(_("Only an active member can check out."))
    config = clinic_config()
    rules = config.rules
    referrer = member.referred_by if member.referred_by and member.referred_by.is_active else None
    holders = [m for m in (member, referrer) if m]
    by_card = any(payment.method == Payment.Method.STORED_VALUE for payment in payments or ())
    # The points accounts, and the card's when it pays, locked in one statement.
    locked = accounts_lock_many([(m.pk, Asset.POINTS) for m in holders] + (card_accounts(member) if by_card else []))
    accounts = {m.pk: locked[(m.pk, Asset.POINTS)] for m in holders}
    account = accounts[member.pk]

    standing = tier_standing_lock(member, programme=config.programme, ladder=list(config.ladder))
    coupon = _coupon_by_code(coupon_code, lock=True)
    price = bill_price(member=member, lines=lines, tier=standing.current, coupon=coupon,
                       points_to_use=points_to_use, rules=rules, at=at,
                       extra_multipliers=config.campaign_multipliers)
    visit_lines, total = price.lines, price.total
    subtotal, line_discount, tier_discount = price.subtotal, price.line_discount, price.tier_discount
    coupon_discount, points_discount = price.coupon_discount, price.points_discount
    if payments is not None:
        payments = payments_complete(payments, total)
        _check_payments(payments, total)
    card_paid = sum((p.amount for p in payments or () if p.method == Payment.Method.STORED_VALUE), ZERO)
    if card_paid and not config.stored_value.spend_earns_points:
        price = bill_price(member=member, lines=lines, tier=standing.current, coupon=coupon,
                           points_to_use=points_to_use, rules=rules, at=at, unearned=card_paid,
                           extra_multipliers=config.campaign_multipliers)
        visit_lines = price.lines
    earning_points = price.points_earned

    visit = Visit.objects.create(
        member=member, visited_at=at, staff=actor, subtotal=subtotal, line_discount=line_discount,
        tier_discount=tier_discount, coupon_discount=coupon_discount, points_used=points_to_use,
        points_discount=points_discount, total=total, external_ref=external_ref,
        points_parts=[part.as_record() for part in price.points_parts])
    for line in visit_lines:
        line.visit = visit
    VisitLine.objects.bulk_create(visit_lines)
    visit_payments = Payment.objects.bulk_create(
        Payment(visit=visit, method=p.method, amount=p.amount) for p in payments or ())
    for step in CHECKOUT_STEPS:
        step(member=member, visit=visit, lines=lines, visit_lines=visit_lines, actor=actor, at=at)
    for payment in visit_payments:
        if payment.method == Payment.Method.STORED_VALUE:
            card_charge(visit=visit, payment=payment, actor=actor, at=at, rules=config.stored_value,
                        card=card_of(member, locked))

    if points_to_use:
        ledger_debit(account=account, amount=points_to_use, kind=Entry.Kind.REDEEM,
                     source=Source("visit", visit.pk), actor=actor,
                     reason=_("Used as cash at checkout"), at=at)
    if coupon is not None:
        coupon_consume(coupon=coupon, visit=visit, discount=coupon_discount, at=at)

    result = CheckoutResult(visit=visit, lines=visit_lines, payments=visit_payments)
    if earning_points:
        ledger_credit(account=account, amount=earning_points, kind=Entry.Kind.EARN,
                      source=Source("visit", visit.pk), actor=actor, reason=_("Visit"),
                      dedupe_key=f"earn:visit:{visit.pk}", key_unused=True, at=at,
                      available_from=lot_available_from(at, rules), expires_at=lot_expiry(at, rules))
        result.points_earned = earning_points
        result.extra_points = tuple((extra, points) for extra, points in price.extra_points if points)
        for step in EXTRA_POINTS_STEPS if result.extra_points else ():
            step(member=member, visit=visit, extra_points=result.extra_points, actor=actor, at=at)

    bonuses = first_visit_bonuses(member=member, referrer=referrer, rules=rules)
    if bonuses and total > 0 and _is_first_paid_visit(member, visit):
        for bonus in bonuses:
            result.bonuses[bonus.name] = _credit_bonus(
                accounts[referrer.pk] if bonus.to_referrer else account, amount=bonus.amount, key=bonus.key,
                reason=bonus.reason, visit=visit, actor=actor, at=at, rules=rules)

    result.tier_change = tier_upgrade_check(member=member, actor=actor, at=at, standing=standing,
                                            reason=_("Qualified at checkout of visit #%(id)s") % {"id": visit.pk})
    return result


def _share(total_units: int, fraction_after: Decimal, already: int) -> int:
    """Units owed when a cumulative `fraction_after` of something is refunded (no rounding drift:
    a full refund gives exactly everything)."""
    return int((total_units * fraction_after).to_integral_value(rounding=ROUND_DOWN)) - already


def _earned_owed(earned: int, visit_lines: dict[int, VisitLine], refunded: dict[int, int],
                 fraction: Decimal) -> int:
    """Earned points owed back once `refunded` quantities of the lines are refunded: each line's
    own points × refunded / bought, rounded down, all of them once every line is refunded. Visits
    whose lines carry no points of their own (earned before lines recorded them) fall back to the
    refunded share of the visit's value."""
    if all(refunded.get(pk, 0) == line.quantity for pk, line in visit_lines.items()):
        return earned
    if sum(line.points_earned for line in visit_lines.values()) != earned:
        return _share(earned, fraction, 0)
    return sum(line.points_earned * refunded.get(pk, 0) // line.quantity for pk, line in visit_lines.items())


def _member_now(member: Member) -> Member:
    """The member as they are now: a merged member's survivor (following merges of merges)."""
    while member.status == Member.Status.MERGED and member.merged_into_id:
        member = Member.objects.get(pk=member.merged_into_id)
    return member


def _reason_with_shortfall(reason: str):
    def describe(shortfall: int) -> str:
        if not shortfall:
            return reason
        return _("%(reason)s (%(points)s points not recovered: already spent or expired)") % {
            "reason": reason, "points": shortfall}
    return describe


@transaction.atomic
def visit_refund(*, visit: Visit, lines: list[tuple[int, int]], reason: str, actor: User,
                 at: datetime | None = None) -> Refund:
    """Refund some or all of a visit's lines. Money goes back in proportion to what was paid
    for them; the points each refunded line earned are reversed (from the visit's own lot first,
    pending or not), and on a full refund the bonuses the visit paid too; what can no longer be
    taken back is recorded on the refund. Points used as cash and, on a full refund, the coupon
    are given back."""
    at = at or timezone.now()
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the visit is refunded.")})
    visit = Visit.objects.select_for_update().select_related("member").get(pk=visit.pk)
    source = Source("visit", visit.pk)
    visit_entries = list(Entry.objects.filter(kind__in=[Entry.Kind.EARN, Entry.Kind.BONUS, Entry.Kind.REDEEM],
                                              source_type="visit", source_id=str(visit.pk),
                                              account__asset=Asset.POINTS)
                         .select_related("account__member", "lot").order_by("id"))
    bonus_entries = [entry for entry in visit_entries if entry.kind == Entry.Kind.BONUS]
    holders = {visit.member_id: visit.member}
    for entry in bonus_entries:
        holder = _member_now(entry.account.member)
        holders[holder.pk] = holder
    accounts = accounts_lock(list(holders.values()))
    account = accounts[visit.member_id]
    visit_lines = {line.pk: line for line in VisitLine.objects.select_for_update().filter(visit=visit)}
    if not lines:
        raise ValidationError({"lines": _("Choose what to refund.")})
    requested: dict[int, int] = {}
    for line_id, quantity in lines:
        line = visit_lines.get(line_id)
        if line is None:
            raise ValidationError({"lines": _("That line is not part of this visit.")})
        requested[line_id] = requested.get(line_id, 0) + quantity
        if quantity < 1 or line.refunded_quantity + requested[line_id] > line.quantity:
            raise ValidationError({"lines": _("You cannot refund more of “%(name)s” than was bought.")
                                   % {"name": line.name}})

    for step in REFUND_STEPS:
        step(visit=visit, visit_lines=visit_lines, requested=requested, actor=actor, at=at)

    gross = sum((line.line_total for line in visit_lines.values()), ZERO)
    refunded_before = {pk: line.refunded_quantity for pk, line in visit_lines.items()}
    refunded_after = {pk: quantity + requested.get(pk, 0) for pk, quantity in refunded_before.items()}

    def refunded_value(refunded: dict[int, int]) -> Decimal:
        return sum((line.line_total * refunded[pk] / line.quantity for pk, line in visit_lines.items()), ZERO)

    fraction_before = refunded_value(refunded_before) / gross if gross else Decimal(0)
    fraction_after = refunded_value(refunded_after) / gross if gross else Decimal(1)
    full = all(refunded_after[pk] == line.quantity for pk, line in visit_lines.items())
    if full:
        fraction_after = Decimal(1)
    money_after = visit.total if full else cents(visit.total * fraction_after, ROUND_DOWN)
    amount = max(money_after - visit.refunded_total, ZERO)
    refund = Refund.objects.create(visit=visit, amount=amount, reason=reason.strip(), actor=actor)
    _refund_lines(refund, visit_lines, requested, amount)
    _refund_payments(refund, visit, amount)
    card_refund(refund=refund, actor=actor, at=at)

    for pk, quantity in requested.items():
        VisitLine.objects.filter(pk=pk).update(refunded_quantity=visit_lines[pk].refunded_quantity + quantity)
    Visit.objects.filter(pk=visit.pk).update(refunded_total=visit.refunded_total + amount)

    describe = _reason_with_shortfall(_("Refund: %(reason)s") % {"reason": reason.strip()})
    earn_entry = next((entry for entry in visit_entries if entry.kind == Entry.Kind.EARN), None)
    if earn_entry is not None:
        to_reverse = (_earned_owed(earn_entry.amount, visit_lines, refunded_after, fraction_after)
                      - _earned_owed(earn_entry.amount, visit_lines, refunded_before, fraction_before))
        taken, short = ledger_reverse(account=account, amount=to_reverse, source=source, actor=actor,
                                      reason=describe, at=at,
                                      first_lots=[lot_in_account(earn_entry.lot, account)])
        refund.points_reversed += taken
        refund.points_unrecovered += short

    if full:
        for entry in bonus_entries:
            holder_account = accounts[_member_now(entry.account.member).pk]
            try:
                taken, short = ledger_reverse(
                    account=holder_account, amount=entry.amount, source=source, actor=actor,
                    reason=_reason_with_shortfall(_("Refund of the qualifying visit: %(bonus)s taken back")
                                                  % {"bonus": entry.reason}),
                    at=at, first_lots=[lot_in_account(entry.lot, holder_account)],
                    dedupe_key=f"reverse:{entry.dedupe_key or entry.pk}")
            except AlreadyRecorded:
                continue
            refund.points_reversed += taken
            refund.points_unrecovered += short

    used_entry = next((entry for entry in visit_entries if entry.kind == Entry.Kind.REDEEM), None)
    if used_entry is not None:
        rules = loyalty_settings()
        give_back = _share(visit.points_used, fraction_after, 0) - _share(visit.points_used, fraction_before, 0)
        if full:
            give_back = visit.points_used
        if give_back > 0:
            restored = ledger_restore(account=account, debit=used_entry, amount=give_back, source=source,
                                      actor=actor, reason=_("Refund: points used given back"), at=at,
                                      fresh_expiry=lot_expiry(at, rules))
            refund.points_restored = restored.amount if restored is not None else 0

    refund.save(update_fields=["points_reversed", "points_unrecovered", "points_restored"])
    if full:
        for coupon in Coupon.objects.filter(redeemed_visit=visit, status=Coupon.Status.REDEEMED):
            coupon_reinstate(coupon=coupon, actor=actor)
    return refund


def _refund_lines(refund: Refund, visit_lines: dict[int, VisitLine], requested: dict[int, int],
                  amount: Decimal) -> None:
    shares = {pk: visit_lines[pk].line_total * quantity / visit_lines[pk].quantity
              for pk, quantity in requested.items()}
    share_total = sum(shares.values(), ZERO)
    left = amount
    for index, (pk, share) in enumerate(shares.items()):
        last = index == len(shares) - 1
        line_amount = left if last else cents(amount * share / share_total if share_total else ZERO)
        left -= line_amount
        RefundLine.objects.create(refund=refund, line_id=pk, quantity=requested[pk], amount=line_amount)


def _refund_payments(refund: Refund, visit: Visit, amount: Decimal) -> None:
    """Pay back by the methods the visit was paid with, largest first, never more per method
    than was paid with it."""
    by_method: dict[str, Decimal] = {}
    for method, paid in Payment.objects.filter(visit=visit).values_list("method", "amount"):
        by_method[method] = by_method.get(method, ZERO) + paid
    remaining = amount
    for method, room in sorted(by_method.items(), key=lambda item: -item[1]):
        take = min(room, remaining)
        if take > 0:
            Payment.objects.create(visit=visit, method=method, amount=-take, refund=refund)
            remaining -= take



@dataclass(frozen=True)
class CheckoutQuote(BillPrice):
    """What a bill comes to (its price), and what checking it out would award besides."""

    # (the ledger key that names it, points) for each bonus the member's own account would get,
    # in the order checkout credits them; these points are not in points_earned.
    bonuses: tuple[tuple[str, int], ...] = ()
    tier_change: str | None = None

    @property
    def bonus_points(self) -> int:
        return sum(points for _key, points in self.bonuses)


def checkout_quote(*, member: Member, lines: list[LineInput], actor: User | None, coupon_code: str = "",
                   points_to_use: int = 0, at: datetime | None = None) -> CheckoutQuote:
    """The totals, points and tier change checkout_complete would record for this bill, by the same
    pricing (`bill_price`), without taking a lock or writing a row: the member's tier, the coupon
    and the points are read as they are now. Raises the ValidationErrors checkout would raise for
    the bill itself (payments are not checked)."""
    at = at or timezone.now()
    if not member.is_active:
        raise ValidationError(_("Only an active member can check out."))
    config = clinic_config()
    rules = config.rules
    standing = tier_standing_read(member, programme=config.programme, ladder=list(config.ladder))
    coupon = _coupon_by_code(coupon_code, lock=False)
    price = bill_price(member=member, lines=lines, tier=standing.current, coupon=coupon,
                       points_to_use=points_to_use, rules=rules, at=at,
                       extra_multipliers=config.campaign_multipliers)
    if points_to_use:
        account = Account.objects.filter(member=member, asset=Asset.POINTS).first()
        available = available_balance(account, at=at) if account else 0
        if available < points_to_use:
            raise InsufficientBalance(available=available, wanted=points_to_use)
    bonuses: tuple[tuple[str, int], ...] = ()
    referrer = member.referred_by if member.referred_by and member.referred_by.is_active else None
    own = [bonus for bonus in first_visit_bonuses(member=member, referrer=referrer, rules=rules)
           if not bonus.to_referrer]
    if own and price.total > 0 and not Visit.objects.filter(member=member, total__gt=0).exists():
        recorded = set(Entry.objects.filter(dedupe_key__in=[bonus.key for bonus in own])
                       .values_list("dedupe_key", flat=True))
        bonuses = tuple((bonus.key, bonus.amount) for bonus in own if bonus.key not in recorded)
    tier_change = None
    if standing.locked:
        metrics = member_tier_metrics(member, at, programme=standing.programme)
        after = TierMetrics(metrics.spend + price.total, metrics.visits + (1 if price.total > 0 else 0))
        qualified = tier_qualified(after, programme=standing.programme, tiers=standing.ladder)
        tier_change = qualified.name if qualified.rank > standing.current.rank else None
    return CheckoutQuote(**vars(price), bonuses=bonuses, tier_change=tier_change)
