"""The one pricing of a bill, for the quote and for checkout: lines, the tier's discount, the
coupon, points as cash, the total and the points each line earns. It reads the catalogue and the
rules it is given and writes nothing, so what is quoted is what is charged: checkout calls it with
the tier and coupon it has locked, the quote with the ones it reads."""

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils.translation import gettext as _

from members.models import Member
from points.coupons import CouponLine, coupon_discount_for
from points.earning import EarnLine, visit_points
from points.models import Coupon
from tiers.models import Tier
from visits.models import ZERO, CatalogueItem, VisitLine

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
    """A payment; `amount` None pays the rest of the bill (at most one such payment)."""

    method: str
    amount: Decimal | None


@dataclass(frozen=True)
class BillPrice:
    lines: list[VisitLine]  # unsaved, with points_earned
    subtotal: Decimal
    line_discount: Decimal
    tier_discount: Decimal
    coupon_discount: Decimal
    points_discount: Decimal
    total: Decimal
    points_earned: int
    # (ExtraMultiplier, points it added) for each extra multiplier in force (a campaign's double
    # points); these points are inside points_earned and the lines' points.
    extra_points: tuple = ()
    # points.earning.EarnPart for each multiplier of the rules that added points (category, tier,
    # birthday month), inside points_earned too.
    points_parts: tuple = ()


def cents(value: Decimal, rounding=ROUND_HALF_UP) -> Decimal:
    return value.quantize(CENT, rounding=rounding)


def _unit_price(item: CatalogueItem, line: LineInput) -> Decimal:
    """A line covered by a package session has nothing to pay; the packages app's checkout step
    records the session and its value."""
    if line.package_id is not None:
        return ZERO
    return item.price if line.unit_price is None else line.unit_price


def bill_lines(lines: list[LineInput]) -> list[VisitLine]:
    if not lines:
        raise ValidationError({"lines": _("Add at least one treatment or product.")})
    # package_product_id: the package product the item sells (packages' checkout step reads it).
    items = (CatalogueItem.objects.annotate(points_multiplier=F("category__points_multiplier__multiplier"),
                                            category_name=F("category__name"), package_product_id=F("package__id"))
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


def _multiplier(line: VisitLine) -> Decimal:
    """The points multiplier of the line's category, read with the catalogue item (1 for none)."""
    multiplier = line.item.points_multiplier
    return Decimal(1) if multiplier is None else multiplier


def points_cash(points_to_use: int, due: Decimal, rules) -> Decimal:
    if points_to_use < 0:
        raise ValidationError({"points_to_use": _("Points to use cannot be negative.")})
    if points_to_use == 0:
        return ZERO
    amount = Decimal(points_to_use * 100) / rules.points_per_cash_unit
    if amount != amount.to_integral_value():
        step = rules.points_per_cash_unit // math.gcd(rules.points_per_cash_unit, 100)
        raise ValidationError({"points_to_use": _("Use a multiple of %(step)s points.") % {"step": step}})
    cash = amount / 100
    limit = cents(due * rules.max_points_share_percent / 100, ROUND_DOWN)
    if cash > limit:
        raise ValidationError({"points_to_use": _(
            "Points may pay at most %(percent)s%% of this bill (%(limit)s).")
            % {"percent": rules.max_points_share_percent, "limit": limit}})
    return cents(cash)


def paid_per_line(lines: list[VisitLine], total: Decimal) -> list[Decimal]:
    gross = sum((line.line_total for line in lines), ZERO)
    if gross == 0:
        return [ZERO for _line in lines]
    return [total * line.line_total / gross for line in lines]


def bill_price(*, member: Member, lines: list[LineInput], tier: Tier, coupon: Coupon | None, points_to_use: int,
               rules, at: datetime, unearned: Decimal = ZERO, extra_multipliers: bool = True) -> BillPrice:
    """Price a bill for `member` in `tier` with `coupon` (already found by its code) and
    `points_to_use` as cash; `unearned` is the part of the total paid in a way that earns no
    points (stored value, when the clinic says card spend does not earn); `extra_multipliers`
    False when no campaign has a points multiplier (`ClinicConfig.campaign_multipliers`). Raises
    the bill's ValidationErrors; writes nothing."""
    visit_lines = bill_lines(lines)
    subtotal = sum((line.unit_price * line.quantity for line in visit_lines), ZERO)
    line_discount = sum((line.discount for line in visit_lines), ZERO)
    tier_discount = cents((subtotal - line_discount) * tier.discount_percent / 100)
    due = subtotal - line_discount - tier_discount
    coupon_discount = ZERO
    if coupon is not None:
        coupon_lines = [CouponLine(category_id=line.category_id, item_id=line.item_id,
                                   line_total=line.line_total, quantity=line.quantity) for line in visit_lines]
        coupon_discount = min(coupon_discount_for(coupon=coupon, member=member, lines=coupon_lines, at=at), due)
        due -= coupon_discount
    points_discount = points_cash(points_to_use, due, rules)
    total = due - points_discount
    earn_lines = [EarnLine(category_id=line.category_id, paid=paid, multiplier=_multiplier(line),
                           category_name=getattr(line.item, "category_name", None) or "")
                  for line, paid in zip(visit_lines, paid_per_line(visit_lines, total - unearned), strict=True)]
    earning = visit_points(member=member, lines=earn_lines, tier_multiplier=tier.earn_multiplier, rules=rules, at=at,
                           tier_name=tier.name, ask_extras=extra_multipliers)
    for line, points in zip(visit_lines, earning.per_line, strict=True):
        line.points_earned = points
    return BillPrice(lines=visit_lines, subtotal=subtotal, line_discount=line_discount, tier_discount=tier_discount,
                     coupon_discount=coupon_discount, points_discount=points_discount, total=total,
                     points_earned=earning.points, extra_points=tuple(earning.extras),
                     points_parts=tuple(part for part in earning.parts if part.points))


def payments_complete(payments: list[PaymentInput], total: Decimal) -> list[PaymentInput]:
    """The payments with the one left empty ("pay the rest") filled in with what the others leave
    of `total` (dropped when nothing is left)."""
    rest = [payment for payment in payments if payment.amount is None]
    if len(rest) > 1:
        raise ValidationError({"payments": _("Only one payment may be left empty to pay the rest.")})
    paid = [payment for payment in payments if payment.amount is not None]
    if rest:
        left = total - sum((payment.amount for payment in paid), ZERO)
        if left > 0:
            paid.append(PaymentInput(method=rest[0].method, amount=left))
    return paid
