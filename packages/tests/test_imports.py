"""Packages brought from another system: rows of the balances import, read with the import's cell
readers and written once as opening lots with their original dates and validity."""

import calendar
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone, translation

from imports.reading import Row, RowCells
from packages.imports import package_products_by_code, package_row_read, package_rows_keys, package_rows_write
from packages.models import PackagePurchase
from packages.selectors import outstanding_sessions, package_liability
from packages.tests.test_sell_use import account, use
from points.models import Entry
from points.selectors import ledger_verify

D = Decimal


def rows(member, **cells):
    now = timezone.now()
    base = {"package": "pkg-ipl3", "sessions": "3", "sessions_left": "2", "price": "¥1,000.00",
            "purchased_at": (now - timedelta(days=60)).date().isoformat()}
    read = [package_row_read(RowCells(Row(line=2, cells={**base, **cells})), member_id=member.pk,
                             products=package_products_by_code(), now=now)]
    package_rows_keys(read)
    return read


def test_an_imported_package_keeps_its_dates_and_its_remaining_value(member, ipl_package, catalogue, front_desk):
    read = rows(member)
    assert read[0].cells.ok, read[0].cells.errors
    before = timezone.now()
    assert package_rows_write(read, actor=None) == 1
    purchase = PackagePurchase.objects.get()
    assert (purchase.sessions, purchase.sessions_used_before, purchase.price) == (3, 1, D("1000.00"))
    assert purchase.lot.expires_at.date() > (before + timedelta(days=290)).date()
    entry = Entry.objects.get(account=account(member, ipl_package))
    assert entry.kind == Entry.Kind.OPENING and entry.effective_at < before - timedelta(days=59)
    assert outstanding_sessions().value == D("666.67")
    liability = package_liability(start=before - timedelta(days=90), end=timezone.now())
    assert liability.reconciles and liability.movements[0].key == "imported"
    use(member, ipl_package, catalogue["ipl"], front_desk, quantity=2)
    assert outstanding_sessions().value == 0
    again = rows(member)
    assert again[0].imported_before
    assert package_rows_write(again, actor=None) == 0
    assert ledger_verify() == []


def test_bad_package_rows_say_which_cell_and_write_nothing(member, ipl_package):
    now = timezone.now()
    cases = {"package": ("nope", "No treatment package"), "sessions_left": ("4", "Sessions left"),
             "expires_at": ((now - timedelta(days=3)).date().isoformat(), "expired on"),
             "purchased_at": ((now + timedelta(days=3)).date().isoformat(), "future")}
    for column, (value, message) in cases.items():
        read = rows(member, **{column: value})
        errors = read[0].cells.errors
        assert [error.column for error in errors] == [column] and message in errors[0].message, errors
        assert package_rows_write(read, actor=None) == 0
    assert not PackagePurchase.objects.exists()


def test_an_expired_rows_error_names_the_day_as_staff_read_it_in_their_language(member, ipl_package):
    last_day = (timezone.now() - timedelta(days=3)).date()
    english = rows(member, expires_at=last_day.isoformat())[0].cells.errors[0].message
    with translation.override("zh-hans"):
        chinese = rows(member, expires_at=last_day.isoformat())[0].cells.errors[0].message

    # Written out by hand: "Sat 5 Dec 2026" / "2026年12月5日 周六"
    assert f"expired on {calendar.day_abbr[last_day.weekday()]} {last_day.day} " \
           f"{calendar.month_abbr[last_day.month]} {last_day.year};" in english
    assert f"{last_day.year}年{last_day.month}月{last_day.day}日 周{'一二三四五六日'[last_day.weekday()]}" in chinese
    assert last_day.isoformat() not in english + chinese


def test_never_and_a_given_last_day(member, ipl_package):
    package_rows_write(rows(member, expires_at="never"), actor=None)
    assert PackagePurchase.objects.get().lot.expires_at is None
    day = (timezone.now() + timedelta(days=10)).date()
    package_rows_write(rows(member, expires_at=day.isoformat(), sessions_left="3"), actor=None)
    from points.selectors import lot_last_day
    assert lot_last_day(PackagePurchase.objects.latest("id").lot.expires_at) == day


def test_the_balances_csv_imports_packages_beside_points_once(member, ipl_package, front_desk, manager):
    from imports.services import balances_import
    from imports.tests.conftest import csv_file
    from points.ledger import account_for

    bought = (timezone.now() - timedelta(days=30)).date().isoformat()
    text = ("phone,earned_at,points,package,sessions,sessions_left,price,expires_at\n"
            f"{member.phone},{bought},500,,,,,\n"
            f"{member.phone},{bought},,PKG-IPL3,3,3,900.00,\n"
            f"{member.phone},{bought},,PKG-IPL3,3,1,¥900,never\n")
    report = balances_import(file=csv_file(text), actor=manager)
    assert (report.status, report.imported, report.errors) == ("completed", 3, []), report
    assert account_for(member).balance == 500
    assert account(member, ipl_package).balance == 4
    purchases = list(PackagePurchase.objects.order_by("id"))
    assert [(p.lot.amount, p.price) for p in purchases] == [(3, D("900.00")), (1, D("900.00"))]
    assert purchases[0].lot.expires_at is not None and purchases[1].lot.expires_at is None
    assert outstanding_sessions().value == D("900.00") + D("300.00")
    again = balances_import(file=csv_file(text), actor=manager)
    assert again.already_imported == 3 and account(member, ipl_package).balance == 4


def test_a_bad_package_row_rejects_the_file_and_changes_nothing(member, ipl_package, manager):
    from imports.services import balances_import
    from imports.tests.conftest import csv_file

    text = ("phone,earned_at,package,sessions,sessions_left,price\n"
            f"{member.phone},2026-01-05,PKG-IPL3,3,5,900\n")
    report = balances_import(file=csv_file(text), actor=manager)
    assert report.status == "rejected"
    assert [(error.line, error.column) for error in report.errors] == [(2, "sessions_left")]
    assert not PackagePurchase.objects.exists()
