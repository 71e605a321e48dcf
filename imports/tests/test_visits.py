from datetime import UTC, datetime
from decimal import Decimal

import pytest

from imports.models import ImportRun
from imports.services import members_import, visits_import
from imports.tests.conftest import csv_file, sample_file
from members.models import Member
from members.services import member_merge, member_register
from points.models import Entry
from tiers.models import TierChange
from tiers.selectors import member_current_tier
from visits.models import Payment, Visit

HEADER = "member_number,phone,visited_at,external_ref,item_sku,item_name,category,quantity,unit_price,discount," \
         "paid,payment_method\n"


def visits(text: str, actor, **kwargs):
    return visits_import(file=csv_file(HEADER + text, name="visits.csv"), actor=actor, **kwargs)


@pytest.fixture
def sample_members(manager, categories, sample_time):
    members_import(file=sample_file("members.csv"), actor=manager)


def test_the_sample_file_becomes_imported_visits_with_lines_payments_and_totals(manager, sample_members):
    report = visits_import(file=sample_file("visits.csv"), actor=manager)

    assert (report.status, report.rows, report.imported, report.created, report.errors) == (
        ImportRun.Status.COMPLETED, 6, 6, 4, [])
    visit = Visit.objects.get(external_ref="HIS-250315-001")
    assert (visit.member.member_number, visit.source, visit.staff) == ("A0001", Visit.Source.IMPORT, None)
    assert visit.visited_at == datetime(2025, 3, 15, 6, 30, tzinfo=UTC)
    assert (visit.subtotal, visit.line_discount, visit.total) == (
        Decimal("4996.00"), Decimal("300.00"), Decimal("4696.00"))
    assert [(line.name, line.category.code, line.quantity, line.unit_price, line.discount, line.line_total)
            for line in visit.lines.all()] == [
        ("玻尿酸填充（1ml）", "injectables", 1, Decimal("4800.00"), Decimal("300.00"), Decimal("4500.00")),
        ("医用修复面膜", "skincare", 2, Decimal("98.00"), Decimal("0.00"), Decimal("196.00"))]
    assert list(visit.payments.values_list("method", "amount")) == [("wechat_pay", Decimal("4696.00"))]
    split = Visit.objects.get(external_ref="HIS-260108-012")
    assert sorted(split.payments.values_list("method", "amount")) == [
        ("bank_card", Decimal("15000.00")), ("cash", Decimal("380.00"))]
    by_phone = Visit.objects.get(external_ref="HIS-251120-003")
    assert (by_phone.member.member_number, by_phone.total) == ("A0003", Decimal("348.00"))
    date_only = Visit.objects.get(external_ref="HIS-250502-007")
    assert date_only.visited_at == datetime(2025, 5, 2, 4, 0, tzinfo=UTC)


def test_imported_visits_earn_no_points_but_count_toward_tiers(manager, sample_members):
    visits_import(file=sample_file("visits.csv"), actor=manager)

    assert not Entry.objects.exists()
    liu = Member.objects.get(member_number="A0005")
    assert member_current_tier(liu).rank == 1
    change = TierChange.objects.get(member=liu)
    assert (change.kind, change.actor, change.metrics["spend"]) == (TierChange.Kind.UPGRADE, manager, "15380.00")
    assert member_current_tier(Member.objects.get(member_number="A0001")).rank == 0


def test_a_catalogue_item_gives_name_category_and_price(manager, member, hydra_facial):
    report = visits(f"{member.member_number},,2025-03-01,R1,hy-01,,,2,,180.00,,alipay\n", manager)

    assert report.errors == []
    line = Visit.objects.get().lines.get()
    assert (line.item, line.name, line.category, line.unit_price, line.discount, line.line_total) == (
        hydra_facial, "水光针", hydra_facial.category, Decimal("1980.00"), Decimal("180.00"), Decimal("3780.00"))


def test_a_file_with_bad_rows_imports_nothing_and_says_where(manager, member, categories, sample_time):
    report = visits(
        "OLD-001,,2025-03-01,R1,,光子嫩肤,laser,1,1280,,1280,cash\n"
        "NOPE,,2025-03-01,R2,,光子嫩肤,laser,1,1280,,,cash\n"
        "OLD-001,,2030-01-01,R3,,光子嫩肤,laser,1,1280,,,cash\n"
        "OLD-001,,2025-03-01,R4,,光子嫩肤,lasers,1,1280,100,1000,cash\n"
        "OLD-001,,2025-03-01,R5,NOSKU,,,1,,,,cash\n"
        "OLD-001,,2025-03-01,,,光子嫩肤,laser,0,abc,,,bitcoin\n"
        "OLD-001,13900000000,2025-03-01,R7,,光子嫩肤,laser,1,1280,,,\n", manager)

    assert report.status == ImportRun.Status.REJECTED
    assert [(error.line, error.column) for error in report.errors] == [
        (3, "member_number"), (4, "visited_at"), (5, "category"), (5, "paid"), (6, "item_sku"),
        (7, "external_ref"), (7, "quantity"), (7, "unit_price"), (7, "payment_method"), (8, "phone")]
    assert "NOPE" in report.errors[0].message
    assert not Visit.objects.exists()


def test_skip_mode_skips_a_receipt_whole_when_one_of_its_rows_is_bad(manager, member, categories):
    report = visits(
        "OLD-001,,2025-03-01,R1,,光子嫩肤,laser,1,1280,,,cash\n"
        "OLD-001,,2025-03-01,R1,,面膜,skincare,1,98,,200,cash\n"
        "OLD-001,,2025-04-01,R2,,光子嫩肤,laser,1,1280,,,cash\n", manager, skip_errors=True)

    assert (report.status, report.imported, report.skipped, report.created) == (
        ImportRun.Status.PARTIAL, 1, 2, 1)
    assert [(error.line, error.column) for error in report.errors] == [(2, ""), (3, "paid")]
    assert "line 3" in report.errors[0].message
    assert list(Visit.objects.values_list("external_ref", flat=True)) == ["R2"]


def test_rows_of_one_receipt_must_agree_on_the_time(manager, member, categories):
    report = visits(
        "OLD-001,,2025-03-01 10:00,R1,,光子嫩肤,laser,1,1280,,,cash\n"
        "OLD-001,,2025-03-02 10:00,R1,,面膜,skincare,1,98,,,cash\n", manager)

    assert [(error.line, error.column) for error in report.errors] == [(2, ""), (3, "visited_at")]


def test_importing_a_receipt_again_is_recognised_and_creates_nothing(manager, member, categories, front_desk):
    other = member_register(name="李娜", phone="13900001111", actor=front_desk)
    rows = ("OLD-001,,2025-03-01,R1,,光子嫩肤,laser,1,1280,,,cash\n"
            "OLD-001,,2025-03-01,R1,,面膜,skincare,1,98,,,cash\n")
    visits(rows, manager)

    again = visits(rows + f"{other.member_number},,2025-03-01,R1,,光子嫩肤,laser,1,1280,,,cash\n", manager)

    assert (again.status, again.imported, again.already_imported, again.created) == (
        ImportRun.Status.COMPLETED, 1, 2, 1)
    assert Visit.objects.filter(member=member).count() == 1
    assert Visit.objects.get(member=other).external_ref == "R1"
    assert Payment.objects.filter(visit__member=member).get().amount == Decimal("1378.00")


def test_a_merged_member_s_history_goes_to_the_survivor(manager, member, categories, front_desk):
    duplicate = member_register(name="周晓燕", phone="13900001111", actor=front_desk, member_number="OLD-002")
    member_merge(survivor=member, duplicate=duplicate, actor=manager)

    visits("OLD-002,,2025-03-01,R1,,光子嫩肤,laser,1,1280,,,cash\n", manager)

    assert Visit.objects.get().member == member


def test_a_free_visit_has_no_payment(manager, member, categories):
    visits("OLD-001,,2025-03-01,R1,,复诊,facial,1,0,,,\n", manager)

    visit = Visit.objects.get()
    assert (visit.total, visit.payments.count()) == (Decimal("0.00"), 0)
