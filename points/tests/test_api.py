from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from points.models import Coupon, CouponTemplate, Entry, PointsAdjustment, Redemption, Reward
from points.rewards import reward_create
from points.rules import loyalty_settings, loyalty_settings_update
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


def post(client, path: str, data: dict):
    return client.post(f"{API}{path}", data, content_type=JSON)


def test_balance_and_statement_for_the_front_desk(desk, member, anon_client):
    points_give(member, 500)

    balance = desk.get(f"{API}members/{member.pk}/balance/")
    statement = desk.get(f"{API}members/{member.pk}/statement/", {"limit": 10})

    assert balance.status_code == 200
    assert balance.json()["available"] == 500
    body = statement.json()
    first = body["entries"][0]
    assert (body["count"], first["balance_after"], first["kind"]) == (1, 500, "earn")
    assert body["open_lots"][0]["remaining"] == 500
    assert anon_client.get(f"{API}members/{member.pk}/balance/").status_code in (401, 403)
    assert desk.get(f"{API}members/999999/balance/").status_code == 404


def test_front_desk_redeems_and_not_enough_points_is_a_400_that_moves_nothing(desk, member, reward):
    points_give(member, 400)

    first = post(desk, f"rewards/{reward.pk}/redeem/", {"member_id": member.pk})
    second = post(desk, f"rewards/{reward.pk}/redeem/", {"member_id": member.pk})

    assert first.status_code == 201, first.json()
    assert first.json()["points"] == 300
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "validation_error"
    assert "100" in second.json()["error"]["message"] and "300" in second.json()["error"]["message"]
    assert account_of(member).balance == 100
    assert Redemption.objects.count() == 1
    reward.refresh_from_db()
    assert reward.stock == 9


def test_rewards_list_says_whether_the_member_can_redeem(desk, member, reward):
    points_give(member, 100)

    offers = desk.get(f"{API}rewards/", {"member": member.pk}).json()

    assert [(o["reward"]["id"], o["can_redeem"]) for o in offers] == [(reward.pk, False)]
    assert "积分不足：可用 100" in offers[0]["refusal"], "in the clinic's language"


def test_adjustments_are_requested_at_the_desk_and_approved_by_a_manager(
        desk, boss, staff_client, practitioner, member):
    request = post(desk, f"members/{member.pk}/adjustments/",
                   {"amount": 5000, "reason_code": "goodwill", "note": "投诉补偿"})
    assert request.status_code == 201, request.json()
    adjustment_id = request.json()["id"]
    assert request.json()["status"] == "pending"

    queue = boss.get(f"{API}adjustments/", {"status": "pending"}).json()
    assert [a["id"] for a in queue] == [adjustment_id]
    assert post(desk, f"adjustments/{adjustment_id}/approve/", {}).status_code == 403
    assert post(staff_client(practitioner), f"members/{member.pk}/adjustments/",
                {"amount": 5, "reason_code": "goodwill", "note": "x"}).status_code == 403

    approved = post(boss, f"adjustments/{adjustment_id}/approve/", {"note": "同意"})
    assert approved.status_code == 200
    assert approved.json()["status"] == "applied"
    assert account_of(member).balance == 5000


def test_a_manager_approving_their_own_adjustment_gets_a_403(boss, member):
    adjustment_id = post(boss, f"members/{member.pk}/adjustments/",
                         {"amount": 5000, "reason_code": "correction", "note": "补录"}).json()["id"]

    response = post(boss, f"adjustments/{adjustment_id}/approve/", {})

    assert response.status_code == 403
    assert PointsAdjustment.objects.get(pk=adjustment_id).status == "pending"


def test_bad_input_is_a_400_with_field_errors_in_the_clinic_language(desk, member):
    response = post(desk, f"members/{member.pk}/adjustments/", {"amount": "很多", "reason_code": "bribe"})

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"amount", "reason_code", "note"}
    assert "整数" in fields["amount"][0]
    assert "该字段是必填项" in fields["note"][0]
    assert not PointsAdjustment.objects.exists()


def test_managers_run_the_catalogue_and_issue_coupons(desk, boss, member, serum):
    template = {"name": "满300减30", "kind": "fixed", "amount": "30.00", "valid_days": 30, "min_spend": "300"}
    assert post(desk, "coupon-templates/", template).status_code == 403
    created = post(boss, "coupon-templates/", template)
    assert created.status_code == 201, created.json()
    template_id = created.json()["id"]

    reward = {"name": "30元券", "kind": "coupon", "points_cost": 300, "coupon_template": template_id}
    assert post(desk, "rewards/", reward).status_code == 403
    assert post(boss, "rewards/", reward).status_code == 201

    assert post(desk, "coupons/", {"member_id": member.pk, "template_id": template_id}).status_code == 403
    issued = post(boss, "coupons/", {"member_id": member.pk, "template_id": template_id})
    assert issued.status_code == 201
    code = issued.json()["code"]

    found = desk.get(f"{API}coupons/{code.lower()}/")
    assert (found.status_code, found.json()["status"]) == (200, "issued")
    usable = desk.get(f"{API}coupons/", {"member": member.pk, "usable": "1"}).json()
    assert [coupon["code"] for coupon in usable] == [code]
    assert desk.get(f"{API}coupons/NOSUCHCODE/").status_code == 404


def test_an_incomplete_coupon_template_is_a_400_naming_the_field(boss):
    response = post(boss, "coupon-templates/", {"name": "打折", "kind": "percent", "valid_days": 10})

    assert response.status_code == 400
    assert "percent" in response.json()["error"]["fields"]
    assert not CouponTemplate.objects.exists()


def test_a_reward_edited_and_a_used_one_kept(boss, member, reward):
    points_give(member, 300)
    post(boss, f"rewards/{reward.pk}/redeem/", {"member_id": member.pk})

    patched = boss.patch(f"{API}rewards/{reward.pk}/", {"points_cost": 250}, content_type=JSON)
    deleted = boss.delete(f"{API}rewards/{reward.pk}/")

    assert (patched.status_code, patched.json()["points_cost"]) == (200, 250)
    assert deleted.status_code == 400
    assert Reward.objects.filter(pk=reward.pk).exists()


def test_cancelling_a_redemption_needs_a_manager_and_gives_points_back(desk, boss, member, reward):
    points_give(member, 300)
    redemption_id = post(desk, f"rewards/{reward.pk}/redeem/", {"member_id": member.pk}).json()["id"]

    assert post(desk, f"redemptions/{redemption_id}/cancel/", {"reason": "错了"}).status_code == 403
    cancelled = post(boss, f"redemptions/{redemption_id}/cancel/", {"reason": "错了"})

    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert account_of(member).balance == 300
    assert Entry.objects.filter(kind=Entry.Kind.RESTORE).count() == 1


def test_a_coupon_is_voided_by_a_manager(boss, desk, member, make_template):
    template = make_template(amount=Decimal("20.00"))
    code = post(boss, "coupons/", {"member_id": member.pk, "template_id": template.pk}).json()["code"]

    assert post(desk, f"coupons/{code}/void/", {"reason": "发错"}).status_code == 403
    assert post(boss, f"coupons/{code}/void/", {"reason": "发错"}).json()["status"] == "void"
    assert Coupon.objects.get(code=code).events.filter(kind="voided").exists()


@pytest.mark.parametrize("field", ["expiry_months", "year_end_carry_years", "pending_days", "expiry_warning_days"])
def test_settings_that_move_dates_beyond_the_calendar_are_a_400_that_changes_nothing(staff_client, owner, field):
    before = loyalty_settings()

    response = staff_client(owner).put(f"{API}settings/", {field: 2_000_000_000}, content_type="application/json",
                                       HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert getattr(loyalty_settings(), field) == getattr(before, field)
    with pytest.raises(ValidationError):
        loyalty_settings_update(**{field: 2_000_000_000})
