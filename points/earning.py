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
    # The category's name, for the receipt's line of its multiplier ("" when not read).
    category_name: str = ""


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


@dataclass(frozen=True)
class EarnPart:
    """What one multiplier of the clinic's rules added to a visit's points (already inside them):
    `kind` is "category" (with the category's `name` and `key`, its id), "tier" (with the tier's
    name) or "birthday". Shown on the quote and the receipt as a line of its own."""

    kind: str
    multiplier: Decimal
    points: int
    name: str = ""
    key: str = ""

    def as_record(self) -> dict:
        return {"kind": self.kind, "key": self.key, "name": self.name, "multiplier": str(self.multiplier),
                "points": self.points}


@dataclass
class Earning:
    points: int = 0
    breakdown: dict = field(default_factory=dict)
    per_line: list[int] = field(default_factory=list)
    # The points each extra multiplier added (already inside `points`), in the hooks' order.
    extras: list[tuple[ExtraMultiplier, int]] = field(default_factory=list)
    # The points each multiplier of the rules added (category, tier, birthday month), in that
    # order; the points without any multiplier are `points` less these and the extras.
    parts: list[EarnPart] = field(default_factory=list)


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
                 rules: LoyaltySettings, at: datetime, tier_name: str = "", ask_extras: bool = True) -> Earning:
    """Points for what was actually paid (points used as cash earn nothing): per line, paid
    amount × base rate × category multiplier; then × tier multiplier × birthday-month
    multiplier × the extra multipliers in force (a campaign's); rounded once, capped per visit.
    Each multiplier's points (`parts`: each category's, the tier's, the birthday month's; then the
    extras) are what it adds over the points without it and without the ones after it, both
    rounded and capped the same way, so they add up to the visit's points. `ask_extras` False: the
    caller knows no extra multiplier can be in force (no campaign has one), so none is asked."""
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
    parts = _parts(lines, per_line_base, multipliers, rules=rules, rounded=rounded, base=base,
                   tier=(tier_multiplier, tier_name), birthday=birthday)
    extras = []
    if base > 0 and ask_extras:
        for extra in (extra for hook in EXTRA_MULTIPLIERS for extra in hook(member, at)):
            raw *= extra.multiplier
            before = points
            points, capped = rounded(raw)
            extras.append((extra, points - before))
    return Earning(points=points, per_line=_apportion(points, per_line_base), extras=extras, parts=parts, breakdown={
        "base": str(base), "tier_multiplier": str(tier_multiplier),
        "birthday_multiplier": str(birthday), "capped": capped,
        "extra_multipliers": [str(extra.multiplier) for extra, _points in extras]})


def _parts(lines: list[EarnLine], per_line_base: list[Decimal], multipliers: dict, *, rules: LoyaltySettings,
           rounded, base: Decimal, tier: tuple[Decimal, str], birthday: Decimal) -> list[EarnPart]:
    """The points each multiplier of the rules adds, one after the other: the categories' (in the
    order of the bill), then the tier's, then the birthday month's."""
    steps: list[tuple[str, Decimal, str, str, Decimal]] = []
    order: dict[int, tuple[Decimal, str]] = {}
    for line in lines:
        multiplier = line.multiplier if line.multiplier is not None else multipliers.get(line.category_id, Decimal(1))
        if line.category_id and multiplier != 1 and line.category_id not in order:
            order[line.category_id] = (multiplier, line.category_name)
    plain = [line.paid * rules.points_per_currency_unit for line in lines]
    included: set[int] = set()
    for category_id, (multiplier, name) in order.items():
        included.add(category_id)
        if len(included) == len(order):
            raw = base  # the same sum as the visit's, so the parts add up to its points exactly
        else:
            raw = sum((full if line.category_id in included else simple
                       for line, full, simple in zip(lines, per_line_base, plain, strict=True)), Decimal(0))
        steps.append(("category", multiplier, name, str(category_id), raw))
    tier_multiplier, tier_name = tier
    if tier_multiplier != 1:
        steps.append(("tier", tier_multiplier, tier_name, "", base * tier_multiplier))
    if birthday != 1:
        steps.append(("birthday", birthday, "", "", base * tier_multiplier * birthday))
    if not steps:
        return []
    before, _capped = rounded(sum(plain, Decimal(0)))
    parts = []
    for kind, multiplier, name, key, raw in steps:
        after, _capped = rounded(raw)
        parts.append(EarnPart(kind=kind, multiplier=multiplier, points=after - before, name=name, key=key))
        before = after
    return parts
