"""A small write (a checkout's points entry, a visit's line) finds its account or visit by key in
the rollups' statement triggers (insights/0010): the trigger no longer reads the clinic's every
points account or visit for it. A large write keeps one join. Either way the points rollup counts
the points accounts' entries only, exactly."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from members.models import Member
from points.ledger import OpeningLot, Source, ledger_open_many
from points.models import Asset, Entry
from points.tests.factories import points_give
from visits.models import Visit, VisitLine

MEMBERS = 3000


def rows_read(table: str) -> int:
    """The rows of `table` read in this transaction so far, by sequential and index scans."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables
                          WHERE schemaname = current_schema() AND relname = %s""", [table])
        return cursor.fetchone()[0]


def rollup_points(kind: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(amount), 0) FROM insights_pointsday WHERE kind = %s", [kind])
        return cursor.fetchone()[0]


def queued_members() -> list[int]:
    """The members this transaction queued for the rollups' refresh at commit, in order."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT members FROM insights_rolluppending WHERE transaction_id = pg_current_xact_id()")
        row = cursor.fetchone()
        return row[0] if row else []


# PostgreSQL plans a trigger's statement for the rows at hand five times in a session, then may
# keep one plan for any number of rows: a web process's plan, made while the clinic was small.
WARM = 6


@pytest.fixture
def clinic_of_thousands(owner):
    """3,000 members, each with a points account, a stored-value card and a visit, written after
    the session's triggers planned their statements on a clinic of a few (as a web process that
    has been up since the clinic was small; nothing analysed since)."""
    today, now = date.today(), timezone.now()
    members = Member.objects.bulk_create(
        Member(member_number=f"T{n:05d}", name="会员", name_initials="hy", name_pinyin="huiyuan",
               phone=f"+8613{n:09d}", referral_code=f"T{n:05d}", joined_on=today) for n in range(MEMBERS))
    for member in members[:WARM]:
        points_give(member, 1, kind=Entry.Kind.ADJUST)
        visit = Visit.objects.create(member=member, visited_at=now - timedelta(days=1), staff=owner,
                                     subtotal=Decimal(100), total=Decimal(100))
        VisitLine.objects.create(visit=visit, name="面膜", quantity=1, unit_price=Decimal(100),
                                 line_total=Decimal(100))
    with transaction.atomic():
        ledger_open_many(lots=[lot for member in members for lot in (
            OpeningLot(member.pk, Asset.POINTS, 100, now, None, "", f"t:p:{member.pk}"),
            OpeningLot(member.pk, Asset.STORED_VALUE_PRINCIPAL, 10_000, now, None, "", f"t:s:{member.pk}"))],
            kind=Entry.Kind.OPENING, source=Source("test"), actor=owner, at=now)
    Visit.objects.bulk_create(Visit(member=member, visited_at=now - timedelta(days=1), staff=owner,
                                    subtotal=Decimal(100), total=Decimal(100)) for member in members[WARM:])
    return members


def test_a_single_points_entry_reads_its_own_account_only(clinic_of_thousands):
    imported = rollup_points(Entry.Kind.OPENING)
    assert imported == 100 * MEMBERS  # the card's entries went in the same statements and count for nothing
    before = rows_read("points_account")

    points_give(clinic_of_thousands[1234], 7, kind=Entry.Kind.ADJUST)

    # Its account, found to lock it, to update it and by the triggers; before 0010 the trigger read
    # every points account of the clinic.
    assert rows_read("points_account") - before <= 5
    assert rollup_points(Entry.Kind.ADJUST) == WARM + 7


def test_a_single_card_entry_adds_nothing_to_the_points_rollup(clinic_of_thousands, owner):
    adjusted = rollup_points(Entry.Kind.ADJUST)
    before = rows_read("points_account")
    with transaction.atomic():
        ledger_open_many(lots=[OpeningLot(clinic_of_thousands[42].pk, Asset.STORED_VALUE_BONUS, 500, timezone.now(),
                                          None, "", "t:b:42")],
                         kind=Entry.Kind.ADJUST, source=Source("test"), actor=owner, at=timezone.now())
    assert rows_read("points_account") - before <= 5
    assert rollup_points(Entry.Kind.ADJUST) == adjusted


def test_a_large_write_counts_its_points_entries_exactly(clinic_of_thousands, owner):
    """150 points lots and 150 card lots in one statement: more than the 100 rows found by key."""
    now = timezone.now()
    with transaction.atomic():
        ledger_open_many(lots=[lot for n, member in enumerate(clinic_of_thousands[:150]) for lot in (
            OpeningLot(member.pk, Asset.POINTS, n + 1, now, None, "", f"t:p2:{member.pk}"),
            OpeningLot(member.pk, Asset.STORED_VALUE_BONUS, 1000, now, None, "", f"t:b2:{member.pk}"))],
            kind=Entry.Kind.ADJUST, source=Source("test"), actor=owner, at=now)
    assert rollup_points(Entry.Kind.ADJUST) == WARM + sum(range(1, 151))


def test_a_single_visit_line_reads_its_own_visit_only(clinic_of_thousands):
    member = clinic_of_thousands[2000]
    visit = Visit.objects.get(member=member)
    before = rows_read("visits_visit")
    queued_before = len(queued_members())

    VisitLine.objects.create(visit=visit, name="面膜", quantity=1, unit_price=Decimal(100),
                             line_total=Decimal(100))

    assert rows_read("visits_visit") - before <= 2  # its visit, checked by the foreign key and the trigger
    assert queued_members()[queued_before:] == [member.pk]


def test_a_large_write_of_visit_lines_queues_every_visits_member(clinic_of_thousands):
    visits = list(Visit.objects.filter(member__in=clinic_of_thousands[WARM:150]))
    queued_before = len(queued_members())
    VisitLine.objects.bulk_create(VisitLine(visit=visit, name="面膜", quantity=1, unit_price=Decimal(100),
                                            line_total=Decimal(100)) for visit in visits)
    assert sorted(queued_members()[queued_before:]) == sorted(member.pk for member in clinic_of_thousands[WARM:150])
