"""Reads of stored value: a member's card, the prepaid liability report, and the renewal rate."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Member
from points.models import STORED_VALUE_ASSETS, Asset, Entry, Lot
from points.rules import local_date, local_midnight
from storedvalue.models import CashOut, TopUp, TopUpPlan
from storedvalue.rules import cents, money, stored_value_settings

# ---- a member's card ------------------------------------------------------------------------


@dataclass(frozen=True)
class BonusExpiring:
    last_day: date
    amount: Decimal


@dataclass(frozen=True)
class CardBalance:
    principal: Decimal
    bonus: Decimal
    bonus_expiring: list[BonusExpiring]

    @property
    def total(self) -> Decimal:
        return self.principal + self.bonus


def card_balance(member: Member, *, at: datetime | None = None) -> CardBalance:
    """What the member can pay with now: open principal and open, unexpired bonus (bonus past its
    day that the nightly expiry has not taken yet is not counted), and when the bonus runs out."""
    at = at or timezone.now()
    lots = (Lot.objects.filter(account__member=member, account__asset__in=STORED_VALUE_ASSETS, remaining__gt=0,
                               available_from__lte=at)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at)).values_list("account__asset", "remaining",
                                                                                   "expires_at"))
    principal = bonus = 0
    expiring: dict[date, int] = {}
    for asset, remaining, expires_at in lots:
        if asset == Asset.STORED_VALUE_PRINCIPAL:
            principal += remaining
        else:
            bonus += remaining
            if expires_at is not None:
                last_day = local_date(expires_at - timedelta(microseconds=1))
                expiring[last_day] = expiring.get(last_day, 0) + remaining
    return CardBalance(principal=money(principal), bonus=money(bonus),
                       bonus_expiring=[BonusExpiring(day, money(amount)) for day, amount in sorted(expiring.items())])


@dataclass(frozen=True)
class CardLine:
    at: datetime
    kind: str
    kind_label: str
    principal: Decimal
    bonus: Decimal
    reason: str


def card_statement(member: Member, *, limit: int = 50) -> list[CardLine]:
    """The card's latest movements, newest first; a top-up's principal and bonus on one line."""
    entries = (Entry.objects.filter(account__member=member, account__asset__in=STORED_VALUE_ASSETS)
               .select_related("account").order_by("-effective_at", "-id")[:limit * 2])
    lines: dict[tuple, dict] = {}
    labels = dict(Entry.Kind.choices)
    for entry in entries:
        kind = Entry.Kind.TOPUP if entry.kind == Entry.Kind.BONUS and entry.source_type == "topup" else entry.kind
        key = (entry.effective_at, entry.source_type, entry.source_id, kind)
        line = lines.setdefault(key, {"principal": 0, "bonus": 0, "reason": entry.reason})
        line["principal" if entry.account.asset == Asset.STORED_VALUE_PRINCIPAL else "bonus"] += entry.amount
    return [CardLine(at=key[0], kind=key[3], kind_label=str(labels.get(key[3], key[3])),
                     principal=money(line["principal"]), bonus=money(line["bonus"]), reason=line["reason"])
            for key, line in list(lines.items())[:limit]]


def top_up_plans(*, active_only: bool = True) -> list[TopUpPlan]:
    plans = TopUpPlan.objects.select_related("tier")
    return list(plans.filter(active=True) if active_only else plans)


def top_ups_of(member: Member, *, limit: int = 20) -> list[TopUp]:
    return list(TopUp.objects.filter(member=member).select_related("plan", "actor")[:limit])


def cash_outs_of(member: Member) -> list[CashOut]:
    return list(CashOut.objects.filter(member=member).select_related("actor"))


# ---- prepaid liability ----------------------------------------------------------------------

@dataclass(frozen=True)
class LiabilityLine:
    key: str
    label: str
    amount: Decimal


@dataclass(frozen=True)
class LiabilitySection:
    """One kind of prepaid liability: its outstanding lines as of the day and, for the period
    before it, the movements that reconcile the opening figure with the closing one."""

    key: str
    title: str
    lines: list[LiabilityLine]
    movements: list[LiabilityLine] = field(default_factory=list)
    opening: Decimal = Decimal("0.00")

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def reconciles(self) -> bool:
        return self.opening + sum((m.amount for m in self.movements), Decimal("0.00")) == self.total


@dataclass(frozen=True)
class LiabilityReport:
    as_of: date
    since: date
    sections: list[LiabilitySection]

    @property
    def total(self) -> Decimal:
        return sum((section.total for section in self.sections), Decimal("0.00"))


# Each section is a function (since, as_of, start, end) -> LiabilitySection, where start and end
# are the clinic-local midnights opening `since` and closing `as_of`. Stored value is the first;
# treatment packages add theirs here (LIABILITY_SECTIONS.append) from their own app.
LIABILITY_SECTIONS: list[Callable[[date, date, datetime, datetime], LiabilitySection]] = []

_OUTSTANDING_SQL = """
SELECT a.asset, COALESCE(SUM(a.balance), 0)
     - COALESCE((SELECT SUM(e.amount) FROM points_entry e JOIN points_account b ON b.id = e.account_id
                 WHERE b.asset = a.asset AND e.effective_at >= %(at)s), 0)
FROM points_account a WHERE a.asset = ANY(%(assets)s) GROUP BY a.asset
"""

_MOVEMENTS_SQL = """
SELECT a.asset, e.kind, SUM(e.amount)
FROM points_entry e JOIN points_account a ON a.id = e.account_id
WHERE a.asset = ANY(%(assets)s) AND e.effective_at >= %(start)s AND e.effective_at < %(end)s
GROUP BY a.asset, e.kind
"""


def stored_value_outstanding(at: datetime) -> dict[str, int]:
    """Cents outstanding per stored-value asset at the instant `at`: today's balances less every
    entry effective from `at` on (so imported opening balances count from their original dates)."""
    assets = list(map(str, STORED_VALUE_ASSETS))
    found = dict.fromkeys(assets, 0)
    with connection.cursor() as cursor:
        cursor.execute(_OUTSTANDING_SQL, {"at": at, "assets": assets})
        found.update({asset: int(total) for asset, total in cursor.fetchall()})
    return found


def _movement_label(asset: str, kind: str) -> str:
    labels = {
        (Asset.STORED_VALUE_PRINCIPAL, Entry.Kind.TOPUP): _("Paid in (top-ups)"),
        (Asset.STORED_VALUE_BONUS, Entry.Kind.BONUS): _("Bonus granted"),
        (Asset.STORED_VALUE_PRINCIPAL, Entry.Kind.PAYMENT): _("Paid-in balance spent at checkout"),
        (Asset.STORED_VALUE_BONUS, Entry.Kind.PAYMENT): _("Bonus spent at checkout"),
        (Asset.STORED_VALUE_PRINCIPAL, Entry.Kind.RESTORE): _("Paid-in balance given back by refunds"),
        (Asset.STORED_VALUE_BONUS, Entry.Kind.RESTORE): _("Bonus given back by refunds"),
        (Asset.STORED_VALUE_BONUS, Entry.Kind.EXPIRE): _("Bonus expired"),
        (Asset.STORED_VALUE_PRINCIPAL, Entry.Kind.CASH_OUT): _("Cashed out"),
        (Asset.STORED_VALUE_BONUS, Entry.Kind.FORFEIT): _("Bonus forfeited at cash-out"),
        (Asset.STORED_VALUE_PRINCIPAL, Entry.Kind.OPENING): _("Paid-in balances imported"),
        (Asset.STORED_VALUE_BONUS, Entry.Kind.OPENING): _("Bonus balances imported"),
    }
    found = labels.get((asset, kind))
    if found is not None:
        return str(found)
    return f"{Asset(asset).label}: {Entry.Kind(kind).label}"


def stored_value_section(since: date, as_of: date, start: datetime, end: datetime) -> LiabilitySection:
    closing = stored_value_outstanding(end)
    opening = stored_value_outstanding(start)
    assets = list(map(str, STORED_VALUE_ASSETS))
    with connection.cursor() as cursor:
        cursor.execute(_MOVEMENTS_SQL, {"start": start, "end": end, "assets": assets})
        rows = sorted(cursor.fetchall(), key=lambda row: (assets.index(row[0]), row[1]))
    return LiabilitySection(
        key="stored_value", title=_("Stored value (储值卡)"),
        lines=[LiabilityLine("principal", _("Paid-in balances (principal)"),
                             money(closing[Asset.STORED_VALUE_PRINCIPAL])),
               LiabilityLine("bonus", _("Bonus balances"), money(closing[Asset.STORED_VALUE_BONUS]))],
        opening=money(sum(opening.values())),
        movements=[LiabilityLine(f"{asset}:{kind}", _movement_label(asset, kind), money(int(total)))
                   for asset, kind, total in rows])


LIABILITY_SECTIONS.append(stored_value_section)


def liability_report(*, as_of: date, since: date | None = None) -> LiabilityReport:
    """Prepaid money the clinic owes its members at the end of the clinic-local day `as_of`, per
    section, with each section's movements from the start of `since` (default: the first of
    as_of's month) so that opening + movements = closing can be checked against the ledger."""
    since = since or as_of.replace(day=1)
    start, end = local_midnight(since), local_midnight(as_of + timedelta(days=1))
    return LiabilityReport(as_of=as_of, since=since,
                           sections=[section(since, as_of, start, end) for section in LIABILITY_SECTIONS])


# ---- renewal rate (续费率) -------------------------------------------------------------------

@dataclass(frozen=True)
class RenewalRate:
    fell_below: int
    renewed: int
    threshold: Decimal
    days: int

    @property
    def rate(self) -> float | None:
        return round(self.renewed / self.fell_below, 6) if self.fell_below else None


_RENEWAL_SQL = """
WITH running AS (
    SELECT a.member_id, e.effective_at, e.kind, e.amount,
           SUM(e.amount) OVER (PARTITION BY a.member_id ORDER BY e.effective_at, e.id) AS after
    FROM points_entry e JOIN points_account a ON a.id = e.account_id
    WHERE a.asset = ANY(%(assets)s) AND e.effective_at < %(end)s
),
fell AS (
    SELECT member_id, MIN(effective_at) AS fell_at FROM running
    WHERE effective_at >= %(start)s AND after < %(threshold)s AND after - amount >= %(threshold)s
      AND kind NOT IN ('cash_out', 'forfeit', 'transfer')
    GROUP BY member_id
)
SELECT COUNT(*),
       COUNT(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM storedvalue_topup t
           WHERE t.member_id = f.member_id AND t.at > f.fell_at AND t.at <= f.fell_at + %(window)s))
FROM fell f JOIN members_member m ON m.id = f.member_id AND m.status <> 'merged'
"""


def renewal_rate(*, start: datetime, end: datetime, threshold: Decimal | None = None,
                 days: int | None = None) -> RenewalRate:
    """Of the members whose card balance (principal + bonus) fell below the threshold during
    [start, end) — by paying, by bonus expiring, not by cashing out — the share who topped up
    within `days` days after the first such fall. Defaults: the clinic's settings."""
    config = stored_value_settings()
    threshold = config.renewal_threshold if threshold is None else threshold
    days = config.renewal_days if days is None else days
    with connection.cursor() as cursor:
        cursor.execute(_RENEWAL_SQL, {"assets": list(map(str, STORED_VALUE_ASSETS)), "start": start, "end": end,
                                      "threshold": cents(threshold), "window": timedelta(days=days)})
        fell, renewed = cursor.fetchone()
    return RenewalRate(fell_below=fell, renewed=renewed, threshold=threshold, days=days)


@dataclass(frozen=True)
class StoredValueFigures:
    """Insights panel 13: money paid in and spent in the period, liability at its end, renewal."""

    topped_up: Decimal
    bonus_granted: Decimal
    spent: Decimal
    outstanding_principal: Decimal
    outstanding_bonus: Decimal
    renewal: RenewalRate

    @property
    def outstanding(self) -> Decimal:
        return self.outstanding_principal + self.outstanding_bonus


def stored_value_figures(*, start: datetime, end: datetime) -> StoredValueFigures:
    """Top-ups (paid in, imports not counted), bonus granted, spent at checkout net of refunds,
    outstanding at `end`, and the renewal rate of [start, end)."""
    assets = list(map(str, STORED_VALUE_ASSETS))
    with connection.cursor() as cursor:
        cursor.execute(_MOVEMENTS_SQL, {"start": start, "end": end, "assets": assets})
        moved = {(asset, kind): int(total) for asset, kind, total in cursor.fetchall()}
    spent = -sum(moved.get((asset, kind), 0) for asset in assets for kind in (Entry.Kind.PAYMENT, Entry.Kind.RESTORE))
    closing = stored_value_outstanding(end)
    return StoredValueFigures(
        topped_up=money(moved.get((Asset.STORED_VALUE_PRINCIPAL, Entry.Kind.TOPUP), 0)),
        bonus_granted=money(moved.get((Asset.STORED_VALUE_BONUS, Entry.Kind.BONUS), 0)),
        spent=money(spent), outstanding_principal=money(closing[Asset.STORED_VALUE_PRINCIPAL]),
        outstanding_bonus=money(closing[Asset.STORED_VALUE_BONUS]),
        renewal=renewal_rate(start=start, end=end))

