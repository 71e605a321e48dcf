"""How many points a visit earns, and the bonuses around it, by the clinic's rules."""

from collections.abc import Callable
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


@dataclass(frozen=True)
class ExtraMultiplier:
    """A multiplier another app puts on the member's points at an instant (a campaign's double
    points): its label for the receipt, the multiplier, and what it came from (for the app that
    records it; the earning engine never looks inside)."""

    label: str
    multiplier: Decimal
    source: object = None


# Hooks other apps add in AppConfig.ready() (points imports none of them): each returns the
# multipliers the member holds at that instant; campaigns adds the campaign offer in force.
EXTRA_MULTIPLIERS: list[Callable[[Member, datetime], list[ExtraMultiplier]]] = []


@dataclass
class Earning:
    points: int = 0
    breakdown: dict = field(default_factory=dict)
    per_line: list[int] = field(default_factory=list)
    # The points each extra multiplier added (already inside `points`), in the hooks' order.
    extras: list[tuple[ExtraMultiplier, int]] = field(default_factory=list)


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
    multiplier × the extra multipliers in force (a campaign's); rounded once, capped per visit.
    Each extra multiplier's points are what it adds over the points without it (and without the
    ones after it), both rounded and capped the same way, so they add up to the visit's points."""
    unknown = {line.category_id for line in lines if line.category_id and line.multiplier is None}
    multipliers = dict(CategoryMultiplier.objects.filter(category_id__in=unknown)
                       .values_list("category_id", "multiplier")) if unknown else {}
    per_line_base = [line.paid * rules.points_per_currency_unit * (
        line.multiplier if line.multiplier is not None else multipliers.get(line.category_id, Decimal(1)))
        for line in lines]
    base = sum(per_line_base, Decimal(0))
    birthday = rules.birthday_month_multiplier if _birthday_month(member, at) else Decimal(1)
    raw = base * tier_multiplier * birthday

    def rounded(value: Decimal) -> tuple[int, bool]:
        points = max(points_round(value, rules), 0)
        if rules.max_points_per_visit is not None and points > rules.max_points_per_visit:
            return rules.max_points_per_visit, True
        return points, False

    points, capped = rounded(raw)
    extras = []
    if base > 0:
        for extra in (extra for hook in EXTRA_MULTIPLIERS for extra in hook(member, at)):
            raw *= extra.multiplier
            before = points
            points, capped = rounded(raw)
            extras.append((extra, points - before))
    return Earning(points=points, per_line=_apportion(points, per_line_base), extras=extras, breakdown={
        "base": str(base), "tier_multiplier": str(tier_multiplier),
        "birthday_multiplier": str(birthday), "capped": capped,
        "extra_multipliers": [str(extra.multiplier) for extra, _points in extras]})
