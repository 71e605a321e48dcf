import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from points.ledger import (
    InsufficientBalance,
    Source,
    account_for,
    available_balance,
    ledger_debit,
    ledger_restore,
    lots_expire,
)
from points.models import Account, Allocation, Entry, Lot
from points.selectors import ledger_verify
from points.tests.factories import account_of, constraints_check, days, points_give


def debit(member, amount, **kwargs) -> Entry:
    with transaction.atomic():
        return ledger_debit(account=account_for(member, lock=True), amount=amount, kind=Entry.Kind.REDEEM,
                            source=Source("test"), actor=None, **kwargs)


def remaining(*entries: Entry) -> list[int]:
    return [Lot.objects.get(entry=entry).remaining for entry in entries]


def test_debit_spends_the_soonest_expiring_lots_first(member):
    now = timezone.now()
    later = points_give(member, 100, expires_at=now + days(60))
    never = points_give(member, 100)
    soon = points_give(member, 100, expires_at=now + days(5))

    entry = debit(member, 150)

    assert remaining(soon, later, never) == [0, 50, 100]
    assert sorted(Allocation.objects.filter(entry=entry).values_list("lot__entry", "amount")) == [
        (later.pk, 50), (soon.pk, 100)]
    account = account_of(member)
    assert (account.balance, entry.amount, entry.balance_after) == (150, -150, 150)
    assert ledger_verify() == []


def test_pending_points_cannot_be_spent(member):
    now = timezone.now()
    points_give(member, 100)
    points_give(member, 500, available_from=now + days(7))

    assert available_balance(account_of(member)) == 100
    with pytest.raises(InsufficientBalance):
        debit(member, 101)
    assert account_of(member).balance == 600


def test_insufficient_balance_moves_nothing(member):
    lot_entry = points_give(member, 80)
    entries_before = Entry.objects.count()

    with pytest.raises(InsufficientBalance) as refused:
        debit(member, 81)

    assert (refused.value.available, refused.value.wanted) == (80, 81)
    assert Entry.objects.count() == entries_before
    assert remaining(lot_entry) == [80]
    assert account_of(member).balance == 80
    assert not Allocation.objects.exists()


def test_restore_gives_points_back_into_the_lots_they_came_from(member):
    now = timezone.now()
    soon = points_give(member, 100, expires_at=now + days(5))
    later = points_give(member, 100, expires_at=now + days(60))
    spent = debit(member, 150)

    with transaction.atomic():
        back = ledger_restore(account=account_for(member, lock=True), debit=spent, amount=150,
                              source=Source("test"), actor=None)

    assert back.amount == 150
    assert remaining(soon, later) == [100, 100]
    assert Lot.objects.filter(entry=back).count() == 0
    assert sum(Allocation.objects.filter(entry=back).values_list("amount", flat=True)) == 150
    assert account_of(member).balance == 200
    assert ledger_verify() == []


def test_restore_into_a_lot_that_expired_meanwhile_makes_a_fresh_lot(member):
    now = timezone.now()
    old = points_give(member, 100, at=now - days(30), expires_at=now + days(1))
    spent = debit(member, 60, at=now - days(10))

    with transaction.atomic():
        back = ledger_restore(account=account_for(member, lock=True), debit=spent, amount=60,
                              source=Source("test"), actor=None, at=now + days(2),
                              fresh_expiry=now + days(90))

    assert remaining(old) == [40]
    fresh = Lot.objects.get(entry=back)
    assert (fresh.amount, fresh.remaining, fresh.expires_at) == (60, 60, now + days(90))
    assert ledger_verify() == []


def test_a_restore_never_gives_back_more_than_was_taken(member):
    points_give(member, 100)
    spent = debit(member, 40)
    account = account_for(member)

    with transaction.atomic():
        first = ledger_restore(account=account_for(member, lock=True), debit=spent, amount=30,
                               source=Source("test"), actor=None)
        second = ledger_restore(account=account_for(member, lock=True), debit=spent, amount=30,
                                source=Source("test"), actor=None)
        third = ledger_restore(account=account_for(member, lock=True), debit=spent, amount=30,
                               source=Source("test"), actor=None)

    assert (first.amount, second.amount, third) == (30, 10, None)
    account.refresh_from_db()
    assert account.balance == 100


def test_lots_expire_writes_one_entry_per_lot_and_runs_once(make_member):
    now = timezone.now()
    member, other = make_member(), make_member("李四")
    first = points_give(member, 70, at=now - days(400), expires_at=now - days(2))
    second = points_give(member, 30, at=now - days(300), expires_at=now - days(1))
    keeps = points_give(member, 50, expires_at=now + days(10))
    points_give(other, 20, at=now - days(400), expires_at=now - days(1))
    debit(member, 20, at=now - days(200))

    assert lots_expire(now=now) == 3

    expired = Entry.objects.filter(kind=Entry.Kind.EXPIRE, account=account_of(member)).order_by("id")
    assert [(e.amount, e.source_id) for e in expired] == [
        (-50, str(Lot.objects.get(entry=first).pk)), (-30, str(Lot.objects.get(entry=second).pk))]
    assert [e.balance_after for e in expired] == [80, 50]
    assert remaining(first, second, keeps) == [0, 0, 50]
    assert (account_of(member).balance, account_of(other).balance) == (50, 0)

    entries = Entry.objects.count()
    assert lots_expire(now=now + days(1)) == 0
    assert Entry.objects.count() == entries
    assert account_of(member).balance == 50
    assert ledger_verify() == []
    constraints_check()


def test_entries_cannot_be_changed_or_deleted(member):
    entry = points_give(member, 10)

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).update(amount=1000)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM points_entry WHERE id = %s", [entry.pk])

    entry.refresh_from_db()
    assert entry.amount == 10


def test_an_entry_that_breaks_the_balance_chain_is_refused_by_the_database(member):
    points_give(member, 10)

    with pytest.raises(IntegrityError, match="balance chain"), transaction.atomic():
        Entry.objects.create(account=account_of(member), kind=Entry.Kind.ADJUST, amount=5, balance_after=50,
                             effective_at=timezone.now())


def test_a_balance_that_disagrees_with_entries_and_lots_fails_at_commit(member):
    points_give(member, 10)

    with pytest.raises(IntegrityError, match="has balance 15"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE points_account SET balance = balance + 5")
        constraints_check()


def test_a_lot_changed_behind_the_ledgers_back_fails_at_commit(member):
    entry = points_give(member, 10)

    with pytest.raises(IntegrityError, match="open lots 3"), transaction.atomic():
        Lot.objects.filter(entry=entry).update(remaining=3)
        constraints_check()


def test_a_debit_of_two_accounts_writes_both_in_one_statement(member, django_assert_num_queries):
    from points.ledger import Debit, ledger_credit, ledger_debit_many, lots_spendable, member_accounts_lock
    from points.models import Asset

    now = timezone.now()
    with transaction.atomic():
        principal, bonus = sorted(member_accounts_lock([member.pk], [Asset.STORED_VALUE_PRINCIPAL,
                                                                     Asset.STORED_VALUE_BONUS]),
                                  key=lambda account: account.asset != Asset.STORED_VALUE_PRINCIPAL)
        first = ledger_credit(account=principal, amount=3_000, kind=Entry.Kind.TOPUP, source=Source("test"),
                              actor=None, expires_at=now + days(30))
        second = ledger_credit(account=principal, amount=7_000, kind=Entry.Kind.TOPUP, source=Source("test"),
                               actor=None)
        extra = ledger_credit(account=bonus, amount=1_000, kind=Entry.Kind.TOPUP, source=Source("test"), actor=None)
        now = timezone.now()
        lots = lots_spendable([principal, bonus], at=now)

        with django_assert_num_queries(1):
            entries = ledger_debit_many(
                debits=[Debit(principal, 4_000, lots[principal.pk]), Debit(bonus, 400, lots[bonus.pk])],
                kind=Entry.Kind.PAYMENT, source=Source("visit", 7), actor=None, reason="paid", at=now)

    # the soonest-expiring lot first, then the next; both accounts' balances and chains agree
    assert remaining(first, second, extra) == [0, 6_000, 600]
    assert [(entry.amount, entry.balance_after) for entry in (entries[principal.pk], entries[bonus.pk])] == [
        (-4_000, 6_000), (-400, 600)]
    stored = Entry.objects.get(pk=entries[principal.pk].pk)
    assert (stored.account_id, stored.kind, stored.source_id, stored.balance_after) == (principal.pk, "payment",
                                                                                        "7", 6_000)
    assert sorted(Allocation.objects.filter(entry__in=entries.values()).values_list("lot__entry", "amount")) == sorted(
        [(first.pk, 3_000), (second.pk, 1_000), (extra.pk, 400)])
    balances = dict(Account.objects.filter(pk__in=[principal.pk, bonus.pk]).values_list("pk", "balance"))
    assert (balances[principal.pk], balances[bonus.pk]) == (6_000, 600)
    assert ledger_verify() == []


def test_a_debit_of_two_accounts_refuses_when_either_is_short_and_writes_nothing(member):
    from points.ledger import Debit, ledger_credit, ledger_debit_many, lots_spendable, member_accounts_lock
    from points.models import Asset

    with transaction.atomic():
        principal, bonus = sorted(member_accounts_lock([member.pk], [Asset.STORED_VALUE_PRINCIPAL,
                                                                     Asset.STORED_VALUE_BONUS]),
                                  key=lambda account: account.asset != Asset.STORED_VALUE_PRINCIPAL)
        ledger_credit(account=principal, amount=5_000, kind=Entry.Kind.TOPUP, source=Source("test"), actor=None)
        ledger_credit(account=bonus, amount=100, kind=Entry.Kind.TOPUP, source=Source("test"), actor=None)
    entries_before = Entry.objects.count()

    now = timezone.now()
    with pytest.raises(InsufficientBalance) as refused, transaction.atomic():
        lots = lots_spendable([principal, bonus], at=now)
        ledger_debit_many(debits=[Debit(principal, 1_000, lots[principal.pk]), Debit(bonus, 101, lots[bonus.pk])],
                          kind=Entry.Kind.PAYMENT, source=Source("visit", 8), actor=None, reason="paid", at=now)

    assert (refused.value.available, refused.value.wanted) == (100, 101)
    assert Entry.objects.count() == entries_before
    assert sorted(Account.objects.filter(pk__in=[principal.pk, bonus.pk]).values_list("balance", flat=True)) == [
        100, 5_000]


def test_locking_accounts_opens_the_missing_ones_once(make_member, django_assert_num_queries):
    from points.ledger import member_accounts_lock
    from points.models import Asset

    first, second = make_member("甲"), make_member("乙")
    with transaction.atomic():
        opened = member_accounts_lock([first.pk], [Asset.POINTS])
    with transaction.atomic(), django_assert_num_queries(2, info="the lock finds one, the rest are opened"):
        accounts = member_accounts_lock([second.pk, first.pk], [Asset.POINTS, Asset.STORED_VALUE_BONUS])
    with transaction.atomic(), django_assert_num_queries(1, info="all exist: one locking read"):
        again = member_accounts_lock([first.pk, second.pk], [Asset.POINTS, Asset.STORED_VALUE_BONUS])

    assert sorted((a.member_id, a.asset) for a in accounts) == sorted(
        (m.pk, asset) for m in (first, second) for asset in (Asset.POINTS, Asset.STORED_VALUE_BONUS))
    assert opened[0].pk in {a.pk for a in accounts}
    assert sorted(a.pk for a in again) == sorted(a.pk for a in accounts)
    assert Account.objects.filter(member__in=[first, second]).count() == 4
    assert all(a.balance == 0 and a.version == 0 for a in again)
