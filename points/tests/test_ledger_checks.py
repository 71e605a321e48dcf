"""The database's own ledger checks are per statement and per transaction: a write of many rows is
checked as a whole, every account it touched is checked once at commit, and a clinic provisioned
from the template checks its own tables."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from clinics.models import Clinic
from conftest import TEST_CLINIC_SLUG
from members.services import member_register
from points.ledger import lots_expire
from points.models import Entry, Lot
from points.selectors import ledger_verify
from points.tests.factories import account_of, constraints_check, days, points_give


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def pending_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM points_ledger_pending")
        return cursor.fetchone()[0]


def test_one_insert_of_many_entries_with_one_broken_link_is_refused(make_member):
    # given two members with 10 points each
    first, second = make_member(), make_member("李四")
    points_give(first, 10)
    points_give(second, 10)
    entries = Entry.objects.count()

    # when one statement appends a sound entry to the first and a broken one to the second
    with pytest.raises(IntegrityError, match=f"balance chain of account {account_of(second).pk}: 10 \\+ 5 <> 99"):
        with transaction.atomic():
            sql("""INSERT INTO points_entry (account_id, kind, amount, balance_after, source_type, source_id,
                                             reason, effective_at, created_at)
                   VALUES (%s, 'adjust', 5, 15, '', '', '', now(), now()),
                          (%s, 'adjust', 5, 99, '', '', '', now(), now())""",
                [account_of(first).pk, account_of(second).pk])

    # then nothing of it was written
    assert Entry.objects.count() == entries


def test_entries_of_one_account_in_one_statement_must_chain_among_themselves(member):
    # given a member with 10 points
    points_give(member, 10)
    account = account_of(member).pk

    # when one statement appends two entries whose second does not continue the first
    with pytest.raises(IntegrityError, match=f"balance chain of account {account}: 15 \\+ 5 <> 25"):
        with transaction.atomic():
            sql("""INSERT INTO points_entry (account_id, kind, amount, balance_after, source_type, source_id,
                                             reason, effective_at, created_at)
                   VALUES (%s, 'adjust', 5, 15, '', '', '', now(), now()),
                          (%s, 'adjust', 5, 25, '', '', '', now(), now())""", [account, account])


def test_one_statement_corrupting_several_accounts_fails_at_commit(make_member):
    # given two members with points
    members = [make_member(), make_member("李四")]
    for member in members:
        points_give(member, 10)
    first = min(account_of(member).pk for member in members)

    # when one statement raises both balances behind the ledger's back, the commit is refused
    with pytest.raises(IntegrityError, match=f"points account {first} has balance 11"), transaction.atomic():
        sql("UPDATE points_account SET balance = balance + 1")
        constraints_check()


def test_a_lot_deleted_behind_the_ledgers_back_fails_at_commit(member):
    # given a member with one lot of 10 points
    entry = points_give(member, 10)

    # when the lot is deleted, the commit is refused: the balance no longer matches the open lots
    with pytest.raises(IntegrityError, match="has balance 10 but its entries say 10 and its open lots 0"):
        with transaction.atomic():
            sql("DELETE FROM points_lot WHERE entry_id = %s", [entry.pk])
            constraints_check()


def test_a_set_based_expiry_is_checked_once_and_leaves_nothing_queued(make_member):
    # given three members with lots that are due
    now = timezone.now()
    members = [make_member(), make_member("李四"), make_member("王五")]
    for member in members:
        points_give(member, 30, at=now - days(400), expires_at=now - days(1))
        points_give(member, 20, at=now - days(300), expires_at=now - days(1))
        points_give(member, 5)

    # when the expiry runs and the deferred checks run as at commit
    assert lots_expire(now=now) == 6
    constraints_check()

    # then the balances are right, the ledger agrees, and the queue of touched accounts is empty
    assert [account_of(member).balance for member in members] == [5, 5, 5]
    assert ledger_verify() == []
    assert pending_rows() == 0


def test_a_transaction_queues_one_row_and_checks_every_account_its_statements_touched(make_member):
    # given two members with points
    first, second = make_member(), make_member("李四")
    points_give(first, 10)
    points_give(second, 10)
    constraints_check()

    # when one transaction corrupts the first account, then writes sound entries to the second
    with pytest.raises(IntegrityError, match=f"points account {account_of(first).pk} has balance 11"):
        with transaction.atomic():
            sql("UPDATE points_account SET balance = balance + 1 WHERE id = %s", [account_of(first).pk])
            points_give(second, 5)
            points_give(second, 5)
            # then the statements of the transaction share one queued row
            assert pending_rows() == 1
            # and the check at commit still finds the account the first statement touched
            constraints_check()


def test_a_freshly_provisioned_clinic_checks_its_own_ledger(other_clinic):
    # given a member with points in a clinic provisioned from the template
    connection.set_tenant(other_clinic)
    member = member_register(name="赵六", phone="13900000001", actor=None)
    points_give(member, 10)
    account = account_of(member).pk
    constraints_check()

    # when its balance is changed behind the ledger's back and the search path moves to another
    # clinic before the deferred check runs, the check still reads the right clinic's tables
    with pytest.raises(IntegrityError, match=f"points account {account} has balance 15"), transaction.atomic():
        sql("UPDATE points_account SET balance = balance + 5 WHERE id = %s", [account])
        connection.set_tenant(Clinic.objects.get(schema_name=TEST_CLINIC_SLUG))
        constraints_check()

    # and a broken chain is refused there too
    connection.set_tenant(other_clinic)
    with pytest.raises(IntegrityError, match="balance chain"), transaction.atomic():
        Entry.objects.create(account_id=account, kind=Entry.Kind.ADJUST, amount=5, balance_after=50,
                             effective_at=timezone.now())
    connection.set_tenant(Clinic.objects.get(schema_name=TEST_CLINIC_SLUG))


def test_a_write_from_another_search_path_is_checked_in_the_clinics_own_tables(member):
    """The checks write out their statements for a clinic's own writes (points/0013) and find the
    tables through the trigger's schema otherwise: here the search path is the public schema's."""
    # given a member with 10 points
    points_give(member, 10)
    constraints_check()
    account = account_of(member).pk
    lot = Lot.objects.get(account_id=account).pk
    clinic, schema = connection.tenant, connection.schema_name

    connection.set_schema_to_public()
    try:
        # a balance changed from there is found at commit
        with pytest.raises(IntegrityError, match=f"points account {account} has balance 15"), transaction.atomic():
            sql(f'UPDATE "{schema}".points_account SET balance = balance + 5 WHERE id = %s', [account])  # noqa: S608
            constraints_check()

        # and so is a lot emptied from there
        with pytest.raises(IntegrityError, match=f"points account {account} has balance 10 .* open lots 0"):
            with transaction.atomic():
                sql(f'UPDATE "{schema}".points_lot SET remaining = 0 WHERE id = %s', [lot])  # noqa: S608
                constraints_check()
    finally:
        connection.set_tenant(clinic)

    assert account_of(member).balance == 10 and pending_rows() == 0
