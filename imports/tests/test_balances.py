import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import translation

from imports.models import ImportRun
from imports.services import balances_import, members_import
from imports.tests.conftest import csv_file, sample_file
from members.models import Member
from points.ledger import available_balance
from points.models import Account, Entry
from points.rules import loyalty_settings_update
from points.selectors import ledger_verify, lot_last_day, points_statement
from points.tests.factories import account_of, constraints_check, points_give

HEADER = "member_number,phone,points,earned_at,expires_at,note,external_ref\n"


def balances(text: str, actor, **kwargs):
    return balances_import(file=csv_file(HEADER + text, name="balances.csv"), actor=actor, **kwargs)


@pytest.fixture
def sample_members(manager, sample_time):
    members_import(file=sample_file("members.csv"), actor=manager)


def test_the_sample_file_credits_opening_lots_with_their_original_dates_and_expiry(manager, sample_members):
    loyalty_settings_update(expiry_policy="rolling", expiry_months=24)

    report = balances_import(file=sample_file("balances.csv"), actor=manager)

    assert (report.status, report.rows, report.imported, report.created, report.errors) == (
        ImportRun.Status.COMPLETED, 5, 5, 5, [])
    constraints_check()
    assert ledger_verify() == []
    zhang = Member.objects.get(member_number="A0001")
    statement = points_statement(zhang)
    assert (statement.balance.balance, statement.balance.available, statement.balance.lifetime_earned) == (
        1500, 1500, 1500)
    assert [(entry.kind, entry.amount, entry.balance_after, entry.reason, entry.actor)
            for entry in statement.entries] == [
        (Entry.Kind.OPENING, 300, 1500, "双十二活动赠送", manager),
        (Entry.Kind.OPENING, 1200, 1200, "旧系统积分结转", manager)]
    assert [entry.effective_at for entry in statement.entries] == [
        datetime(2025, 12, 12, 4, 0, tzinfo=UTC), datetime(2025, 3, 15, 4, 0, tzinfo=UTC)]
    assert [(lot.amount, lot.available_from, lot_last_day(lot.expires_at)) for lot in statement.open_lots] == [
        (1200, datetime(2025, 3, 15, 4, 0, tzinfo=UTC), datetime(2027, 3, 31).date()),
        (300, datetime(2025, 12, 12, 4, 0, tzinfo=UTC), datetime(2027, 12, 12).date())]
    never = points_statement(Member.objects.get(member_number="A0002")).open_lots
    assert [(lot.amount, lot.expires_at) for lot in never] == [(880, None)]


def test_importing_the_file_again_credits_nothing(manager, sample_members):
    balances_import(file=sample_file("balances.csv"), actor=manager)

    again = balances_import(file=sample_file("balances.csv"), actor=manager)

    assert (again.status, again.imported, again.already_imported) == (ImportRun.Status.COMPLETED, 0, 5)
    assert Entry.objects.count() == 5


def test_a_corrected_file_credits_only_the_rows_not_yet_imported(manager, member):
    balances("OLD-001,,100,2026-01-05,never,,\nOLD-001,,100,2026-01-05,never,,\nOLD-001,,abc,2026-01-05,,,\n",
             manager, skip_errors=True)

    again = balances("OLD-001,,100,2026-01-05,never,,\nOLD-001,,100,2026-01-05,never,,\n"
                     "OLD-001,,50,2026-01-05,never,,\n", manager)

    assert (again.imported, again.already_imported) == (1, 2)
    assert account_of(member).balance == 250


def test_balances_continue_the_ledger_of_a_member_who_already_has_points(manager, member):
    points_give(member, 40)

    balances(f",{member.phone},500,2025-12-01,never,,\n", manager)

    constraints_check()
    assert ledger_verify() == []
    account = account_of(member)
    assert (account.balance, account.lifetime_earned, account.version) == (540, 540, 2)
    assert available_balance(account) == 540


def test_bad_and_expired_rows_are_refused_with_line_and_column(manager, member, sample_time):
    loyalty_settings_update(expiry_policy="rolling", expiry_months=12)

    report = balances(
        "OLD-001,,100,2026-01-05,,,\n"
        "OLD-001,,100,2024-01-05,,,\n"
        "OLD-001,,100,2025-01-05,2026-05-31,,\n"
        "OLD-001,,0,2026-07-01,,,\n"
        "OLD-001,,100,2026-01-05,2025-12-31,,\n"
        "NOPE,,100,2026-01-05,,,X1\n"
        "OLD-001,,100,2026-01-05,,,X1\n", manager)

    assert report.status == ImportRun.Status.REJECTED
    assert [(error.line, error.column) for error in report.errors] == [
        (3, "expires_at"), (4, "expires_at"), (5, "earned_at"), (5, "points"), (6, "expires_at"),
        (7, "member_number"), (8, "external_ref")]
    # The last usable days (5 January 2025 and 31 May 2026, both Sundays) as staff read days
    assert "expired on Sun 5 Jan 2025;" in report.errors[0].message
    assert "expired on Sun 31 May 2026;" in report.errors[1].message
    with translation.override("zh-hans"):
        chinese = balances("OLD-001,,100,2025-01-05,2026-05-31,,\n", manager)
    assert "2026年5月31日 周日" in chinese.errors[0].message
    assert not any(re.search(r"\d{4}-\d{2}-\d{2}", error.message) for error in [*report.errors, *chinese.errors])
    assert not Account.objects.filter(balance__gt=0).exists()


def test_skip_mode_credits_the_valid_rows(manager, member):
    report = balances("OLD-001,,100,2026-01-05,never,,\nOLD-001,,-5,2026-01-05,,,\n", manager, skip_errors=True)

    assert (report.status, report.imported, report.skipped) == (ImportRun.Status.PARTIAL, 1, 1)
    assert account_of(member).balance == 100


SV_HEADER = "member_number,points,principal,bonus,earned_at,bonus_expires_at,note,external_ref\n"


def test_stored_value_balances_are_imported_with_their_original_dates_once(manager, sample_members, sample_time):
    from datetime import date

    from points.models import Asset, Lot
    from storedvalue.selectors import card_balance, liability_report

    text = ("A0001,,3200.50,300.00,2025-06-01,2099-12-31,旧卡余额,\n"
            "A0002,100,1000,,2025-07-01,,,OLD-9\n")
    report = balances_import(file=csv_file(SV_HEADER + text, name="sv.csv"), actor=manager)
    assert (report.status, report.rows, report.imported, report.errors) == (ImportRun.Status.COMPLETED, 2, 2, [])
    constraints_check()
    assert ledger_verify() == []
    zhang = Member.objects.get(member_number="A0001")
    card = card_balance(zhang)
    assert (card.principal, card.bonus) == (Decimal("3200.50"), Decimal("300.00"))
    bonus_lot = Lot.objects.get(account__member=zhang, account__asset=Asset.STORED_VALUE_BONUS)
    assert lot_last_day(bonus_lot.expires_at) == date(2099, 12, 31)
    assert bonus_lot.entry.effective_at.date() == date(2025, 6, 1)
    wang = Member.objects.get(member_number="A0002")
    assert Entry.objects.get(dedupe_key="import:opening:ref:OLD-9:principal").account.member == wang
    assert Account.objects.get(member=wang, asset=Asset.POINTS).balance == 100
    # the liability as of a day between the two original dates counts only the first card
    between = liability_report(as_of=date(2025, 6, 15)).sections[0]
    assert [line.amount for line in between.lines] == [Decimal("3200.50"), Decimal("300.00")]

    again = balances_import(file=csv_file(SV_HEADER + text, name="sv.csv"), actor=manager)
    assert (again.already_imported, again.imported) == (2, 0)
    assert card_balance(zhang).principal == Decimal("3200.50")
    assert Entry.objects.filter(kind=Entry.Kind.OPENING).count() == 4


def test_bad_stored_value_cells_are_refused_and_nothing_is_written(manager, sample_members):
    text = ("A0001,,-5,,2025-06-01,,,\n"
            "A0001,,1.005,,2025-06-01,,,\n"
            "A0001,,,50,2025-06-01,2025-01-01,,\n"
            "A0001,,,,2025-06-01,,,\n")
    report = balances_import(file=csv_file(SV_HEADER + text, name="sv.csv"), actor=manager)
    assert report.imported == 0
    assert sorted(error.line for error in report.errors) == [2, 3, 4, 5]
    assert not Entry.objects.filter(kind=Entry.Kind.OPENING).exists()
