"""Opening point balances from another system. Each row becomes an opening entry and a lot
that keep the points' original earning date and expiry, written in bulk under the accounts'
locks with the same bookkeeping as points.ledger.ledger_credit (the database checks the
balance chain and the balance cache at commit). Each row is credited once, however often
the file is imported."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection
from django.utils.translation import gettext as _

from accounts.models import User
from imports.bulk import ids_allocate, rows_copy
from imports.member_lookup import MEMBER_COLUMNS, MemberDirectory, PhoneBook, member_key_read
from imports.models import ImportRun
from imports.reading import (
    NOON,
    CellError,
    Columns,
    Row,
    RowCells,
    RowError,
    date_of,
    lines_text,
    whole_number_of,
)
from points.models import Account, Asset, Entry, Lot, LoyaltySettings
from points.rules import clinic_zone, local_date, local_midnight, lot_expiry, loyalty_settings

BATCH_SIZE = 2000
MAX_POINTS = 1_000_000_000
NEVER = {"never", "永不", "永久", "不过期"}
COLUMNS = Columns(
    required=("points", "earned_at"),
    any_of=(MEMBER_COLUMNS,),
    optional=("expires_at", "note", "external_ref"),
)


@dataclass
class _LotRow:
    cells: RowCells
    member_id: int | None
    points: int | None
    earned_at: datetime | None
    expires_at: datetime | None
    note: str
    external_ref: str
    dedupe_key: str = ""
    imported_before: bool = False


def _expiry(cells: RowCells, *, earned_at: datetime | None, now: datetime,
            rules: LoyaltySettings) -> tuple[datetime | None, str]:
    """When the lot expires and how that is written in its dedupe key. Empty: the clinic's
    expiry policy from the earning date; "never": no expiry; a date: the last day the points
    can be used (they expire at the end of it)."""
    raw = cells.raw("expires_at")
    if raw.lower() in NEVER:
        return None, "never"
    if not raw:
        expires_at = lot_expiry(earned_at, rules) if earned_at else None
        marker = "policy"
    else:
        last_day = cells.get("expires_at", date_of)
        if last_day is None:
            return None, ""
        expires_at = local_midnight(last_day + timedelta(days=1))
        marker = last_day.isoformat()
        if earned_at is not None and expires_at <= earned_at:
            cells.error("expires_at", _("The points cannot expire before they were earned."))
            return expires_at, marker
    if expires_at is not None and expires_at <= now:
        last_day = local_date(expires_at - timedelta(days=1))
        cells.error("expires_at", _("These points expired on %(date)s; expired points are not imported.")
                    % {"date": last_day.isoformat()})
    return expires_at, marker


def _earned_at(raw: str, *, today: date) -> datetime:
    day = date_of(raw)
    if day > today:
        raise CellError(_("The earning date cannot be in the future."))
    return datetime.combine(day, NOON, tzinfo=clinic_zone())


def _dedupe_keys(rows: list[_LotRow], markers: dict[int, str]) -> None:
    """`import:opening:ref:<external_ref>` when the old system gave the lot an id; otherwise
    the member, earning date, expiry and points, numbered among identical rows of the file."""
    seen: Counter[tuple] = Counter()
    refs: dict[str, list[int]] = {}
    for row in rows:
        if row.external_ref:
            refs.setdefault(row.external_ref, []).append(row.cells.line)
    for row in rows:
        if not row.cells.ok:
            continue
        if ref := row.external_ref:
            row.dedupe_key = f"import:opening:ref:{ref}"
            if len(refs[ref]) > 1:
                others = [line for line in refs[ref] if line != row.cells.line]
                row.cells.error("external_ref", _("The same external_ref is also on line %(lines)s.")
                                % {"lines": lines_text(others)})
            continue
        assert row.earned_at is not None
        identity = (row.member_id, row.earned_at.date().isoformat(), markers[row.cells.line], row.points)
        seen[identity] += 1
        row.dedupe_key = "import:opening:{}:{}:{}:{}:{}".format(*identity, seen[identity])


@dataclass
class BalancesBatch:
    rows: list[_LotRow]
    now: datetime
    already_imported: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def valid_rows(self) -> int:
        return sum(1 for row in self.rows if row.cells.ok and not row.imported_before)

    def write(self, *, run: ImportRun, actor: User | None) -> int:
        rows = sorted((row for row in self.rows if row.cells.ok and not row.imported_before),
                      key=lambda row: (row.member_id, row.earned_at, row.cells.line))
        accounts = _accounts_lock({row.member_id for row in rows if row.member_id is not None})
        entry_ids = ids_allocate(Entry, len(rows))
        actor_id = actor.pk if actor else None
        default_reason = _("Opening balance (import)")
        entries, lots = [], []
        for entry_id, row in zip(entry_ids, rows, strict=True):
            assert row.member_id is not None and row.points is not None
            account = accounts[row.member_id]
            account.balance += row.points
            account.lifetime_earned += row.points
            account.version += 1
            entries.append((entry_id, account.pk, Entry.Kind.OPENING, row.points, account.balance, "import",
                            str(run.pk), actor_id, row.note or default_reason, row.dedupe_key, row.earned_at,
                            self.now))
            lots.append((account.pk, entry_id, row.points, row.points, row.earned_at, row.expires_at))
        rows_copy(Entry, ("id", "account", "kind", "amount", "balance_after", "source_type", "source_id",
                          "actor", "reason", "dedupe_key", "effective_at", "created_at"), entries)
        rows_copy(Lot, ("account", "entry", "amount", "remaining", "available_from", "expires_at"), lots)
        _accounts_save(list(accounts.values()), at=self.now)
        return len(entries)


def _accounts_lock(member_ids: set[int]) -> dict[int, Account]:
    """The members' point accounts (created if missing), locked in id order as every ledger
    write locks them."""
    Account.objects.bulk_create([Account(member_id=pk, asset=Asset.POINTS) for pk in member_ids],
                                ignore_conflicts=True, batch_size=BATCH_SIZE)
    locked = (Account.objects.select_for_update().filter(member_id__in=member_ids, asset=Asset.POINTS)
              .order_by("pk"))
    return {account.member_id: account for account in locked}


def _accounts_save(accounts: list[Account], *, at: datetime) -> None:
    """The balance caches, lifetime totals and versions in one statement."""
    table = connection.ops.quote_name(Account._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS a SET balance = t.balance, lifetime_earned = t.lifetime_earned, "  # noqa: S608
            "version = t.version, updated_at = %s "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) "
            "AS t(id, balance, lifetime_earned, version) WHERE a.id = t.id",
            [at, [account.pk for account in accounts], [account.balance for account in accounts],
             [account.lifetime_earned for account in accounts], [account.version for account in accounts]])


def balances_prepare(rows: list[Row], *, now: datetime) -> BalancesBatch:
    rules = loyalty_settings()
    today = local_date(now)
    phones = PhoneBook()
    parsed = []
    for row in rows:
        cells = RowCells(row)
        parsed.append((cells, member_key_read(cells, phones)))
    directory = MemberDirectory([key for _cells, key in parsed if key is not None])
    lot_rows, markers = [], {}
    for cells, key in parsed:
        earned_at = cells.get("earned_at", lambda raw: _earned_at(raw, today=today), required=True)
        expires_at, markers[cells.line] = _expiry(cells, earned_at=earned_at, now=now, rules=rules)
        lot_rows.append(_LotRow(
            cells=cells, member_id=directory.resolve(key, cells) if key is not None else None,
            points=cells.get("points", lambda raw: whole_number_of(raw, maximum=MAX_POINTS), required=True),
            earned_at=earned_at, expires_at=expires_at, note=cells.text("note", max_length=255),
            external_ref=cells.text("external_ref", max_length=64)))
    _dedupe_keys(lot_rows, markers)
    keys = [row.dedupe_key for row in lot_rows if row.dedupe_key]
    recorded = set(Entry.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    for row in lot_rows:
        row.imported_before = row.dedupe_key in recorded
    return BalancesBatch(
        rows=lot_rows, now=now,
        already_imported=sum(1 for row in lot_rows if row.imported_before),
        errors=[error for row in lot_rows if not row.imported_before for error in row.cells.errors])
