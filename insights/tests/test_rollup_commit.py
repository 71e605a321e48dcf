"""The rollups are refreshed once per transaction, at its commit (migration insights/0007): the
statement triggers queue the touched (member, instant) keys on the transaction's one row of
insights_rolluppending and a deferred trigger refreshes them. Inside the transaction a reader
refreshes first, so the figures never lag what the transaction itself wrote; after commit nothing
is left queued and the rollups equal the visits, also for checkouts committed at once and for a
transaction whose search path moved to another schema before it committed."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from checkout.services import LineInput, PaymentInput, checkout_complete
from insights import selectors
from insights.rollups import rollups_check, rollups_ready
from members.models import Member
from members.services import member_register
from points.rules import local_date
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

PRICE = Decimal("100.00")


def queued() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT members, cardinality(instants) FROM insights_rolluppending ORDER BY transaction_id")
        return cursor.fetchall()


def member_days(member_id: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT day, visits, revenue FROM insights_memberday WHERE member_id = %s ORDER BY day",
                       [member_id])
        return cursor.fetchall()


def buy(member, actor, item):
    return checkout_complete(member=member, actor=actor, lines=[LineInput(item_id=item.pk, quantity=2)],
                             payments=[PaymentInput("cash", None)])


@pytest.fixture
def item(db):
    return catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="面膜", sku="MASK",
                                 category=category_create(name="护肤", code="care"), price=PRICE)


def test_a_checkout_queues_once_and_its_own_transaction_reads_it_refreshed(owner, item):
    member = member_register(name="王会员", phone="13800001111", actor=owner)
    assert rollups_ready() and queued() == []

    result = buy(member, owner, item)

    # The visit's insert and its lines' insert each queued the key, on one row, refreshed at commit.
    assert queued() == [([member.pk, member.pk], 2)]
    assert member_days(member.pk) == []
    today = local_date(timezone.now())
    summary = selectors.kpi_summary(scope=selectors.Scope(selectors.Period(today, today)))
    assert (summary.visits, summary.revenue, summary.active_members) == (1, result.visit.total, 1)
    assert queued() == []
    assert member_days(member.pk) == [(today, 1, result.visit.total)]
    assert rollups_check() == []


@pytest.fixture(scope="module")
def shop(committed_clinic, django_db_blocker) -> dict:
    clinic = committed_clinic("rollupcommit", "汇总提交诊所")
    with django_db_blocker.unblock(), schema_context(clinic.schema_name):
        owner = User.objects.get(username="owner")
        members = [member_register(name=f"会员{n}", phone=f"1390000{n:04d}", actor=None).pk for n in range(6)]
        item = catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="面膜", sku="MASK",
                                     category=category_create(name="护肤", code="care"), price=PRICE)
    return {"slug": clinic.schema_name, "members": members, "item": item, "owner": owner.pk}


def test_checkouts_committed_at_once_leave_the_rollups_exact_and_nothing_queued(shop, django_db_blocker):
    barrier = threading.Barrier(8)
    errors: list[str] = []
    # Eight checkouts at once: six members, two of them twice.
    plan = [*shop["members"], shop["members"][0], shop["members"][1]]

    def attempt(member_id: int) -> None:
        try:
            with schema_context(shop["slug"]):
                member, actor = Member.objects.get(pk=member_id), User.objects.get(pk=shop["owner"])
                barrier.wait(timeout=60)
                buy(member, actor, shop["item"])
        except Exception as exc:  # noqa: BLE001 - any failure is reported by the test
            errors.append(repr(exc))
        finally:
            connection.close()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=attempt, args=(pk,)) for pk in plan]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with schema_context(shop["slug"]):
            assert queued() == []
            assert rollups_check() == []
            visits = {pk: sum(v for _day, v, _revenue in member_days(pk)) for pk in shop["members"]}
            assert visits == {pk: plan.count(pk) for pk in shop["members"]}


def test_the_refresh_at_commit_runs_in_the_clinics_schema_whatever_the_search_path(shop, django_db_blocker):
    with django_db_blocker.unblock():
        connection.close()
        with transaction.atomic():
            with schema_context(shop["slug"]):
                member = member_register(name="晚到会员", phone="13911112222", actor=None)
                visit = buy(member, User.objects.get(pk=shop["owner"]), shop["item"]).visit
                before = member_days(member.pk)
            # Back in public before the commit: the deferred refresh must still find the clinic's tables.
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM clinics_clinic")
                cursor.execute("SHOW search_path")
                assert shop["slug"] not in cursor.fetchone()[0]
        with schema_context(shop["slug"]):
            after = member_days(member.pk)
            assert queued() == [] and rollups_check() == []
        connection.close()
    assert before == []  # not refreshed before the commit (no reader asked)
    assert after == [(local_date(visit.visited_at), 1, visit.total)]


def plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


def test_a_refresh_of_one_member_or_of_many_at_once_leaves_the_rollups_exact(owner, item):
    """A checkout refreshes one member on plans kept for the session (insights/0008); a transaction
    that wrote visits of more than 100 members refreshes them on plans made for them. Either way
    the rollups equal the visits, and the session's plan setting is left as it was."""
    members = Member.objects.bulk_create(
        Member(member_number=f"T{n:05d}", name=f"批量{n}", phone=f"+86139{n:08d}", referral_code=f"RB{n:06d}",
               joined_on=local_date(timezone.now())) for n in range(130))
    before = plan_cache_mode()

    buy(members[0], owner, item)
    assert rollups_check() == [] and len(member_days(members[0].pk)) == 1

    for member in members[1:]:
        buy(member, owner, item)
    assert len(queued()[0][0]) == 2 * 129  # the visits' and the lines' keys, refreshed together

    assert rollups_check() == []
    assert [member_days(member.pk)[0][1:] for member in members[1:]] == [(1, 2 * PRICE)] * 129
    assert plan_cache_mode() == before


def test_writes_to_the_clinics_tables_from_another_search_path_keep_the_rollups_exact(owner, item):
    """A platform command or psql naming the clinic's schema (insights/0009): the statement
    triggers find the rollups in the schema of the table written, and leave the search path as it
    was."""
    from datetime import timedelta

    from points.models import Entry
    from points.tests.factories import account_of, constraints_check, points_give

    member = member_register(name="跨库会员", phone="13800002222", actor=owner)
    visit = buy(member, owner, item).visit
    points_give(member, 10)
    assert rollups_check() == []
    account, balance = account_of(member).pk, account_of(member).balance
    clinic, schema = connection.tenant, connection.schema_name

    connection.set_schema_to_public()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"""UPDATE "{schema}".visits_visit SET visited_at = visited_at - interval '1 day'
                               WHERE id = %s""", [visit.pk])  # noqa: S608 - the test's own schema name
            cursor.execute(f"""INSERT INTO "{schema}".points_entry
                                   (account_id, kind, amount, balance_after, source_type, source_id, reason,
                                    effective_at, created_at)
                               VALUES (%s, %s, 5, %s, 'test', '', '', now(), now()) RETURNING id""",  # noqa: S608
                           [account, Entry.Kind.ADJUST, balance + 5])
            entry = cursor.fetchone()[0]
            cursor.execute(f"""INSERT INTO "{schema}".points_lot
                                   (account_id, entry_id, amount, remaining, available_from)
                               VALUES (%s, %s, 5, 5, now())""", [account, entry])  # noqa: S608
            cursor.execute(f'UPDATE "{schema}".points_account SET balance = %s WHERE id = %s',  # noqa: S608
                           [balance + 5, account])
            cursor.execute("SHOW search_path")
            assert schema not in cursor.fetchone()[0]
        constraints_check()  # the ledger's checks and the rollups' refresh, as at commit
    finally:
        connection.set_tenant(clinic)

    assert rollups_check() == []
    assert member_days(member.pk) == [(local_date(visit.visited_at - timedelta(days=1)), 1, visit.total)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(amount) FROM insights_pointsday WHERE kind = %s", [Entry.Kind.ADJUST])
        assert cursor.fetchone()[0] == 5
