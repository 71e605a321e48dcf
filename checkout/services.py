"""Checkout and refunds: the one place where a visit, its payments, points, coupon and tier
move together, in one transaction."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from members.models import Member
from points.coupons import CouponLine, coupon_code_normalize, coupon_consume, coupon_discount_for, coupon_reinstate
from points.earning import EarnLine, visit_points
from points.ledger import (
    AlreadyRecorded,
    Source,
    accounts_lock,
    ledger_credit,
    ledger_debit,
    ledger_restore,
    ledger_reverse,
    lot_in_account,
)
from points.models import Account, Asset, Coupon, Entry
from points.rules import lot_available_from, lot_expiry, loyalty_settings
from storedvalue.rules import stored_value_settings
from storedvalue.services import card_charge, card_refund
from tiers.config import clinic_config
from tiers.models import TierChange
from tiers.services import tier_standing_lock, tier_upgrade_check
from visits.models import ZERO, CatalogueItem, Payment, Refund, RefundLine, Visit, VisitLine

CENT = Decimal("0.01")


@dataclass(frozen=True)
class LineInput:
    item_id: int
    quantity: int = 1
    unit_price: Decimal | None = None
    discount: Decimal = ZERO
    package_id: int | None = None  # covered by a session of the member's package (a product id)


@dataclass(frozen=True)
class PaymentInput:
    method: str
    amount: Decimal


@dataclass
class CheckoutResult:
    visit: Visit
    lines: list[VisitLine] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    points_earned: int = 0
    bonuses: dict[str, int] = field(default_factory=dict)
    tier_change: TierChange | None = None


def _cents(value: Decimal, rounding=ROUND_HALF_UP) -> Decimal:
    return value.quantize(CENT, rounding=rounding)


def _build_lines(lines: list[LineInput]) -> list[VisitLine]:
    if not lines:
        raise ValidationError({"lines": _("Add at least one treatment or product.")})
    items = (CatalogueItem.objects.annotate(points_multiplier=F("category__points_multiplier__multiplier"))
             .in_bulk({line.item_id for line in lines}))
    built = []
    for index, line in enumerate(lines, start=1):
        item = items.get(line.item_id)
        if item is None or not item.active:
            raise ValidationError({"lines": _("Line %(n)s: this item is not in the catalogue.") % {"n": index}})
        if line.quantity < 1:
            raise ValidationError({"lines": _("Line %(n)s: the quantity must be at least 1.") % {"n": index}})
        unit_price = _unit_price(item, line)
        if unit_price < 0 or line.discount < 0:
            raise ValidationError({"lines": _("Line %(n)s: prices and discounts cannot be negative.") % {"n": index}})
        gross = unit_price * line.quantity
        if line.discount > gross:
            raise ValidationError({"lines": _("Line %(n)s: the discount is larger than the line.") % {"n": index}})
        built.append(VisitLine(item=item, name=item.name, category_id=item.category_id,
                               quantity=line.quantity, unit_price=unit_price, discount=line.discount,
                               line_total=gross - line.discount))
    return built


def _unit_price(item: CatalogueItem, line: LineInput) -> Decimal:
    """A line covered by a package session has nothing to pay; packages.checkout_steps records
    the session and its value."""
    if line.package_id is not None:
        return ZERO
    return item.price if line.unit_price is None else line.unit_price


# Steps other apps add in AppConfig.ready(), run inside the checkout's or the refund's transaction
# (after the checkout's points accounts are locked): packages sells and uses sessions.
CHECKOUT_STEPS: list[Callable[..., None]] = []  # (member, visit, lines, visit_lines, actor, at)
REFUND_STEPS: list[Callable[..., None]] = []  # (visit, visit_lines, requested, actor, at)


def _multiplier(line: VisitLine) -> Decimal:
    """The points multiplier of the line's category, read with the catalogue item (1 for none)."""
    multiplier = line.item.points_multiplier
    return Decimal(1) if multiplier is None else multiplier


def _points_cash(points_to_use: int, due: Decimal, rules) -> Decimal:
    if points_to_use < 0:
        raise ValidationError({"points_to_use": _("Points to use cannot be negative.")})
    if points_to_use == 0:
        return ZERO
    cents = Decimal(points_to_use * 100) / rules.points_per_cash_unit
    if cents != cents.to_integral_value():
        step = rules.points_per_cash_unit // math.gcd(rules.points_per_cash_unit, 100)
        raise ValidationError({"points_to_use": _("Use a multiple of %(step)s points.") % {"step": step}})
    cash = cents / 100
    limit = _cents(due * rules.max_points_share_percent / 100, ROUND_DOWN)
    if cash > limit:
        raise ValidationError({"points_to_use": _(
            "Points may pay at most %(percent)s%% of this bill (%(limit)s).")
            % {"percent": rules.max_points_share_percent, "limit": limit}})
    return _cents(cash)


def _check_payments(payments: list[PaymentInput], total: Decimal) -> None:
    if any(payment.amount <= 0 for payment in payments):
        raise ValidationError({"payments": _("Each payment must be more than zero.")})
    if any(payment.method not in Payment.Method.values for payment in payments):
        raise ValidationError({"payments": _("Unknown payment method.")})
    paid = sum((payment.amount for payment in payments), ZERO)
    if paid != total:
        raise ValidationError({"payments": _("Payments add up to %(paid)s but the bill is %(total)s.")
                               % {"paid": paid, "total": total}})


def _paid_per_line(lines: list[VisitLine], total: Decimal) -> list[Decimal]:
    gross = sum((line.line_total for line in lines), ZERO)
    if gross == 0:
        return [ZERO for _line in lines]
    return [total * line.line_total / gross for line in lines]


def _is_first_paid_visit(member: Member, visit: Visit) -> bool:
    return not Visit.objects.filter(member=member, total__gt=0).exclude(pk=visit.pk).exists()


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
    accounts = accounts_lock([m for m in (member, referrer) if m])
    account = accounts[member.pk]

    visit_lines = _build_lines(lines)
    subtotal = sum((line.unit_price * line.quantity for line in visit_lines), ZERO)
    line_discount = sum((line.discount for line in visit_lines), ZERO)
    standing = tier_standing_lock(member, programme=config.programme, ladder=list(config.ladder))
    tier = standing.current
    tier_discount = _cents((subtotal - line_discount) * tier.discount_percent / 100)
    due = subtotal - line_discount - tier_discount

    coupon = None
    coupon_discount = ZERO
    if coupon_code_normalize(coupon_code):
        coupon = Coupon.objects.select_for_update().filter(code=coupon_code_normalize(coupon_code)).first()
        if coupon is None:
            raise ValidationError({"coupon_code": _("No coupon has this code.")})
        coupon_lines = [CouponLine(category_id=line.category_id, item_id=line.item_id,
                                   line_total=line.line_total, quantity=line.quantity) for line in visit_lines]
        coupon_discount = min(coupon_discount_for(coupon=coupon, member=member, lines=coupon_lines, at=at), due)
        due -= coupon_discount

    points_discount = _points_cash(points_to_use, due, rules)
    total = due - points_discount
    if payments is not None:
        _check_payments(payments, total)
    card_paid = sum((p.amount for p in payments or () if p.method == Payment.Method.STORED_VALUE), ZERO)
    earning_total = total - card_paid if card_paid and not stored_value_settings().spend_earns_points else total
    earn_lines = [EarnLine(category_id=line.category_id, paid=paid, multiplier=_multiplier(line))
                  for line, paid in zip(visit_lines, _paid_per_line(visit_lines, earning_total), strict=True)]
    earning = visit_points(member=member, lines=earn_lines, tier_multiplier=tier.earn_multiplier,
                           rules=rules, at=at)
    for line, points in zip(visit_lines, earning.per_line, strict=True):
        line.points_earned = points

    visit = Visit.objects.create(
        member=member, visited_at=at, staff=actor, subtotal=subtotal, line_discount=line_discount,
        tier_discount=tier_discount, coupon_discount=coupon_discount, points_used=points_to_use,
        points_discount=points_discount, total=total, external_ref=external_ref)
    for line in visit_lines:
        line.visit = visit
    VisitLine.objects.bulk_create(visit_lines)
    visit_payments = Payment.objects.bulk_create(
        Payment(visit=visit, method=p.method, amount=p.amount) for p in payments or ())
    for step in CHECKOUT_STEPS:
        step(member=member, visit=visit, lines=lines, visit_lines=visit_lines, actor=actor, at=at)
    for payment in visit_payments:
        if payment.method == Payment.Method.STORED_VALUE:
            card_charge(visit=visit, payment=payment, actor=actor, at=at)

    if points_to_use:
        ledger_debit(account=account, amount=points_to_use, kind=Entry.Kind.REDEEM,
                     source=Source("visit", visit.pk), actor=actor,
                     reason=_("Used as cash at checkout"), at=at)
    if coupon is not None:
        coupon_consume(coupon=coupon, visit=visit, discount=coupon_discount, at=at)

    result = CheckoutResult(visit=visit, lines=visit_lines, payments=visit_payments)
    if earning.points:
        ledger_credit(account=account, amount=earning.points, kind=Entry.Kind.EARN,
                      source=Source("visit", visit.pk), actor=actor, reason=_("Visit"),
                      dedupe_key=f"earn:visit:{visit.pk}", key_unused=True, at=at,
                      available_from=lot_available_from(at, rules), expires_at=lot_expiry(at, rules))
        result.points_earned = earning.points

    bonuses_possible = rules.first_visit_bonus or (
        referrer is not None and (rules.referral_bonus_referee or rules.referral_bonus_referrer))
    if bonuses_possible and total > 0 and _is_first_paid_visit(member, visit):
        result.bonuses["first_visit"] = _credit_bonus(
            account, amount=rules.first_visit_bonus, key=f"first-visit:{member.pk}",
            reason=_("First-visit bonus"), visit=visit, actor=actor, at=at, rules=rules)
        if referrer is not None:
            result.bonuses["referral"] = _credit_bonus(
                account, amount=rules.referral_bonus_referee, key=f"referral:referee:{member.pk}",
                reason=_("Welcome bonus for being referred"), visit=visit, actor=actor, at=at, rules=rules)
            result.bonuses["referrer"] = _credit_bonus(
                accounts[referrer.pk], amount=rules.referral_bonus_referrer,
                key=f"referral:referrer-of:{member.pk}",
                reason=_("Referral bonus for %(name)s's first visit") % {"name": member.name},
                visit=visit, actor=actor, at=at, rules=rules)

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
    money_after = visit.total if full else _cents(visit.total * fraction_after, ROUND_DOWN)
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
        line_amount = left if last else _cents(amount * share / share_total if share_total else ZERO)
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
class CheckoutQuote:
    """What a bill comes to, and what checking it out would award."""

    subtotal: Decimal
    line_discount: Decimal
    tier_discount: Decimal
    coupon_discount: Decimal
    points_discount: Decimal
    total: Decimal
    points_earned: int
    bonus_points: int
    tier_change: str | None


class _QuoteReady(Exception):
    def __init__(self, quote: CheckoutQuote):
        self.quote = quote


def checkout_quote(*, member: Member, lines: list[LineInput], actor: User | None, coupon_code: str = "",
                   points_to_use: int = 0, at: datetime | None = None) -> CheckoutQuote:
    """The totals, points and tier change checkout_complete would record for this bill, without
    recording anything: the real checkout runs in a savepoint that is always rolled back, so the
    figures follow exactly the same rules. Raises the ValidationErrors checkout would raise for
    the bill itself (payments are not checked)."""
    try:
        with transaction.atomic():
            result = _checkout_record(member=member, lines=lines, payments=None, actor=actor,
                                      coupon_code=coupon_code, points_to_use=points_to_use, at=at)
            visit, change = result.visit, result.tier_change
            raise _QuoteReady(CheckoutQuote(
                subtotal=visit.subtotal, line_discount=visit.line_discount, tier_discount=visit.tier_discount,
                coupon_discount=visit.coupon_discount, points_discount=visit.points_discount, total=visit.total,
                points_earned=result.points_earned,
                bonus_points=sum(points for kind, points in result.bonuses.items() if kind != "referrer"),
                tier_change=change.to_tier.name if change else None))
    except _QuoteReady as ready:
        return ready.quote
