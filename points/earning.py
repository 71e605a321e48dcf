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
    # The category's multiplier when the caller has read it already (1 for none); None: look it up.
    multiplier: Decimal | None = None


@dataclass
class Earning:
    points: int = 0
    breakdown: dict = field(default_factory=dict)
    per_line: list[int] = field(default_factory=list)


def _apportion(points: int, weights: list[Decimal]) -> list[int]:
    """Split `points` over the lines in proportion to `weights`, in whole points that add up
    exactly: each line gets the floor of its share, and the points left over go one each to the
    lines with the largest remainders (the earlier line on a tie)."""
    total = sum(weights, Decimal(0))
    if points <= 0 or total <= 0:
        return [0 for _weight in weights]
    exact = [Decimal(points) * weight / total for weight in weights]
    shares = [int(value) for value in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:points - sum(shares)]:
        shares[i] += 1
    return shares


def _birthday_month(member: Member, at: datetime) -> bool:
    return bool(member.birthday) and member.birthday.month == local_date(at).month


def visit_points(*, member: Member, lines: list[EarnLine], tier_multiplier: Decimal,
                 rules: LoyaltySettings, at: datetime) -> Earning:
    """Points for what was actually paid (points used as cash earn nothing): per line, paid
    amount × base rate × category multiplier; then × tier multiplier × birthday-month
    multiplier; rounded once, capped per visit."""
    unknown = {line.category_id for line in lines if line.category_id and line.multiplier is None}
    multipliers = dict(CategoryMultiplier.objects.filter(category_id__in=unknown)
                       .values_list("category_id", "multiplier")) if unknown else {}
    per_line_base = [line.paid * rules.points_per_currency_unit * (
        line.multiplier if line.multiplier is not None else multipliers.get(line.category_id, Decimal(1)))
        for line in lines]
    base = sum(per_line_base, Decimal(0))
    birthday = rules.birthday_month_multiplier if _birthday_month(member, at) else Decimal(1)
    raw = base * tier_multiplier * birthday
    points = max(points_round(raw, rules), 0)
    capped = rules.max_points_per_visit is not None and points > rules.max_points_per_visit
    if capped:
        points = rules.max_points_per_visit
    return Earning(points=points, per_line=_apportion(points, per_line_base), breakdown={
        "base": str(base), "tier_multiplier": str(tier_multiplier),
        "birthday_multiplier": str(birthday), "capped": capped})
