"""Package sessions in the balances CSV import: rows naming a `package` (the package's catalogue
code) are packages bought in another system, with the sessions bought and left, the price paid,
the purchase date and the validity. This module reads such rows with the import's own cell
readers and writes them through `package_opening_import` (one ledger lot per row, dated at the
purchase). Each row is imported once, however often the file is: its dedupe key names the member,
package, purchase date and sessions (or the old system's `external_ref`)."""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from accounts.models import User
from clinics.formatting import day_text
from imports.reading import NOON, CellError, RowCells, date_of, money_of, whole_number_of
from packages.models import PackageProduct
from packages.services import package_opening_import
from points.models import Entry
from points.rules import clinic_zone, local_date, local_midnight

# The columns a package row uses, besides the member's (phone or member number) and `external_ref`.
PACKAGE_COLUMNS = ("package", "sessions", "sessions_left", "price", "purchased_at", "expires_at", "first_used_at")
# What the balances import (whose rows all have `earned_at`, read as the purchase date) adds for them.
BALANCES_PACKAGE_COLUMNS = ("sessions", "sessions_left", "price", "first_used_at")
NEVER = {"never", "永不", "永久", "不过期"}


@dataclass
class PackageOpeningRow:
    cells: RowCells
    member_id: int | None
    product: PackageProduct | None
    sessions: int | None
    sessions_left: int | None
    price: Decimal | None
    purchased_at: datetime | None
    expires_at: datetime | None
    never: bool
    first_used_at: datetime | None
    dedupe_key: str = ""
    imported_before: bool = False


def _day_at_noon(raw: str, *, today: date) -> datetime:
    day = date_of(raw)
    if day > today:
        raise CellError(_("The date cannot be in the future."))
    return datetime.combine(day, NOON, tzinfo=clinic_zone())


def package_row_read(cells: RowCells, *, member_id: int | None, products: dict[str, PackageProduct],
                     now: datetime, purchased_at: datetime | None = None,
                     date_column: str = "purchased_at") -> PackageOpeningRow:
    """One package row, its errors on its cells. `products` maps catalogue codes (upper case)
    to package products. The purchase date is the `date_column` cell, or `purchased_at` when the
    caller has read that cell already (the balances import reads `earned_at` for every row)."""
    today = local_date(now)
    code = cells.raw("package").strip().upper()
    product = products.get(code)
    if product is None:
        cells.error("package", _("No treatment package has the code “%(code)s”.") % {"code": code})
    sessions = cells.get("sessions", lambda raw: whole_number_of(raw, maximum=1000), required=True)
    left = cells.get("sessions_left", lambda raw: whole_number_of(raw, maximum=1000), required=True)
    if sessions is not None and left is not None and not 0 < left <= sessions:
        cells.error("sessions_left", _("Sessions left must be from 1 to the sessions bought."))
    price = cells.get("price", money_of, required=True)
    if date_column == "purchased_at":
        purchased_at = cells.get("purchased_at", lambda raw: _day_at_noon(raw, today=today), required=True)
    first_used_at = cells.get("first_used_at", lambda raw: _day_at_noon(raw, today=today))
    raw_expiry = cells.raw("expires_at")
    never = raw_expiry.lower() in NEVER
    expires_at = None
    if raw_expiry and not never:
        last_day = cells.get("expires_at", date_of)
        if last_day is not None:
            expires_at = local_midnight(last_day + timedelta(days=1))
            if expires_at <= now:
                cells.error("expires_at", _("These sessions expired on %(date)s; expired sessions are not "
                                            "imported.") % {"date": day_text(last_day)})
    return PackageOpeningRow(cells=cells, member_id=member_id, product=product, sessions=sessions,
                             sessions_left=left, price=price, purchased_at=purchased_at, expires_at=expires_at,
                             never=never, first_used_at=first_used_at)


def package_rows_keys(rows: list[PackageOpeningRow]) -> None:
    """Each valid row's dedupe key, and whether an earlier import already wrote it."""
    seen: Counter[tuple] = Counter()
    for row in rows:
        if not row.cells.ok:
            continue
        ref = row.cells.raw("external_ref")
        if ref:
            row.dedupe_key = f"import:package:ref:{ref}"
            continue
        identity = (row.member_id, row.product.pk, row.purchased_at.date().isoformat(), row.sessions,
                    row.sessions_left)
        seen[identity] += 1
        row.dedupe_key = "import:package:{}:{}:{}:{}:{}".format(*identity) + f":{seen[identity]}"
    recorded = set(Entry.objects.filter(dedupe_key__in=[row.dedupe_key for row in rows if row.dedupe_key])
                   .values_list("dedupe_key", flat=True))
    for row in rows:
        row.imported_before = row.dedupe_key in recorded


def package_rows_write(rows: list[PackageOpeningRow], *, actor: User | None) -> int:
    """Write the valid rows not imported before (inside the import's transaction)."""
    from members.models import Member

    written = 0
    members = Member.objects.in_bulk([row.member_id for row in rows if row.cells.ok])
    for row in sorted(rows, key=lambda row: (row.member_id or 0, row.cells.line)):
        if not row.cells.ok or row.imported_before:
            continue
        package_opening_import(
            member=members[row.member_id], product=row.product, sessions=row.sessions,
            sessions_left=row.sessions_left, price=row.price, purchased_at=row.purchased_at,
            expires_at=row.expires_at, first_used_at=row.first_used_at, actor=actor, dedupe_key=row.dedupe_key,
            never_expires=row.never)
        written += 1
    return written


def package_products_by_code() -> dict[str, PackageProduct]:
    return {product.item.sku.upper(): product for product in PackageProduct.objects.select_related("item")}
