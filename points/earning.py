"""How many points a visit earns, and the bonuses around it, by the clinic's rules."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from members.models import Member
from points.models import CategoryMultiplier, LoyaltySettings
from points.rules import local_date, points_round


@dataclass(frozen=True)
class EarnLine:
    category_id: int | None
    paid: Decimal


@dataclass
class Earning:
    points: int = 0
    breakdown: dict = field(default_factory=dict)


def _birthday_month(member: Member, at: datetime) -> bool:
    return bool(member.birthday) and member.birthday.month == local_date(at).month


def visit_points(*, member: Member, lines: list[EarnLine], tier_multiplier: Decimal,
                 rules: LoyaltySettings, at: datetime) -> Earning:
    """Points for what was actually paid (points used as cash earn nothing): per line, paid
    amount × base rate × category multiplier; then × tier multiplier × birthday-month
    multiplier; rounded once, capped per visit."""
    multipliers = dict(CategoryMultiplier.objects.filter(
        category_id__in={line.category_id for line in lines if line.category_id})
        .values_list("category_id", "multiplier"))
    base = sum((line.paid * rules.points_per_currency_unit * multipliers.get(line.category_id, Decimal(1))
                for line in lines), Decimal(0))
    birthday = rules.birthday_month_multiplier if _birthday_month(member, at) else Decimal(1)
    raw = base * tier_multiplier * birthday
    points = max(points_round(raw, rules), 0)
    capped = rules.max_points_per_visit is not None and points > rules.max_points_per_visit
    if capped:
        points = rules.max_points_per_visit
    return Earning(points=points, breakdown={
        "base": str(base), "tier_multiplier": str(tier_multiplier),
        "birthday_multiplier": str(birthday), "capped": capped})
