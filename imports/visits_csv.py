"""Historical visits from another system. Each receipt (the old system's external_ref) of a
member becomes one visit with source=import, one line per row and one payment per payment
method. Imported visits earn no points; they count toward tiers and KPIs like any visit."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.utils.translation import gettext as _

from accounts.models import User
from imports.bulk import ids_allocate, rows_copy
from imports.member_lookup import MEMBER_COLUMNS, MemberDirectory, MemberKey, PhoneBook, member_key_read
from imports.models import ImportRun
from imports.reading import (
    MONEY_LIMIT,
    CellError,
    Columns,
    Row,
    RowCells,
    RowError,
    aliases_for,
    choice_of,
    local_datetime_of,
    money_of,
    whole_number_of,
)
from points.rules import clinic_zone
from tiers.services import tiers_evaluate
from visits.models import ZERO, CatalogueItem, Category, Payment, Visit, VisitLine

COLUMNS = Columns(
    required=("visited_at", "external_ref"),
    any_of=(MEMBER_COLUMNS, ("item_sku", "item_name")),
    optional=("category", "quantity", "unit_price", "discount", "paid", "payment_method"),
)
PAYMENT_ALIASES = {
    Payment.Method.CASH: ("现金",),
    Payment.Method.BANK_CARD: ("card", "银行卡", "刷卡"),
    Payment.Method.WECHAT_PAY: ("wechat", "微信", "微信支付"),
    Payment.Method.ALIPAY: ("支付宝",),
    Payment.Method.OTHER: ("其他", "stored_value", "储值", "储值卡"),
}
# Historical visits paid with the old system's stored-value card are imported as paid by "other":
# the card's balance comes in through the balances import, and a refund must not give back to a card
# what this clinic's card never paid.
IMPORTED_METHODS = [choice for choice in Payment.Method.choices if choice[0] != Payment.Method.STORED_VALUE]


class _Line(NamedTuple):
    item_id: int | None
    name: str
    category_id: int | None
    quantity: int
    unit_price: Decimal
    discount: Decimal
    paid: Decimal


@dataclass
class _LineRow:
    cells: RowCells
    member_id: int | None
    external_ref: str
    visited_at: datetime | None
    line: _Line | None
    method: str
    imported_before: bool = False


@dataclass
class _Receipt:
    member_id: int
    external_ref: str
    rows: list[_LineRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(row.cells.ok for row in self.rows)


class _Catalogue:
    """Catalogue items by code and categories by code or name, each loaded once per file."""

    def __init__(self, skus: set[str]):
        self.items = {item.sku: item for item in CatalogueItem.objects.select_related("category")
                      .filter(sku__in=skus)}
        categories = list(Category.objects.all())
        self.categories = {category.name.lower(): category for category in categories}
        self.categories.update({category.code.lower(): category for category in categories})


def _amounts(cells: RowCells, unit_price: Decimal, quantity: int) -> tuple[Decimal, Decimal] | None:
    """The line's discount and the amount paid for it: either may be left out and is worked
    out from the other; given both, they must agree."""
    gross = unit_price * quantity
    if gross >= MONEY_LIMIT:
        cells.error("quantity", _("unit_price × quantity is too large."))
        return None
    errors_before = len(cells.errors)
    discount = cells.get("discount", money_of)
    paid = cells.get("paid", money_of)
    if len(cells.errors) > errors_before:
        return None
    if discount is None and paid is None:
        discount, paid = ZERO, gross
    elif discount is None:
        discount = gross - paid
        if discount < 0:
            cells.error("paid", _("%(paid)s was paid but unit_price × quantity is only %(gross)s.")
                        % {"paid": paid, "gross": gross})
            return None
    elif paid is None:
        paid = gross - discount
        if paid < 0:
            cells.error("discount", _("The discount is larger than unit_price × quantity (%(gross)s).")
                        % {"gross": gross})
            return None
    elif gross - discount != paid:
        cells.error("paid", _("unit_price × quantity − discount is %(expected)s, but paid is %(paid)s.")
                    % {"expected": gross - discount, "paid": paid})
        return None
    return discount, paid


def _line(cells: RowCells, catalogue: _Catalogue) -> _Line | None:
    sku = cells.raw("item_sku").upper()
    item = catalogue.items.get(sku) if sku else None
    if sku and item is None:
        cells.error("item_sku", _("No catalogue item has the code %(sku)s.") % {"sku": sku})
    name = cells.text("item_name", max_length=120) or (item.name if item else "")
    if not sku and not name:
        cells.error("item_name", _("Give the item's catalogue code (item_sku) or its name (item_name)."))
    category = item.category if item else None
    if raw_category := cells.raw("category"):
        category = catalogue.categories.get(raw_category.lower())
        if category is None:
            cells.error("category", _("No category has the code or name “%(value)s”.")
                        % {"value": raw_category})
    errors_before = len(cells.errors)
    quantity = cells.get("quantity", whole_number_of) or 1
    unit_price = cells.get("unit_price", money_of)
    if not cells.raw("unit_price"):
        if item is not None:
            unit_price = item.price
        elif not sku:
            cells.error("unit_price", _("Give the unit price of an item that is not in the catalogue."))
    if unit_price is None or len(cells.errors) > errors_before:
        return None
    amounts = _amounts(cells, unit_price, quantity)
    if amounts is None:
        return None
    discount, paid = amounts
    return _Line(item.pk if item else None, name, category.pk if category else None, quantity, unit_price,
                 discount, paid)


def _receipts(rows: list[_LineRow]) -> list[_Receipt]:
    receipts: dict[tuple[int, str], _Receipt] = {}
    for row in rows:
        if row.member_id is not None and row.external_ref:
            key = (row.member_id, row.external_ref)
            receipts.setdefault(key, _Receipt(*key)).rows.append(row)
    for receipt in receipts.values():
        first = receipt.rows[0]
        for row in receipt.rows[1:]:
            if first.visited_at and row.visited_at and row.visited_at != first.visited_at:
                row.cells.error("visited_at", _(
                    "Rows of receipt %(ref)s must have the same visited_at; line %(line)s has %(value)s.")
                    % {"ref": receipt.external_ref, "line": first.cells.line,
                       "value": first.cells.raw("visited_at")})
    return list(receipts.values())


def _imported_before(receipts: list[_Receipt]) -> set[tuple[int, str]]:
    refs = list({receipt.external_ref for receipt in receipts})
    if not refs:
        return set()
    table = connection.ops.quote_name(Visit._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT member_id, external_ref FROM {table} WHERE external_ref = ANY(%s)",  # noqa: S608
                       [refs])
        return set(cursor.fetchall())


@dataclass
class VisitsBatch:
    receipts: list[_Receipt]
    now: datetime
    already_imported: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def valid_rows(self) -> int:
        return sum(len(receipt.rows) for receipt in self.receipts if receipt.ok)

    def write(self, *, run: ImportRun, actor: User | None) -> int:
        receipts = [receipt for receipt in self.receipts if receipt.ok]
        visit_ids = ids_allocate(Visit, len(receipts))
        visits, lines, payments = [], [], []
        for visit_id, receipt in zip(visit_ids, receipts, strict=True):
            subtotal = line_discount = ZERO
            paid_by_method: dict[str, Decimal] = defaultdict(lambda: ZERO)
            for row in receipt.rows:
                line = row.line
                assert line is not None
                subtotal += line.unit_price * line.quantity
                line_discount += line.discount
                paid_by_method[row.method] += line.paid
                lines.append((visit_id, line.item_id, line.name, line.category_id, line.quantity,
                              line.unit_price, line.discount, line.paid))
            visits.append((visit_id, receipt.member_id, receipt.rows[0].visited_at, Visit.Source.IMPORT,
                           subtotal, line_discount, subtotal - line_discount, receipt.external_ref, self.now))
            payments.extend((visit_id, method, amount) for method, amount in paid_by_method.items() if amount)
        rows_copy(Visit, ("id", "member", "visited_at", "source", "subtotal", "line_discount", "total",
                          "external_ref", "created_at"), visits)
        rows_copy(VisitLine, ("visit", "item", "name", "category", "quantity", "unit_price", "discount",
                              "line_total"), lines)
        rows_copy(Payment, ("visit", "method", "amount"), payments)
        tiers_evaluate(at=self.now, actor=actor)
        return len(visits)


def visits_prepare(rows: list[Row], *, now: datetime) -> VisitsBatch:
    zone = clinic_zone()
    methods = choice_of(aliases_for(IMPORTED_METHODS, **PAYMENT_ALIASES))
    catalogue = _Catalogue({sku for row in rows if (sku := row.cells.get("item_sku", "").strip().upper())})
    phones = PhoneBook()
    moments: dict[str, datetime | CellError] = {}

    def visited_at_of(raw: str) -> datetime:
        moment = moments.get(raw)
        if moment is None:
            try:
                moment = local_datetime_of(raw, zone)
            except CellError as exc:
                moment = exc
            moments[raw] = moment
        if isinstance(moment, CellError):
            raise moment
        if moment > now:
            raise CellError(_("This visit is in the future; only past visits can be imported."))
        return moment

    parsed: list[tuple[RowCells, MemberKey | None]] = []
    line_rows: list[_LineRow] = []
    for row in rows:
        cells = RowCells(row)
        parsed.append((cells, member_key_read(cells, phones)))
    directory = MemberDirectory([key for _cells, key in parsed if key is not None])
    for cells, key in parsed:
        line_rows.append(_LineRow(
            cells=cells, member_id=directory.resolve(key, cells) if key is not None else None,
            external_ref=cells.text("external_ref", max_length=64, required=True),
            visited_at=cells.get("visited_at", visited_at_of, required=True),
            line=_line(cells, catalogue),
            method=cells.get("payment_method", methods) or Payment.Method.OTHER))
    receipts = _receipts(line_rows)
    before = _imported_before(receipts)
    new_receipts = []
    for receipt in receipts:
        if (receipt.member_id, receipt.external_ref) in before:
            for row in receipt.rows:
                row.imported_before = True
        else:
            new_receipts.append(receipt)
            _spread_errors(receipt)
    return VisitsBatch(
        receipts=new_receipts, now=now,
        already_imported=sum(1 for row in line_rows if row.imported_before),
        errors=[error for row in line_rows if not row.imported_before for error in row.cells.errors])


def _spread_errors(receipt: _Receipt) -> None:
    """A receipt is imported whole or not at all: its good rows are marked with the bad one."""
    bad = next((row for row in receipt.rows if not row.cells.ok), None)
    if bad is not None:
        for row in receipt.rows:
            if row.cells.ok:
                row.cells.error("", _("Not imported: line %(line)s of the same receipt has an error.")
                                % {"line": bad.cells.line})
