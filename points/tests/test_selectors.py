from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from points.ledger import Source, account_for, ledger_debit
from points.models import Entry
from points.selectors import lot_last_day, points_balance, points_statement
from points.tests.factories import days, points_give


def test_balance_splits_available_pending_and_what_expires_soon(member, rules):
    now = timezone.now()
    rules.expiry_warning_days = 30
    rules.points_per_cash_unit = 100
    rules.save()
    soon = points_give(member, 300, at=now, expires_at=now + days(10))
    points_give(member, 200, at=now, available_from=now + days(5), expires_at=now + days(400))
    points_give(member, 150, at=now)

    balance = points_balance(member, at=now)

    assert (balance.balance, balance.available, balance.pending) == (650, 450, 200)
    assert balance.lifetime_earned == 650
    assert balance.expiring_soon == 300
    assert [(e.points, e.expires_at) for e in balance.expiring] == [(300, soon.lot.expires_at)]
    assert balance.expiring[0].last_day == lot_last_day(soon.lot.expires_at)
    assert balance.cash_value == Decimal("4.50")


def test_a_member_without_points_has_a_zero_balance(member):
    balance = points_balance(member)

    assert (balance.balance, balance.available, balance.expiring) == (0, 0, [])


def test_statement_lists_entries_newest_first_with_the_running_balance_and_open_lots(member, front_desk):
    now = timezone.now()
    points_give(member, 500, at=now - days(3), expires_at=now + days(30))
    with transaction.atomic():
        ledger_debit(account=account_for(member, lock=True), amount=120, kind=Entry.Kind.REDEEM,
                     source=Source("reward", 7), actor=front_desk, reason="精华液", at=now - days(2))
    points_give(member, 30, at=now - days(1))

    statement = points_statement(member, at=now)

    assert statement.count == 3
    assert [(e.kind, e.amount, e.balance_after) for e in statement.entries] == [
        ("earn", 30, 410), ("redeem", -120, 380), ("earn", 500, 500)]
    redeemed = statement.entries[1]
    assert (redeemed.get_kind_display(), redeemed.actor, redeemed.reason, redeemed.source_type) == (
        Entry.Kind.REDEEM.label, front_desk, "精华液", "reward")
    assert [(lot.remaining, lot.expires_at) for lot in statement.open_lots] == [
        (380, now + days(30)), (30, None)]
    assert statement.balance.balance == 410

    page = points_statement(member, limit=1, offset=1, at=now)
    assert [e.amount for e in page.entries] == [-120]


def test_the_statement_balance_is_the_balance_and_counts_every_entry(member, rules):
    # Given points that are available, pending, expiring soon, and past their expiry but not yet
    # taken by the expiry job
    now = timezone.now()
    rules.expiry_warning_days = 30
    rules.save()
    points_give(member, 300, at=now - days(2), expires_at=now + days(10))
    points_give(member, 200, at=now, available_from=now + days(5))
    points_give(member, 50, at=now - days(400), expires_at=now - days(1))
    # When the statement is read, one page at a time
    statement = points_statement(member, limit=2, at=now)
    beyond = points_statement(member, limit=2, offset=10, at=now)
    # Then its balance is exactly what points_balance says (the expired lot left out), and the
    # count is of every entry, even on a page past the last one
    assert statement.balance == points_balance(member, at=now)
    assert (statement.balance.available, statement.balance.pending, statement.balance.expiring_soon) == (
        300, 200, 300)
    assert (statement.count, len(statement.entries)) == (3, 2)
    assert (beyond.count, beyond.entries) == (3, [])
