from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from points.ledger import Source, account_for, ledger_debit
from points.models import Entry, Lot
from points.selectors import ledger_verify
from points.tests.factories import account_of, constraints_check, points_give

CLINIC = "testclinic"


def verify_command(*args) -> str:
    out = StringIO()
    call_command("verify_ledger", *args, stdout=out)
    return out.getvalue()


@contextmanager
def corrupted(*statements: tuple) -> Iterator[None]:
    """Run raw SQL behind the ledger's back, inside a savepoint that is rolled back afterwards (the
    database's own deferred checks would otherwise refuse the test's transaction at its end)."""
    constraints_check()
    with transaction.atomic():
        with connection.cursor() as cursor:
            for statement, *params in statements:
                cursor.execute(statement, params)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def busy_ledger(make_member):
    """Two members with two credits each and a debit across both lots."""
    members = [make_member(), make_member("李四")]
    for member in members:
        points_give(member, 300)
        points_give(member, 200)
        with transaction.atomic():
            ledger_debit(account=account_for(member, lock=True), amount=350, kind=Entry.Kind.REDEEM,
                         source=Source("test"), actor=None)
    return members


def test_a_sound_ledger_passes(busy_ledger):
    assert ledger_verify() == []
    assert f"{CLINIC}: ledger agrees" in verify_command("--clinic", CLINIC)
    assert f"{CLINIC}: ledger agrees" in verify_command()


def test_a_balance_changed_behind_the_ledgers_back_fails_naming_the_account(busy_ledger):
    member = busy_ledger[1]
    account = account_of(member)

    with corrupted(("UPDATE points_account SET balance = balance + 5 WHERE id = %s", account.pk)):
        out = StringIO()
        with pytest.raises(CommandError) as failed:
            call_command("verify_ledger", "--clinic", CLINIC, stdout=out)
        problems = ledger_verify()

    assert failed.value.returncode == 1
    assert f"account {account.pk} (member {member.member_number}) [balance]" in out.getvalue()
    assert [(p.account_id, p.member_number, p.check) for p in problems] == [
        (account.pk, member.member_number, "balance")]
    assert "balance 155, sum of entries 150, sum of open lots 150" in problems[0].detail


def test_a_lot_whose_remaining_disagrees_with_its_allocations_is_reported(busy_ledger):
    account = account_of(busy_ledger[0])
    lot = Lot.objects.get(account=account, remaining__gt=0)

    with corrupted(("UPDATE points_lot SET remaining = remaining + 10 WHERE id = %s", lot.pk)):
        checks = {p.check for p in ledger_verify()}

    assert checks == {"balance", "lot_remaining"}


def test_an_entry_changed_with_its_guard_off_breaks_the_chain(busy_ledger):
    account = account_of(busy_ledger[0])
    debit = Entry.objects.get(account=account, amount__lt=0)

    with corrupted(("ALTER TABLE points_entry DISABLE TRIGGER points_entry_append_only",),
                   ("UPDATE points_entry SET amount = -340 WHERE id = %s", debit.pk)):
        checks = {p.check for p in ledger_verify() if p.account_id == account.pk}

    assert checks == {"balance", "entry_chain", "entry_allocations"}
    assert ledger_verify() == []


def test_an_unknown_clinic_is_an_error(db):
    with pytest.raises(CommandError, match="nowhere"):
        verify_command("--clinic", "nowhere")
