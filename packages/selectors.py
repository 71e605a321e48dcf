"""Reads of the treatment packages: a member's purchases with their sessions and validity, the
packages a member can use at checkout, the outstanding sessions at their recognised value as of
any moment (the prepaid liability), and the period's package revenue. Sessions and values come
from the ledger itself (lots and allocations), so they reconcile with it."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Prefetch, Sum
from django.utils import timezone

from members.models import Member
from packages.models import PackageProduct, PackagePurchase, PackageRefund
from packages.valuation import value_consumed
from points.models import Entry, Lot
from points.selectors import lot_last_day
from visits.models import ZERO


def package_products(*, active_only: bool = False):
    products = (PackageProduct.objects.select_related("item", "item__category")
                .prefetch_related(Prefetch("treatments")).order_by("item__name", "pk"))
    return products.filter(item__active=True) if active_only else products


@dataclass(frozen=True)
class Holding:
    """One purchase as the member holds it now."""

    purchase: PackagePurchase
    name: str
    sessions: int
    left: int
    used: int
    expires_at: datetime | None
    last_day: date | None
    status: str  # active, not_started, used_up, expired, refunded
    value_left: Decimal

    @property
    def usable(self) -> bool:
        return self.status in ("active", "not_started") and self.left > 0


def _holding(purchase: PackagePurchase, lot: Lot, at: datetime) -> Holding:
    expired = lot.expires_at is not None and lot.expires_at <= at
    refunded = purchase.refunded_amount > 0 or any(True for _r in purchase.refunds.all())
    left = 0 if expired else lot.remaining
    if lot.remaining > 0 and expired:
        status = "expired"
    elif lot.remaining == 0 and refunded:
        status = "refunded"
    elif lot.remaining == 0:
        status = "used_up" if not expired else "expired"
    elif lot.expires_at is None and purchase.validity_start == PackageProduct.ValidityStart.FIRST_USE \
            and purchase.first_used_at is None and purchase.validity_months:
        status = "not_started"
    else:
        status = "active"
    consumed = purchase.sessions - lot.remaining
    return Holding(purchase=purchase, name=purchase.product.item.name, sessions=purchase.sessions, left=left,
                   used=consumed, expires_at=lot.expires_at,
                   last_day=lot_last_day(lot.expires_at) if lot.expires_at else None, status=status,
                   value_left=purchase.price - value_consumed(purchase.price, purchase.sessions, consumed)
                   if lot.remaining and not expired else ZERO)


def member_packages(member: Member, *, at: datetime | None = None, open_only: bool = False) -> list[Holding]:
    """The member's purchases, open ones (sessions left, soonest last day first) before closed ones."""
    at = at or timezone.now()
    purchases = list(PackagePurchase.objects.filter(member=member).select_related("product__item", "lot")
                     .prefetch_related("refunds").order_by("-purchased_at", "-id"))
    holdings = [_holding(purchase, purchase.lot, at) for purchase in purchases]
    open_ones = sorted((h for h in holdings if h.usable),
                       key=lambda h: (h.expires_at is None, h.expires_at or at, h.purchase.pk))
    if open_only:
        return open_ones
    return open_ones + [h for h in holdings if not h.usable]


@dataclass(frozen=True)
class PackageOption:
    """A package the member can use at checkout: sessions left and the treatments it covers."""

    product_id: int
    name: str
    left: int
    last_day: date | None
    treatment_ids: frozenset[int]


def member_package_options(member: Member, *, at: datetime | None = None) -> list[PackageOption]:
    options: dict[int, dict] = {}
    for holding in member_packages(member, at=at, open_only=True):
        product = holding.purchase.product
        option = options.setdefault(product.pk, {"name": holding.name, "left": 0, "last_day": holding.last_day,
                                                 "product": product})
        option["left"] += holding.left
    treatments: dict[int, set[int]] = {}
    for product_id, item_id in PackageProduct.treatments.through.objects.filter(
            packageproduct_id__in=list(options)).values_list("packageproduct_id", "catalogueitem_id"):
        treatments.setdefault(product_id, set()).add(item_id)
    return [PackageOption(product_id=pk, name=o["name"], left=o["left"], last_day=o["last_day"],
                          treatment_ids=frozenset(treatments.get(pk, ()))) for pk, o in options.items()]


# Each purchase's sessions consumed at an instant: those gone before its lot was opened (used in
# another system, or before a member merge moved the lot), plus what the ledger's entries effective
# before the instant took from the lot, less what refunds gave back into it; the outstanding ones
# at their value. Sessions past their last day count until the nightly expiry writes them off, as
# on the ledger.
_OUTSTANDING_SQL = """
WITH c AS (
    SELECT p.id, p.member_id, p.price, p.sessions,
           p.sessions - l.amount + COALESCE(SUM(CASE WHEN e.amount < 0 THEN al.amount ELSE -al.amount END)
                                            FILTER (WHERE e.effective_at < %(as_of)s), 0) AS consumed
    FROM packages_packagepurchase p
    JOIN points_lot l ON l.id = p.lot_id
    LEFT JOIN points_allocation al ON al.lot_id = l.id
    LEFT JOIN points_entry e ON e.id = al.entry_id
    WHERE p.purchased_at < %(as_of)s
    GROUP BY p.id, l.id
)
SELECT member_id, SUM(sessions - consumed)::bigint,
       SUM(price - FLOOR(ROUND(price * 100) * consumed / sessions) / 100)
FROM c WHERE consumed < sessions
GROUP BY member_id ORDER BY member_id
"""


@dataclass(frozen=True)
class MemberOutstanding:
    member_id: int
    sessions: int
    value: Decimal


@dataclass
class OutstandingSessions:
    """Package sessions not yet used, expired or refunded at `as_of`, and what they are worth
    (the deferred revenue still owed to members), per member and in total."""

    as_of: datetime
    sessions: int = 0
    value: Decimal = ZERO
    members: list[MemberOutstanding] = field(default_factory=list)


def outstanding_sessions(as_of: datetime | None = None) -> OutstandingSessions:
    """Package sessions outstanding at the instant `as_of` (default now; entries effective before
    it count): per member with sessions, and in total. A purchase's outstanding value is its
    price less floor(price × consumed / sessions), the same valuation every movement of its
    sessions uses (packages.valuation)."""
    as_of = as_of or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_OUTSTANDING_SQL, {"as_of": as_of})
        rows = cursor.fetchall()
    result = OutstandingSessions(as_of=as_of)
    for member_id, sessions, value in rows:
        value = Decimal(value).quantize(Decimal("0.01"))
        result.members.append(MemberOutstanding(member_id=member_id, sessions=int(sessions), value=value))
        result.sessions += int(sessions)
        result.value += value
    return result


# Every movement of sessions out of (or back into) a purchase's lot, with the value it
# recognised: floor(P × c_after / N) − floor(P × c_before / N) as the purchase's consumed count
# c goes up (or down, for sessions given back), in the order of the entries.
# Every movement of every purchase's sessions, with the purchase's consumed count after it (`after`).
_RUNNING = """
moves AS (
    SELECT p.id AS purchase_id, p.member_id, p.purchased_at, p.price, p.sessions,
           p.sessions - l.amount AS before_lot, e.id AS entry_id, e.kind, e.source_type, e.effective_at,
           CASE WHEN e.amount < 0 THEN al.amount ELSE -al.amount END AS taken
    FROM packages_packagepurchase p
    JOIN points_lot l ON l.id = p.lot_id
    JOIN points_allocation al ON al.lot_id = l.id
    JOIN points_entry e ON e.id = al.entry_id
),
running AS (
    SELECT *, before_lot + SUM(taken) OVER (PARTITION BY purchase_id ORDER BY entry_id) AS after
    FROM moves
)"""

_MOVEMENTS_SQL = "WITH" + _RUNNING + """
SELECT kind, source_type, SUM(taken)::bigint,
       SUM(FLOOR(ROUND(price * 100) * after / sessions) - FLOOR(ROUND(price * 100) * (after - taken) / sessions)) / 100
FROM running
WHERE effective_at >= %(lo)s AND effective_at < %(hi)s
GROUP BY kind, source_type
"""


# ---- package renewal rate (疗程卡续卡率) ------------------------------------------------------

# A member renews a package by buying another one at most this many days after theirs ran out
# (docs/kpis.md, panel 13).
PACKAGE_RENEWAL_DAYS = 60


@dataclass(frozen=True)
class PackageRenewal:
    """Members whose package ran out in a period [lo, hi) and those of them who bought another."""

    ended: int
    renewed: int
    days: int = PACKAGE_RENEWAL_DAYS

    @property
    def rate(self) -> float | None:
        return round(self.renewed / self.ended, 6) if self.ended else None


# A purchase runs out at the entry that takes its last outstanding session: the last session used
# (`redeem`) or the rest expired (`expire`); the consumed count is that of _MOVEMENTS_SQL. A
# member's first run-out in the period counts; they renewed when they bought another package at
# checkout after buying the one that ran out and at most `days` days after it ran out, and that
# sale was not refunded.
_RENEWAL_SQL = "WITH" + _RUNNING + """,
ends AS (
    SELECT DISTINCT ON (r.member_id) r.member_id, r.purchase_id, r.purchased_at, r.effective_at AS ended_at
    FROM running r JOIN members_member m ON m.id = r.member_id AND m.status <> 'merged'
    WHERE r.kind IN ('redeem', 'expire') AND r.taken > 0 AND r.after = r.sessions
      AND r.effective_at >= %(lo)s AND r.effective_at < %(hi)s
    ORDER BY r.member_id, r.effective_at, r.entry_id
)
SELECT count(*), count(*) FILTER (WHERE EXISTS (
    SELECT 1 FROM packages_packagepurchase q
    WHERE q.member_id = ends.member_id AND q.id <> ends.purchase_id AND q.source = 'checkout'
      AND q.purchased_at > ends.purchased_at AND q.purchased_at <= ends.ended_at + %(days)s * interval '1 day'
      AND NOT EXISTS (SELECT 1 FROM points_allocation qa JOIN points_entry qe ON qe.id = qa.entry_id
                      WHERE qa.lot_id = q.lot_id AND qe.kind = 'reverse' AND qe.source_type = %(sale)s)))
FROM ends
"""  # noqa: S608 - constants only


def package_renewal(*, lo: datetime, hi: datetime, days: int = PACKAGE_RENEWAL_DAYS) -> PackageRenewal:
    """Package renewal (疗程卡续卡率) of the period [lo, hi): of the members (not merged away) whose
    package ran out in it (last session used or the rest expired; a refund or a merge move is not
    running out), those who bought another package at checkout after buying the one that ran out
    and at most `days` days after it ran out (the window may run past the period's end), not
    refunded as a sale since."""
    from packages.checkout_steps import SALE_SOURCE

    with connection.cursor() as cursor:
        cursor.execute(_RENEWAL_SQL, {"lo": lo, "hi": hi, "days": days, "sale": SALE_SOURCE})
        ended, renewed = cursor.fetchone()
    return PackageRenewal(ended=ended, renewed=renewed, days=days)


@dataclass(frozen=True)
class PackageFigures:
    """The packages of a period [lo, hi): sold (money collected, deferred), sessions used and
    their recognised value, sessions expired (their value recognised as breakage), and unused
    sessions refunded (money paid back; what was not paid back of their value is recognised)."""

    sold: int
    sales: Decimal
    sessions_used: int
    used_value: Decimal
    sessions_expired: int
    expired_value: Decimal
    sessions_refunded: int
    refunded_value: Decimal
    refunded_money: Decimal

    @property
    def recognised(self) -> Decimal:
        return self.used_value + self.expired_value + self.refunded_value - self.refunded_money


def package_figures(*, lo: datetime, hi: datetime) -> PackageFigures:
    with connection.cursor() as cursor:
        cursor.execute(_MOVEMENTS_SQL, {"lo": lo, "hi": hi})
        rows = cursor.fetchall()
    sessions = {"redeem": 0, "restore": 0, "expire": 0, "reverse": 0}
    values = {key: ZERO for key in sessions}
    for kind, _source, count, value in rows:
        if kind in sessions:
            sessions[kind] += int(count)
            values[kind] += Decimal(value).quantize(Decimal("0.01"))
    sales = PackagePurchase.objects.filter(source=PackagePurchase.Source.CHECKOUT, purchased_at__gte=lo,
                                           purchased_at__lt=hi).aggregate(n=Count("id"), total=Sum("price"))
    money = PackageRefund.objects.filter(created_at__gte=lo, created_at__lt=hi).aggregate(total=Sum("amount"))
    cancelled = (PackagePurchase.objects.filter(source=PackagePurchase.Source.CHECKOUT,
                                                lot__allocations__entry__kind="reverse",
                                                lot__allocations__entry__source_type="package-sale",
                                                lot__allocations__entry__effective_at__gte=lo,
                                                lot__allocations__entry__effective_at__lt=hi)
                 .aggregate(total=Sum("price")))
    return PackageFigures(
        sold=sales["n"] or 0, sales=sales["total"] or ZERO,
        sessions_used=sessions["redeem"] + sessions["restore"], used_value=values["redeem"] + values["restore"],
        sessions_expired=sessions["expire"], expired_value=values["expire"],
        sessions_refunded=sessions["reverse"], refunded_value=values["reverse"],
        refunded_money=(money["total"] or ZERO) + (cancelled["total"] or ZERO))


@dataclass(frozen=True)
class PackageNote:
    """What a receipt line did to the member's packages: sold one, or used sessions of one."""

    line_id: int
    kind: str  # sold, used
    package: str
    sessions: int
    left: int
    last_day: date | None


def visit_package_notes(visit) -> list[PackageNote]:
    at = timezone.now()
    notes = []
    line_ids = [str(pk) for pk in visit.lines.values_list("pk", flat=True)]
    sold = {p.visit_line_id: p for p in PackagePurchase.objects.filter(visit_line__visit=visit)
            .select_related("product__item", "lot")}
    for line_id, purchase in sold.items():
        lot = purchase.lot
        notes.append(PackageNote(line_id=line_id, kind="sold", package=purchase.product.item.name,
                                 sessions=purchase.sessions, left=lot.remaining,
                                 last_day=lot_last_day(lot.expires_at) if lot.expires_at else None))
    uses = Entry.objects.filter(source_type="package-use", source_id__in=line_ids,
                                kind=Entry.Kind.REDEEM).select_related("account")
    for entry in uses:
        product = PackageProduct.objects.select_related("item").get(pk=int(entry.account.asset.split(":")[1]))
        left = (Lot.objects.filter(account=entry.account, remaining__gt=0, available_from__lte=at)
                .exclude(expires_at__lte=at).aggregate(total=Sum("remaining"))["total"] or 0)
        notes.append(PackageNote(line_id=int(entry.source_id), kind="used", package=product.item.name,
                                 sessions=-entry.amount, left=left, last_day=None))
    return sorted(notes, key=lambda note: note.line_id)


@dataclass(frozen=True)
class LiabilityMovement:
    key: str  # sold, imported, used, given_back, expired, refunded, sale_refunded
    sessions: int
    value: Decimal  # signed: what it did to the outstanding value


@dataclass(frozen=True)
class PackageLiability:
    """The outstanding package sessions at `start` and at `end`, and the movements between them
    that reconcile the two (opening + Σ movements = closing), all from the ledger."""

    opening: OutstandingSessions
    closing: OutstandingSessions
    movements: list[LiabilityMovement]

    @property
    def reconciles(self) -> bool:
        return self.opening.value + sum((m.value for m in self.movements), ZERO) == self.closing.value


_MOVEMENT_KEYS = {("redeem", "package-use"): "used", ("restore", "restore-of"): "given_back",
                  ("expire", "lot"): "expired", ("reverse", "package-refund"): "refunded",
                  ("reverse", "package-sale"): "sale_refunded"}


def package_liability(*, start: datetime, end: datetime) -> PackageLiability:
    with connection.cursor() as cursor:
        cursor.execute(_MOVEMENTS_SQL, {"lo": start, "hi": end})
        rows = cursor.fetchall()
    totals: dict[str, list] = {}
    for kind, source_type, count, value in rows:
        key = _MOVEMENT_KEYS.get((kind, source_type), f"{kind}:{source_type}")
        entry = totals.setdefault(key, [0, ZERO])
        entry[0] -= int(count)
        entry[1] -= Decimal(value).quantize(Decimal("0.01"))
    new = PackagePurchase.objects.filter(purchased_at__gte=start, purchased_at__lt=end).only(
        "source", "sessions", "sessions_used_before", "price")
    for purchase in new:
        key = "sold" if purchase.source == PackagePurchase.Source.CHECKOUT else "imported"
        entry = totals.setdefault(key, [0, ZERO])
        left = purchase.sessions - purchase.sessions_used_before
        entry[0] += left
        entry[1] += purchase.price - value_consumed(purchase.price, purchase.sessions, purchase.sessions_used_before)
    order = ["sold", "imported", "used", "given_back", "expired", "refunded", "sale_refunded"]
    movements = [LiabilityMovement(key=key, sessions=count, value=value) for key, (count, value)
                 in sorted(totals.items(), key=lambda item: (order.index(item[0]) if item[0] in order else 99,
                                                             item[0]))]
    return PackageLiability(opening=outstanding_sessions(start), closing=outstanding_sessions(end),
                            movements=movements)
