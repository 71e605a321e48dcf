"""Opening balances from another system: points, and stored value (paid-in principal and bonus,
in money). Each amount of a row becomes an opening entry and a lot that keep the original date and
expiry, written by points.ledger.ledger_open_many (set-based, under the accounts' locks, the same
bookkeeping as every ledger write; the database checks the balance chain and the balance cache at
commit). Each lot is credited once, however often the file is imported."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _

from accounts.models import User
from clinics.formatting import day_text
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
    money_of,
    whole_number_of,
)
from packages.imports import (
    BALANCES_PACKAGE_COLUMNS,
    PackageOpeningRow,
    package_products_by_code,
    package_row_read,
    package_rows_keys,
    package_rows_write,
)
from points.ledger import OpeningLot, Source, ledger_open_many
from points.models import Asset, Entry, LoyaltySettings
from points.rules import clinic_zone, local_date, local_midnight, lot_expiry, loyalty_settings

MAX_POINTS = 1_000_000_000
NEVER = {"never", "永不", "永久", "不过期"}
# One amount column at least: points, and/or the stored value's paid-in principal and bonus (money).
AMOUNT_COLUMNS = ("points", "principal", "bonus")
COLUMNS = Columns(
    required=("earned_at",),
    any_of=(MEMBER_COLUMNS, (*AMOUNT_COLUMNS, "package")),
    optional=("expires_at", "bonus_expires_at", "note", "external_ref", *BALANCES_PACKAGE_COLUMNS),
)
_ASSETS = {"points": Asset.POINTS, "principal": Asset.STORED_VALUE_PRINCIPAL, "bonus": Asset.STORED_VALUE_BONUS}


@dataclass
class _LotRow:
    """One lot of a row: a row with points, principal and bonus gives three."""

    cells: RowCells
    member_id: int | None
    column: str
    amount: int | None
    earned_at: datetime | None
    expires_at: datetime | None
    note: str
    external_ref: str
    dedupe_key: str = ""
    imported_before: bool = False

    @property
    def points(self) -> int | None:
        return self.amount


def _expiry(cells: RowCells, *, earned_at: datetime | None, now: datetime,
            rules: LoyaltySettings | None, column: str = "expires_at") -> tuple[datetime | None, str]:
    """When the lot expires and how that is written in its dedupe key. Empty: for points the
    clinic's expiry policy from the earning date, for bonus (`rules` None) never; "never": no
    expiry; a date: the last day the value can be used (it expires at the end of it)."""
    raw = cells.raw(column)
    if raw.lower() in NEVER:
        return None, "never"
    if not raw:
        expires_at = lot_expiry(earned_at, rules) if earned_at and rules is not None else None
        marker = "policy" if rules is not None else "never"
    else:
        last_day = cells.get(column, date_of)
        if last_day is None:
            return None, ""
        expires_at = local_midnight(last_day + timedelta(days=1))
        marker = last_day.isoformat()
        if earned_at is not None and expires_at <= earned_at:
            cells.error(column, _("The points cannot expire before they were earned.") if rules is not None
                        else _("The bonus cannot expire before it was given."))
            return expires_at, marker
    if expires_at is not None and expires_at <= now:
        last_day = local_date(expires_at - timedelta(days=1))
        cells.error(column, (_("These points expired on %(date)s; expired points are not imported.") if rules
                             is not None else _("This bonus expired on %(date)s; expired bonus is not imported."))
                    % {"date": day_text(last_day)})
    return expires_at, marker


def _earned_at(raw: str, *, today: date) -> datetime:
    day = date_of(raw)
    if day > today:
        raise CellError(_("The earning date cannot be in the future."))
    return datetime.combine(day, NOON, tzinfo=clinic_zone())


def _dedupe_keys(rows: list[_LotRow], markers: dict[tuple[int, str], str]) -> None:
    """Points: `import:opening:ref:<external_ref>` when the old system gave the lot an id;
    otherwise the member, earning date, expiry and points, numbered among identical rows of the
    file. Stored value: the same with the column (principal or bonus) named after `opening:`
    (and after the external_ref), amounts in cents."""
    seen: Counter[tuple] = Counter()
    refs: dict[str, set[int]] = {}
    for row in rows:
        if row.external_ref:
            refs.setdefault(row.external_ref, set()).add(row.cells.line)
    for row in rows:
        if not row.cells.ok:
            continue
        suffix = "" if row.column == "points" else f":{row.column}"
        if ref := row.external_ref:
            row.dedupe_key = f"import:opening:ref:{ref}{suffix}"
            if len(refs[ref]) > 1:
                others = sorted(line for line in refs[ref] if line != row.cells.line)
                row.cells.error("external_ref", _("The same external_ref is also on line %(lines)s.")
                                % {"lines": lines_text(others)})
            continue
        assert row.earned_at is not None
        identity = (row.member_id, row.earned_at.date().isoformat(), markers[(row.cells.line, row.column)],
                    row.amount)
        prefix = "import:opening" if row.column == "points" else f"import:opening:{row.column}"
        seen[(row.column, *identity)] += 1
        row.dedupe_key = "{}:{}:{}:{}:{}:{}".format(prefix, *identity, seen[(row.column, *identity)])


@dataclass
class BalancesBatch:
    rows: list[_LotRow]
    now: datetime
    already_imported: int = 0
    errors: list[RowError] = field(default_factory=list)
    packages: list[PackageOpeningRow] = field(default_factory=list)

    @property
    def valid_rows(self) -> int:
        """CSV rows with something new to credit."""
        return len({row.cells.line for row in [*self.rows, *self.packages]
                    if row.cells.ok and not row.imported_before})

    def write(self, *, run: ImportRun, actor: User | None) -> int:
        rows = sorted((row for row in self.rows if row.cells.ok and not row.imported_before),
                      key=lambda row: (row.member_id, row.earned_at, row.cells.line))
        default_reason = _("Opening balance (import)")
        lots = [OpeningLot(member_id=row.member_id, asset=_ASSETS[row.column], amount=row.amount, at=row.earned_at,
                           expires_at=row.expires_at, reason=row.note or default_reason, dedupe_key=row.dedupe_key)
                for row in rows]
        written = ledger_open_many(lots=lots, kind=Entry.Kind.OPENING, source=Source("import", run.pk),
                                   actor=actor, at=self.now)
        return written + package_rows_write(self.packages, actor=actor)


def _amount(cells: RowCells, column: str) -> int | None:
    if column == "points":
        return cells.get("points", lambda raw: whole_number_of(raw, maximum=MAX_POINTS))
    amount = cells.get(column, money_of)
    if amount is None:
        return None
    if amount == 0:
        cells.error(column, _("This must be more than zero."))
        return None
    return int(amount * 100)


def balances_prepare(rows: list[Row], *, now: datetime) -> BalancesBatch:
    rules = loyalty_settings()
    today = local_date(now)
    phones = PhoneBook()
    parsed = []
    for row in rows:
        cells = RowCells(row)
        parsed.append((cells, member_key_read(cells, phones)))
    directory = MemberDirectory([key for _cells, key in parsed if key is not None])
    lot_rows: list[_LotRow] = []
    package_rows: list[PackageOpeningRow] = []
    products = None
    markers: dict[tuple[int, str], str] = {}
    for cells, key in parsed:
        earned_at = cells.get("earned_at", lambda raw: _earned_at(raw, today=today), required=True)
        member_id = directory.resolve(key, cells) if key is not None else None
        if cells.raw("package"):
            # A treatment package bought in another system (packages.imports), bought on earned_at.
            if any(cells.raw(column) for column in AMOUNT_COLUMNS):
                cells.error("package", _("A package row has no points, principal or bonus; give them on a row "
                                         "of their own."))
            products = package_products_by_code() if products is None else products
            package_rows.append(package_row_read(cells, member_id=member_id, products=products, now=now,
                                                 purchased_at=earned_at, date_column="earned_at"))
            continue
        note, external_ref = cells.text("note", max_length=255), cells.text("external_ref", max_length=64)
        columns = [column for column in AMOUNT_COLUMNS if cells.raw(column)]
        if not columns:
            cells.error("", _("Give points, principal or bonus."))
        for column in columns:
            if column == "points":
                expires_at, marker = _expiry(cells, earned_at=earned_at, now=now, rules=rules)
            elif column == "bonus":
                expires_at, marker = _expiry(cells, earned_at=earned_at, now=now, rules=None,
                                             column="bonus_expires_at")
            else:
                expires_at, marker = None, "never"
            markers[(cells.line, column)] = marker
            lot_rows.append(_LotRow(cells=cells, member_id=member_id, column=column, amount=_amount(cells, column),
                                    earned_at=earned_at, expires_at=expires_at, note=note,
                                    external_ref=external_ref))
        if not columns:
            lot_rows.append(_LotRow(cells=cells, member_id=member_id, column="points", amount=None,
                                    earned_at=earned_at, expires_at=None, note=note, external_ref=external_ref))
    _dedupe_keys(lot_rows, markers)
    keys = [row.dedupe_key for row in lot_rows if row.dedupe_key]
    recorded = set(Entry.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    for row in lot_rows:
        row.imported_before = bool(row.dedupe_key) and row.dedupe_key in recorded
    package_rows_keys(package_rows)
    everything = [*lot_rows, *package_rows]
    lines = {row.cells.line: row.cells for row in everything}
    done_before = {line for line in lines
                   if all(row.imported_before for row in everything if row.cells.line == line)}
    return BalancesBatch(
        rows=lot_rows, packages=package_rows, now=now, already_imported=len(done_before),
        errors=[error for line, cells in lines.items() if line not in done_before for error in cells.errors])
