"""The rewards catalogue and the coupon templates, kept by a manager."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from points.coupons import coupon_template_update
from points.models import CouponTemplate, Reward
from points.rewards import reward_create
from tiers.models import Tier

from .conftest import field_error, form_token


def reward_data(**changes) -> dict:
    return {"name": "免费光子嫩肤", "kind": "treatment", "points_cost": "8000", "stock": "10",
            "per_member_limit": "1", "active": "on", "description": "每人限一次", **changes}


@pytest.fixture
def reward(facial) -> Reward:
    return reward_create(name="光子体验", kind=Reward.Kind.TREATMENT, points_cost=5000, item=facial, stock=3)


def test_the_rewards_page_lists_rewards_with_stock_limits_and_tiers(manager_client, reward):
    gold = Tier.objects.get(name="金卡")
    reward.allowed_tiers.set([gold])

    content = manager_client.get("/manage/rewards/").content.decode()

    assert "光子体验" in content and "5000" in content and "金卡" in content
    assert f"/manage/rewards/{reward.pk}/active/" in content


def test_a_manager_adds_a_reward_limited_to_tiers(manager_client, facial):
    gold, diamond = Tier.objects.get(name="金卡"), Tier.objects.get(name="钻石卡")
    token = form_token(manager_client.get("/manage/rewards/new/"))

    response = manager_client.post("/manage/rewards/new/", reward_data(
        item=facial.pk, allowed_tiers=[gold.pk, diamond.pk], form_token=token))

    assert response.status_code == 302
    reward = Reward.objects.get(name="免费光子嫩肤")
    assert (reward.kind, reward.points_cost, reward.item, reward.stock, reward.per_member_limit, reward.active) == (
        "treatment", 8000, facial, 10, 1, True)
    assert set(reward.allowed_tiers.all()) == {gold, diamond}


def test_a_double_click_on_add_reward_adds_it_once(manager_client, facial):
    data = reward_data(item=facial.pk, form_token=form_token(manager_client.get("/manage/rewards/new/")))

    manager_client.post("/manage/rewards/new/", data)
    manager_client.post("/manage/rewards/new/", data)

    assert Reward.objects.filter(name="免费光子嫩肤").count() == 1


def test_a_coupon_reward_needs_its_coupon_next_to_that_field(manager_client):
    token = form_token(manager_client.get("/manage/rewards/new/"))

    response = manager_client.post("/manage/rewards/new/", reward_data(kind="coupon", form_token=token))

    assert response.status_code == 400
    assert field_error(response, "coupon_template")
    assert not Reward.objects.exists()


@pytest.mark.parametrize(("field", "value"), [("points_cost", "0"), ("points_cost", ""), ("stock", "-1"),
                                              ("kind", "cash")])
def test_a_bad_reward_edit_is_shown_next_to_its_field_and_nothing_changes(manager_client, reward, facial,
                                                                          field, value):
    response = manager_client.post(f"/manage/rewards/{reward.pk}/", reward_data(item=facial.pk, **{field: value}))

    assert response.status_code == 400
    assert field_error(response, field)
    reward.refresh_from_db()
    assert (reward.name, reward.points_cost, reward.stock) == ("光子体验", 5000, 3)


def test_a_manager_restocks_a_reward_and_makes_it_unlimited_per_member(manager_client, reward, facial):
    response = manager_client.post(f"/manage/rewards/{reward.pk}/", reward_data(
        name="光子体验", points_cost="4500", item=facial.pk, stock="", per_member_limit=""))

    assert response.status_code == 302
    reward.refresh_from_db()
    assert (reward.points_cost, reward.stock, reward.per_member_limit) == (4500, None, None)


def test_a_manager_deactivates_and_reactivates_a_reward(manager_client, reward):
    manager_client.post(f"/manage/rewards/{reward.pk}/active/", {"active": "0"})
    manager_client.post(f"/manage/rewards/{reward.pk}/active/", {"active": "0"})
    assert Reward.objects.get(pk=reward.pk).active is False

    manager_client.post(f"/manage/rewards/{reward.pk}/active/", {"active": "1"})
    assert Reward.objects.get(pk=reward.pk).active is True
    assert manager_client.post(f"/manage/rewards/{reward.pk}/active/", {"active": "maybe"}).status_code == 404


def coupon_data(**changes) -> dict:
    return {"name": "生日8折券", "kind": "percent", "percent": "20", "cap": "300", "valid_days": "30",
            "min_spend": "200", "per_member_limit": "1", "active": "on", **changes}


def test_a_manager_adds_a_percentage_coupon_for_some_categories(manager_client, laser, skincare):
    token = form_token(manager_client.get("/manage/coupons/new/"))

    response = manager_client.post("/manage/coupons/new/", coupon_data(categories=[laser.pk], form_token=token))

    assert response.status_code == 302
    template = CouponTemplate.objects.get(name="生日8折券")
    assert (template.kind, template.percent, template.cap, template.valid_days, template.min_spend,
            template.per_member_limit) == ("percent", 20, Decimal(300), 30, Decimal(200), 1)
    assert list(template.categories.all()) == [laser]
    assert "生日8折券" in manager_client.get("/manage/coupons/").content.decode()


def test_a_double_click_on_add_coupon_adds_it_once(manager_client):
    data = coupon_data(form_token=form_token(manager_client.get("/manage/coupons/new/")))

    manager_client.post("/manage/coupons/new/", data)
    manager_client.post("/manage/coupons/new/", data)

    assert CouponTemplate.objects.filter(name="生日8折券").count() == 1


@pytest.mark.parametrize(("changes", "field"), [
    ({"percent": "150"}, "percent"),
    ({"percent": ""}, "percent"),
    ({"kind": "fixed", "amount": ""}, "amount"),
    ({"kind": "free_item"}, "free_item"),
    ({"valid_days": ""}, "valid_days"),
    ({"valid_from": "2026-05-01", "valid_until": "2026-04-01"}, "valid_until"),
    ({"valid_from": "not a day"}, "valid_from"),
])
def test_a_bad_coupon_template_is_shown_next_to_its_field_and_nothing_is_created(manager_client, changes, field):
    token = form_token(manager_client.get("/manage/coupons/new/"))

    response = manager_client.post("/manage/coupons/new/", coupon_data(form_token=token, **changes))

    assert response.status_code == 400
    assert field_error(response, field)
    assert not CouponTemplate.objects.exists()


def test_a_manager_edits_a_coupon_template_to_fixed_dates(manager_client, voucher):
    response = manager_client.post(f"/manage/coupons/{voucher.pk}/", coupon_data(
        name="满500减80", kind="fixed", amount="80", percent="", cap="", valid_days="",
        valid_from="2026-12-01", valid_until="2026-12-31"))

    assert response.status_code == 302
    voucher.refresh_from_db()
    assert (voucher.name, voucher.amount, voucher.valid_days, voucher.valid_from, voucher.valid_until) == (
        "满500减80", Decimal(80), None, date(2026, 12, 1), date(2026, 12, 31))


def test_a_manager_deactivates_a_coupon_template(manager_client, voucher):
    response = manager_client.post(f"/manage/coupons/{voucher.pk}/active/", {"active": "0"})

    assert response.status_code == 302
    assert CouponTemplate.objects.get(pk=voucher.pk).active is False


def test_the_coupon_service_refuses_a_front_desk_actor(front_desk, voucher):
    with pytest.raises(PermissionDenied):
        coupon_template_update(template=voucher, actor=front_desk, active=False)

    assert CouponTemplate.objects.get(pk=voucher.pk).active is True


def test_the_kind_is_a_choice_of_real_kinds_only(manager_client):
    content = manager_client.get("/manage/rewards/new/").content.decode()

    assert 'name="kind" value=""' not in content
    for kind in ("treatment", "product", "coupon"):
        assert f'name="kind" value="{kind}"' in content
