"""Points API endpoints not covered elsewhere: the adjustment queue and rejection, a member's
redemptions, coupon templates in full, and reward detail."""

from decimal import Decimal

import pytest

from points.coupons import coupon_issue
from points.models import CouponTemplate, Entry, PointsAdjustment, Reward
from points.rewards import reward_create, reward_redeem
from points.rules import loyalty_settings_update
from points.tests.factories import account_of, points_give

API = "/api/v1/points/"
JSON = "application/json"


@pytest.fixture
def desk(staff_client, front_desk):
    return staff_client(front_desk)


@pytest.fixture
def boss(staff_client, manager):
    return staff_client(manager)


@pytest.fixture
def reward(serum) -> Reward:
    return reward_create(name="精华液小样", kind=Reward.Kind.PRODUCT, points_cost=300, item=serum, stock=10)


def request_adjustment(client, member, amount: int, note: str = "补录"):
    return client.post(f"{API}members/{member.pk}/adjustments/",
                       {"amount": amount, "reason_code": "correction", "note": note}, content_type=JSON)


def test_adjustment_queue_lists_by_status_and_per_member(desk, boss, member, make_member, practitioner,
                                                         staff_client):
    # given one applied and two pending adjustments, one of them for another member
    loyalty_settings_update(adjustment_approval_threshold=100)
    other = make_member("李娜")
    small = request_adjustment(desk, member, 50).json()
    big = request_adjustment(desk, member, 500).json()
    theirs = request_adjustment(desk, other, 800).json()

    # then the queue lists the pending ones, newest first, and the member's list only theirs
    pending = desk.get(f"{API}adjustments/", {"status": "pending"}).json()
    assert [row["id"] for row in pending] == [theirs["id"], big["id"]]
    assert {row["id"] for row in desk.get(f"{API}adjustments/").json()} == {small["id"], big["id"], theirs["id"]}
    assert {row["id"] for row in desk.get(f"{API}members/{member.pk}/adjustments/").json()} == {
        small["id"], big["id"]}
    assert desk.get(f"{API}adjustments/", {"status": "maybe"}).status_code == 400
    assert staff_client(practitioner).get(f"{API}adjustments/").status_code == 403


def test_a_manager_rejects_a_pending_adjustment_and_nothing_moves(desk, boss, member, manager):
    loyalty_settings_update(adjustment_approval_threshold=100)
    pending = request_adjustment(desk, member, 500).json()

    # the front desk may not decide
    assert desk.post(f"{API}adjustments/{pending['id']}/reject/", {}, content_type=JSON).status_code == 403

    rejected = boss.post(f"{API}adjustments/{pending['id']}/reject/", {"note": "没有凭证"}, content_type=JSON)

    assert rejected.status_code == 200
    body = rejected.json()
    assert (body["status"], body["decision_note"], body["decided_by"]["id"], body["entry"]) == (
        "rejected", "没有凭证", manager.pk, None)
    assert account_of(member).balance == 0
    assert not Entry.objects.filter(kind=Entry.Kind.ADJUST).exists()
    # and a decided adjustment cannot be decided again
    again = boss.post(f"{API}adjustments/{pending['id']}/approve/", {}, content_type=JSON)
    assert again.status_code == 400
    assert PointsAdjustment.objects.get().status == "rejected"
    assert boss.post(f"{API}adjustments/999999/reject/", {}, content_type=JSON).status_code == 404


def test_a_members_redemptions_newest_first(desk, member, make_member, reward, front_desk):
    points_give(member, 1000)
    first = reward_redeem(member=member, reward=reward, actor=front_desk)
    second = reward_redeem(member=member, reward=reward, actor=front_desk)
    other = make_member("李娜")
    points_give(other, 300)
    reward_redeem(member=other, reward=reward, actor=front_desk)

    rows = desk.get(f"{API}members/{member.pk}/redemptions/").json()

    assert [row["id"] for row in rows] == [second.pk, first.pk]
    assert {(row["reward_name"], row["points"], row["status"]) for row in rows} == {("精华液小样", 300, "completed")}
    assert desk.get(f"{API}members/999999/redemptions/").status_code == 404


def test_coupon_templates_listed_read_changed_and_deleted_by_managers(desk, boss, make_template, member,
                                                                      manager):
    used = make_template(name="满500减50")
    spare = make_template(name="生日券", kind="percent", amount=None, percent=10, cap=Decimal("100"))
    hidden = make_template(name="旧券", active=False)
    coupon_issue(template=used, member=member, actor=manager, source="manual")

    # every staff member lists active templates (all with ?all=1) and reads one
    assert {row["name"] for row in desk.get(f"{API}coupon-templates/").json()} == {"满500减50", "生日券"}
    assert {row["id"] for row in desk.get(f"{API}coupon-templates/", {"all": "1"}).json()} == {
        used.pk, spare.pk, hidden.pk}
    detail = desk.get(f"{API}coupon-templates/{spare.pk}/").json()
    assert (detail["kind"], detail["percent"], detail["cap"]) == ("percent", 10, "100.00")

    # only managers change or delete one
    assert desk.patch(f"{API}coupon-templates/{spare.pk}/", {"percent": 20}, content_type=JSON).status_code == 403
    assert desk.delete(f"{API}coupon-templates/{spare.pk}/").status_code == 403
    changed = boss.patch(f"{API}coupon-templates/{spare.pk}/", {"percent": 20, "min_spend": "300.00"},
                         content_type=JSON)
    assert changed.status_code == 200
    assert (changed.json()["percent"], changed.json()["min_spend"]) == (20, "300.00")

    # bad input is a 400 on the field, and nothing changes
    bad = boss.patch(f"{API}coupon-templates/{spare.pk}/", {"percent": 150}, content_type=JSON)
    assert bad.status_code == 400 and "percent" in bad.json()["error"]["fields"]
    assert CouponTemplate.objects.get(pk=spare.pk).percent == 20

    # a template in use is kept; an unused one is deleted
    refused = boss.delete(f"{API}coupon-templates/{used.pk}/")
    assert refused.status_code == 400
    assert CouponTemplate.objects.filter(pk=used.pk).exists()
    assert boss.delete(f"{API}coupon-templates/{spare.pk}/").status_code == 204
    assert not CouponTemplate.objects.filter(pk=spare.pk).exists()
    assert desk.get(f"{API}coupon-templates/{spare.pk}/").status_code == 404


def test_reward_detail_for_staff_including_inactive_ones(desk, boss, reward):
    assert desk.get(f"{API}rewards/{reward.pk}/").json()["name"] == "精华液小样"

    boss.patch(f"{API}rewards/{reward.pk}/", {"active": False}, content_type=JSON)

    detail = desk.get(f"{API}rewards/{reward.pk}/").json()
    assert (detail["active"], detail["stock"], detail["item_name"]) == (False, 10, "精华液")
    assert desk.get(f"{API}rewards/999999/").status_code == 404
    assert desk.patch(f"{API}rewards/{reward.pk}/", {"active": True}, content_type=JSON).status_code == 403
