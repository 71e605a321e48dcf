"""A retry with the same Idempotency-Key gets the first answer and moves nothing, on every POST
that moves value or creates a member."""

from decimal import Decimal

import pytest

from imports.models import ImportRun
from imports.tests.conftest import csv_file
from members.models import Member, MemberEvent
from members.services import member_register
from points.coupons import coupon_template_create
from points.models import Coupon, Entry, PointsAdjustment, Redemption, Reward
from points.rewards import reward_create
from points.rules import loyalty_settings_update
from points.tests.factories import account_of, points_give
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

JSON = "application/json"


def twice(client, url: str, data, key: str, **kwargs):
    send = (lambda: client.post(url, data, content_type=JSON, headers={"Idempotency-Key": key})) \
        if not kwargs.get("multipart") else (lambda: client.post(url, data(), headers={"Idempotency-Key": key}))
    first, again = send(), send()
    assert again.status_code == first.status_code, (first.content, again.content)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replay"] == "true"
    return first


@pytest.fixture
def member(db) -> Member:
    return member_register(name="张小美", phone="13812345678", actor=None)


def test_registration_replayed_registers_once_and_pays_the_sign_up_bonus_once(staff_client, front_desk):
    # given a sign-up bonus
    loyalty_settings_update(signup_bonus=200)

    # when the same registration is sent twice with one key
    first = twice(staff_client(front_desk), "/api/v1/members/", {"name": "王芳", "phone": "13900001111"}, "reg-1")

    # then one member exists, with one bonus
    assert first.status_code == 201
    member = Member.objects.get(phone="+8613900001111")
    assert account_of(member).balance == 200
    assert Entry.objects.filter(account__member=member).count() == 1


def test_merge_replayed_answers_the_first_result(staff_client, manager):
    # given two registrations of one person
    survivor = member_register(name="张小美", phone="13900008888", actor=None)
    duplicate = member_register(name="张小美", phone="13900009999", actor=None)

    # when the merge is sent twice with one key
    first = twice(staff_client(manager), f"/api/v1/members/{survivor.pk}/merge/",
                  {"duplicate_id": duplicate.pk}, "merge-1")

    # then the second gets the same 200 instead of "already merged", and one merge is recorded
    assert first.status_code == 200
    assert MemberEvent.objects.filter(member=survivor, kind=MemberEvent.Kind.MERGED).count() == 1


def test_balances_import_replayed_imports_once(staff_client, manager, member):
    # given an opening-balances file
    text = "member_number,phone,points,earned_at,expires_at,note,external_ref\n" \
           f"{member.member_number},,800,2026-01-05,,旧系统,\n"

    # when it is uploaded twice with one key
    first = twice(staff_client(manager), "/api/v1/imports/balances/",
                  lambda: {"file": csv_file(text, name="balances.csv")}, "import-1", multipart=True)

    # then one run imported it, and the points are there once
    assert first.status_code == 201, first.json()
    assert ImportRun.objects.count() == 1
    assert account_of(member).balance == 800


def test_a_different_file_under_the_same_key_is_refused(staff_client, manager, member):
    header = "member_number,phone,points,earned_at,expires_at,note,external_ref\n"
    client = staff_client(manager)
    first = client.post("/api/v1/imports/balances/",
                        {"file": csv_file(header + f"{member.member_number},,800,2026-01-05,,,\n")},
                        headers={"Idempotency-Key": "import-2"})
    assert first.status_code == 201

    other = client.post("/api/v1/imports/balances/",
                        {"file": csv_file(header + f"{member.member_number},,900,2026-01-05,,,\n")},
                        headers={"Idempotency-Key": "import-2"})

    assert other.status_code == 422
    assert account_of(member).balance == 800


def test_adjustment_request_replayed_is_recorded_once(staff_client, front_desk, member):
    first = twice(staff_client(front_desk), f"/api/v1/points/members/{member.pk}/adjustments/",
                  {"amount": 50, "reason_code": "goodwill", "note": "久等"}, "adj-1")

    assert first.status_code == 201
    assert PointsAdjustment.objects.count() == 1
    assert account_of(member).balance == 50


def test_approval_replayed_applies_once(staff_client, front_desk, manager, member):
    # given an adjustment above the threshold, waiting for approval
    loyalty_settings_update(adjustment_approval_threshold=100)
    pending = staff_client(front_desk).post(f"/api/v1/points/members/{member.pk}/adjustments/",
                                            {"amount": 500, "reason_code": "correction", "note": "补录"},
                                            content_type=JSON).json()
    assert pending["status"] == "pending"

    # when the approval is sent twice with one key
    first = twice(staff_client(manager), f"/api/v1/points/adjustments/{pending['id']}/approve/", {}, "ok-1")

    # then it applied once (the second did not get "already decided")
    assert first.status_code == 200
    assert account_of(member).balance == 500
    assert Entry.objects.filter(kind=Entry.Kind.ADJUST).count() == 1


def test_redemption_replayed_spends_once(staff_client, front_desk, member):
    # given 1,000 points and a reward of 300 with stock 10
    category = category_create(name="护肤品", code="skincare")
    serum = catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="精华液", sku="SERUM",
                                  category=category, price=Decimal("380.00"))
    reward = reward_create(name="精华液小样", kind=Reward.Kind.PRODUCT, points_cost=300, item=serum, stock=10)
    points_give(member, 1000)

    first = twice(staff_client(front_desk), f"/api/v1/points/rewards/{reward.pk}/redeem/",
                  {"member_id": member.pk}, "redeem-1")

    assert first.status_code == 201
    assert Redemption.objects.count() == 1
    assert account_of(member).balance == 700
    reward.refresh_from_db()
    assert reward.stock == 9


def test_coupon_issue_replayed_issues_one_coupon(staff_client, manager, member):
    template = coupon_template_create(name="满500减50", kind="fixed", amount=Decimal("50"), valid_days=30)

    first = twice(staff_client(manager), "/api/v1/points/coupons/",
                  {"member_id": member.pk, "template_id": template.pk}, "coupon-1")

    assert first.status_code == 201
    assert Coupon.objects.filter(member=member).count() == 1
    assert first.json()["code"] == Coupon.objects.get().code
