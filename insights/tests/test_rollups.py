"""The daily rollups equal the visits: after random checkouts, partial and full refunds, voided and
kept zero-value visits, visits at 23:30 and 00:10 local, on 29 February, visits at a location and a
merge moving visits to another member, every rollup row equals a direct recomputation, and every
figure read from the rollups equals the same figure read directly from the visits and a plain
Python computation over the test's own records."""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction

from appointments.services import booking_check_in, booking_checkout, booking_create
from appointments.tests.conftest import upcoming_monday, world  # noqa: F401 - the world fixture
from checkout.services import LineInput, PaymentInput, checkout_complete, visit_refund
from clinics.models import Clinic
from insights import selectors
from insights.rollups import rollups_check, rollups_flush, rollups_ready, rollups_rebuild
from members.services import member_merge, member_register
from visits.models import CatalogueItem

ZONE = ZoneInfo("Asia/Shanghai")


@dataclass
class Record:
    visit_id: int
    member_id: int
    at: datetime
    total: Decimal
    refunded: Decimal = Decimal("0.00")
    voided: bool = False
    location_id: int | None = None

    @property
    def day(self) -> date:
        return self.at.astimezone(ZONE).date()


def at_local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


def _history(world, owner) -> tuple[list[Record], list]:  # noqa: F811
    rng = random.Random(2024)
    consult = CatalogueItem.objects.create(kind="treatment", name="面诊", sku="FREE", category=world.botox.category,
                                           price=Decimal("0.00"), duration_minutes=15)
    members = [world.member, world.member2] + [
        member_register(name=f"随机{n}", phone=f"1381111{n:04d}", actor=owner, joined_on=date(2023, 11, 1),
                        referral_code=world.member.referral_code if n % 3 == 0 else "")
        for n in range(10)]
    plan = []
    for _ in range(70):
        day = date(2023, 12, 1) + timedelta(days=rng.randrange(150))
        plan.append((at_local(day, rng.choice((9, 12, 18, 23)), rng.choice((0, 30))), rng.choice(members),
                     rng.choice((world.botox, world.facial, world.facial, consult))))
    plan += [(at_local(date(2024, 2, 29), 23, 30), members[2], world.facial),
             (at_local(date(2024, 3, 1), 0, 10), members[2], consult),
             (at_local(date(2024, 1, 31), 23, 30), members[3], world.botox),
             (at_local(date(2024, 2, 29), 10), members[4], consult)]
    plan.sort(key=lambda item: item[0])
    records = []
    for at, member, item in plan:
        quantity = 2 if item == world.facial else 1
        result = checkout_complete(member=member, actor=owner, at=at,
                                   lines=[LineInput(item_id=item.pk, quantity=quantity)],
                                   payments=[PaymentInput("cash", item.price * quantity)] if item.price else [])
        rollups_flush()  # each step commits in real use: the refresh at commit runs per step here too
        record = Record(result.visit.pk, member.pk, at, result.visit.total)
        records.append(record)
        line = result.lines[0]
        roll = rng.random()
        if roll < 0.12 or (record.total == 0 and roll < 0.5):
            refund = visit_refund(visit=result.visit, lines=[(line.pk, line.quantity)], reason="全退", actor=owner,
                                  at=at + timedelta(days=1))
            record.refunded += refund.amount
            record.voided = True
            rollups_flush()
        elif roll < 0.3 and quantity == 2:
            refund = visit_refund(visit=result.visit, lines=[(line.pk, 1)], reason="退一件", actor=owner,
                                  at=at + timedelta(hours=2))
            record.refunded += refund.amount
            rollups_flush()
    monday = upcoming_monday()
    for week, member in enumerate(members[:4]):
        day = monday + timedelta(days=7 * week)
        booking = booking_create(member=member, treatment=world.botox, starts_at=at_local(day, 10), actor=owner,
                                 practitioner=world.dr_a, now=at_local(day, 8))
        booking_check_in(booking=booking, actor=owner, now=at_local(day, 10))
        result = booking_checkout(booking=booking, actor=owner, payments=[PaymentInput("cash", Decimal("2000.00"))],
                                  at=at_local(day, 10, 30))
        records.append(Record(result.visit.pk, member.pk, at_local(day, 10, 30), result.visit.total,
                              location_id=world.location.pk))
        rollups_flush()
    # A merge moves the duplicate's visits to the survivor.
    member_merge(survivor=members[5], duplicate=members[6], actor=owner)
    for record in records:
        if record.member_id == members[6].pk:
            record.member_id = members[5].pk
    assert any(r.voided and r.total == 0 for r in records) and any(not r.voided and r.total == 0 for r in records)
    assert any(r.refunded and not r.voided for r in records)
    return records, members


def _both(monkeypatch, read):
    """The figure read from the rollups and read directly from the visits."""
    assert rollups_ready()
    from_rollups = read()
    with monkeypatch.context() as patched:
        patched.setattr(selectors, "rollups_ready", lambda: False)
        direct = read()
    return from_rollups, direct


def _periods(rng) -> list[selectors.Period]:
    fixed = [selectors.Period(date(2024, 2, 1), date(2024, 2, 29)),
             selectors.Period(date(2024, 2, 29), date(2024, 2, 29)),
             selectors.Period(date(2024, 1, 31), date(2024, 3, 1)),
             selectors.Period(date(2023, 12, 1), date(2024, 4, 30))]
    randoms = []
    for _ in range(6):
        start = date(2023, 11, 15) + timedelta(days=rng.randrange(180))
        randoms.append(selectors.Period(start, start + timedelta(days=rng.randrange(1, 120))))
    monday = upcoming_monday()
    return [*fixed, *randoms, selectors.Period(monday, monday + timedelta(days=30))]


@pytest.mark.django_db
def test_rollups_equal_direct_queries_and_a_plain_computation(world, owner, monkeypatch):  # noqa: F811
    records, _members = _history(world, owner)
    assert rollups_check() == []
    counted = [r for r in records if not r.voided]
    rng = random.Random(7)
    for period in _periods(rng):
        for location in (None, world.location.pk):
            scope = selectors.Scope(period, location)
            rolled, direct = _both(monkeypatch, lambda scope=scope: selectors.kpi_summary(scope=scope))
            assert rolled == direct, (period, location)
            mine = [r for r in counted if period.start <= r.day <= period.end
                    and (location is None or r.location_id == location)]
            per_member: dict[int, int] = {}
            for r in mine:
                per_member[r.member_id] = per_member.get(r.member_id, 0) + 1
            assert rolled.visits == len(mine)
            assert rolled.revenue == sum((r.total - r.refunded for r in mine), Decimal("0.00"))
            assert rolled.active_members == len(per_member)
            assert rolled.repeat_members == sum(1 for n in per_member.values() if n >= 2)
            upto = [r for r in counted if r.day <= period.end and (location is None or r.location_id == location)]
            assert rolled.members_with_visits == len({r.member_id for r in upto})
            assert rolled.revenue_to_date == sum((r.total - r.refunded for r in upto), Decimal("0.00"))
            for unit in selectors.GRANULARITIES:
                rolled_series, direct_series = _both(
                    monkeypatch, lambda scope=scope, unit=unit: selectors.kpi_series(scope=scope, unit=unit))
                assert rolled_series == direct_series, (period, location, unit)
            rolled_rfm, direct_rfm = _both(monkeypatch, lambda scope=scope: selectors.rfm_scores(scope=scope))
            assert rolled_rfm == direct_rfm
            rolled_grid, direct_grid = _both(monkeypatch, lambda scope=scope: selectors.kpi_rfm(scope=scope))
            assert rolled_grid == direct_grid
            # The grid counts the scored members per (r, f) with their spend.
            cells: dict[tuple, list] = {}
            for row in rolled_rfm:
                cell = cells.setdefault((row[4], row[5]), [0, Decimal("0.00")])
                cell[0] += 1
                cell[1] += row[3]
            assert {(c.recency, c.frequency): [c.members, c.revenue] for c in rolled_grid if c.members} == cells
            rolled_tiers, direct_tiers = _both(monkeypatch, lambda scope=scope: selectors.kpi_tiers(scope=scope))
            assert rolled_tiers == direct_tiers
            rolled_referrals, direct_referrals = _both(monkeypatch,
                                                       lambda scope=scope: selectors.kpi_referrals(scope=scope))
            assert rolled_referrals == direct_referrals
        first = period.start.replace(day=1)
        rolled_cohorts, direct_cohorts = _both(monkeypatch, lambda first=first, period=period: selectors.kpi_cohorts(
            first_month=first, last_month=period.end.replace(day=1), months=6, today=date(2030, 1, 1)))
        assert [(c.month, c.size, c.returning) for c in rolled_cohorts] == [
            (c.month, c.size, c.returning) for c in direct_cohorts]


@pytest.mark.django_db
def test_a_rebuild_gives_the_rows_the_triggers_kept(world, owner):  # noqa: F811
    _history(world, owner)
    rollups_flush()  # what the deferred trigger does at commit (the test's transaction never commits)
    with connection.cursor() as cursor:
        cursor.execute("SELECT member_id, day, location_id, visits, revenue FROM insights_memberday ORDER BY 1, 2, 3")
        kept = cursor.fetchall()
        rollups_rebuild()
        cursor.execute("SELECT member_id, day, location_id, visits, revenue FROM insights_memberday ORDER BY 1, 2, 3")
        assert cursor.fetchall() == kept
    assert kept and rollups_check() == []


@pytest.mark.django_db
def test_after_a_time_zone_change_the_figures_stay_exact_until_the_rebuild(world, owner, monkeypatch):  # noqa: F811
    records, _members = _history(world, owner)
    scope = selectors.Scope(selectors.Period(date(2024, 2, 1), date(2024, 2, 29)))
    Clinic.objects.filter(pk=connection.tenant.pk).update(time_zone="Europe/Berlin")
    connection.tenant.time_zone = "Europe/Berlin"
    try:
        assert not rollups_ready()
        berlin = ZoneInfo("Europe/Berlin")
        mine = [r for r in records if not r.voided and date(2024, 2, 1) <= r.at.astimezone(berlin).date()
                <= date(2024, 2, 29)]
        direct = selectors.kpi_summary(scope=scope)
        assert direct.visits == len(mine)
        rollups_rebuild()
        assert rollups_ready() and rollups_check() == []
        assert selectors.kpi_summary(scope=scope) == direct
    finally:
        Clinic.objects.filter(pk=connection.tenant.pk).update(time_zone="Asia/Shanghai")
        connection.tenant.time_zone = "Asia/Shanghai"
        rollups_rebuild()


@pytest.mark.django_db
def test_the_nightly_job_rebuilds_rollups_that_differ_from_the_visits(world, owner):  # noqa: F811
    from insights.tasks import rollups_nightly

    _history(world, owner)
    scope = selectors.Scope(selectors.Period(date(2023, 12, 1), date(2024, 4, 30)))
    before = selectors.kpi_summary(scope=scope)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT (day, location_id)) FROM insights_daytotal")
        rows, days = cursor.fetchone()
    assert rows > days  # the triggers appended a change row per refresh

    first = rollups_nightly.apply().get()

    assert first["rebuilt"] == 0 and first["day_rows_compacted"] >= rows - days
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT (day, location_id)) FROM insights_daytotal")
        assert cursor.fetchone()[0] <= days
    assert selectors.kpi_summary(scope=scope) == before and rollups_check() == []
    with connection.cursor() as cursor:  # as after loading visits with the triggers off
        cursor.execute("DELETE FROM insights_memberday WHERE id IN (SELECT min(id) FROM insights_memberday)")
    assert rollups_check() != []

    result = rollups_nightly.apply().get()

    assert result["rebuilt"] == 1 and result["differences"] >= 1
    assert rollups_check() == []


@pytest.mark.django_db
def test_the_points_rollup_equals_the_ledger(world, owner, monkeypatch):  # noqa: F811
    """Points earned at checkouts, reversed by refunds, moved by the merge (in `_history`), plus
    bonus, adjustments both ways, a redemption and an expiry at 23:30 and 00:10 local and on 29
    February: the points panel read from the rollup equals the panel read from the ledger and a
    plain sum of the entries by their local day."""
    from points.ledger import Source, account_for, ledger_credit, ledger_debit, lots_expire
    from points.models import Asset, Entry

    _records, members = _history(world, owner)
    source = Source("test")
    with transaction.atomic():
        account = account_for(members[7], lock=True)
        ledger_credit(account=account, amount=500, kind="bonus", source=source, actor=owner,
                      at=at_local(date(2024, 2, 29), 23, 30), expires_at=at_local(date(2024, 3, 31), 12))
        ledger_credit(account=account, amount=200, kind="adjust", source=source, actor=owner,
                      at=at_local(date(2024, 3, 1), 0, 10))
        ledger_debit(account=account, amount=50, kind="adjust", source=source, actor=owner,
                     at=at_local(date(2024, 3, 1), 0, 20))
        ledger_credit(account=account, amount=300, kind="bonus", source=source, actor=owner,
                      at=at_local(date(2024, 1, 31), 20))
        ledger_debit(account=account, amount=100, kind="redeem", source=source, actor=owner,
                     at=at_local(date(2024, 1, 31), 23, 30))
    assert lots_expire(now=at_local(date(2024, 4, 1), 3)) >= 1
    assert rollups_check() == []
    entries = [(e.effective_at.astimezone(ZONE).date(), e.kind, e.amount)
               for e in Entry.objects.filter(account__asset=Asset.POINTS)]
    kinds = {kind for _day, kind, _amount in entries}
    assert {"earn", "reverse", "bonus", "adjust", "redeem", "expire"} <= kinds
    rng = random.Random(11)
    for period in [*_periods(rng), selectors.Period(date(2024, 3, 1), date(2024, 3, 1)),
                   selectors.Period(date(2024, 2, 29), date(2024, 2, 29))]:
        scope = selectors.Scope(period)
        rolled, direct = _both(monkeypatch, lambda scope=scope: selectors.kpi_points(scope=scope))
        assert rolled == direct, period
        mine = [(kind, amount) for day, kind, amount in entries if period.start <= day <= period.end]

        def total(wanted, sign=0, mine=mine):
            return sum(a for k, a in mine if k in wanted and (sign == 0 or (a > 0) == (sign > 0)))

        assert rolled.issued == total({"earn", "bonus", "opening"}) + total({"adjust"}, 1), period
        assert rolled.redeemed == -total({"redeem", "restore"})
        assert rolled.expired == -total({"expire"}) and rolled.reversed == -total({"reverse"})
        assert rolled.adjusted_down == -total({"adjust"}, -1)
        assert rolled.outstanding == sum(a for day, _k, a in entries if day <= period.end)


@pytest.mark.django_db
def test_moving_and_deleting_visits_keeps_the_previous_and_next_days_exact(world, owner, monkeypatch):  # noqa: F811
    """A visit moved to another local day and to another member (an UPDATE), and a visit deleted
    with its lines (DELETEs): the triggers recompute the touched members' rows, their previous and
    next days, running totals and first paid day, and the figures still equal the direct ones."""
    from visits.models import Visit, VisitLine

    records, members = _history(world, owner)
    kept = [r for r in records if not r.voided and not r.refunded and r.total > 0 and r.location_id is None]
    moved, gone = kept[0], kept[-1]
    Visit.objects.filter(pk=moved.visit_id).update(visited_at=at_local(date(2024, 2, 29), 23, 30),
                                                   member_id=members[9].pk)
    VisitLine.objects.filter(visit_id=gone.visit_id).delete()
    Visit.objects.filter(pk=gone.visit_id).delete()
    assert not Visit.objects.filter(pk=gone.visit_id).exists()
    assert rollups_check() == []
    for period in (selectors.Period(date(2024, 2, 1), date(2024, 2, 29)),
                   selectors.Period(date(2023, 12, 1), date(2024, 4, 30))):
        scope = selectors.Scope(period)
        for read in (selectors.kpi_summary, selectors.kpi_rfm, selectors.kpi_referrals):
            rolled, direct = _both(monkeypatch, lambda scope=scope, read=read: read(scope=scope))
            assert rolled == direct, (period, read.__name__)
