"""The points mall and the wallet in the portal: redeeming through the same service (once per
form, as the portal), the coupon with its QR code and code, the history tab, and the front desk
taking the coupon at checkout."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from checkout.services import LineInput, PaymentInput, checkout_complete
from frontdesk.tests.helpers import checkout_post
from points.coupons import coupon_template_create, coupon_void
from points.ledger import Source, account_for, ledger_credit
from points.models import Account, Coupon, CouponTemplate, Redemption, Reward
from points.rewards import reward_create
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

pytestmark = pytest.mark.django_db


def give(member, points: int) -> None:
    ledger_credit(account=account_for(member, lock=True), amount=points, kind="earn", source=Source("test"),
                  actor=None, at=timezone.now() - timedelta(days=1))


def key_of(response) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', response.content.decode()).group(1)


@pytest.fixture
def facial(clinic) -> CatalogueItem:
    category = category_create(name="光电", code="light")
    return catalogue_item_create(kind="treatment", name="光子嫩肤", sku="IPL", category=category,
                                 price=Decimal("1200.00"), duration_minutes=60)


@pytest.fixture
def voucher_reward(clinic) -> Reward:
    template = coupon_template_create(name="百元代金券", kind=CouponTemplate.Kind.FIXED, amount=Decimal("100.00"),
                                      valid_days=30, min_spend=Decimal("500.00"))
    return reward_create(name="百元代金券", kind=Reward.Kind.COUPON, points_cost=300, coupon_template=template,
                         stock=5, description="到店消费满500可用")


def test_the_mall_lists_rewards_with_what_the_member_can_redeem_now(portal_client, portal_member, voucher_reward,
                                                                  facial):
    reward_create(name="免费光子", kind=Reward.Kind.TREATMENT, points_cost=100, item=facial)
    reward_create(name="万元大礼", kind=Reward.Kind.COUPON, points_cost=10000,
                  coupon_template=voucher_reward.coupon_template)
    give(portal_member, 400)

    page = portal_client.get("/m/mall/").content.decode()

    assert 'id="mall-available">400<' in page
    assert f'href="/m/mall/{voucher_reward.pk}/"' in page and "到店消费满500可用" in page
    assert "ask the front desk" in page or "前台" in page
    assert "Not enough points" in page or "积分不足" in page


def test_redeeming_asks_for_confirmation_then_puts_the_coupon_in_the_wallet(
        portal_client, portal_member, voucher_reward):
    give(portal_member, 400)
    confirm = portal_client.get(f"/m/mall/{voucher_reward.pk}/")
    assert confirm.status_code == 200 and ">100<" in confirm.content.decode()  # left after redeeming
    assert Redemption.objects.count() == 0

    response = portal_client.post(f"/m/mall/{voucher_reward.pk}/", {"idempotency_key": key_of(confirm)})

    redemption = Redemption.objects.get()
    assert (redemption.member, redemption.channel, redemption.actor) == (portal_member, "portal", None)
    assert response.status_code == 302 and response["Location"] == f"/m/wallet/{redemption.coupon_id}/"
    assert Account.objects.get(member=portal_member).balance == 100
    wallet = portal_client.get("/m/wallet/").content.decode()
    assert "百元代金券" in wallet and f"/m/wallet/{redemption.coupon_id}/" in wallet


def test_a_double_submit_redeems_once(portal_client, portal_member, voucher_reward):
    give(portal_member, 1000)
    key = key_of(portal_client.get(f"/m/mall/{voucher_reward.pk}/"))

    first = portal_client.post(f"/m/mall/{voucher_reward.pk}/", {"idempotency_key": key})
    second = portal_client.post(f"/m/mall/{voucher_reward.pk}/", {"idempotency_key": key})

    assert first["Location"] == second["Location"]
    assert Redemption.objects.count() == 1 and Coupon.objects.count() == 1
    assert Account.objects.get(member=portal_member).balance == 700
    voucher_reward.refresh_from_db()
    assert voucher_reward.stock == 4


def test_a_refused_redemption_says_why_and_moves_nothing(portal_client, portal_member, voucher_reward):
    give(portal_member, 200)

    response = portal_client.post(f"/m/mall/{voucher_reward.pk}/", {"idempotency_key": "a" * 32})

    assert response.status_code == 400
    assert "Not enough points" in response.content.decode() or "积分不足" in response.content.decode()
    assert Redemption.objects.count() == 0 and Account.objects.get(member=portal_member).balance == 200


def test_a_product_reward_cannot_be_redeemed_online(portal_client, portal_member, facial):
    reward = reward_create(name="免费光子", kind=Reward.Kind.TREATMENT, points_cost=100, item=facial)
    give(portal_member, 400)

    response = portal_client.post(f"/m/mall/{reward.pk}/", {"idempotency_key": "b" * 32})

    assert response.status_code == 400 and Redemption.objects.count() == 0


def test_the_coupon_page_shows_the_qr_code_the_code_the_last_day_and_the_conditions(
        portal_client, portal_member, voucher_reward):
    give(portal_member, 400)
    portal_client.post(f"/m/mall/{voucher_reward.pk}/", {"idempotency_key": "c" * 32})
    coupon = Coupon.objects.get()

    page = portal_client.get(f"/m/wallet/{coupon.pk}/").content.decode()

    grouped = f"{coupon.code[:4]}-{coupon.code[4:8]}-{coupon.code[8:]}"
    assert 'class="qr"' in page and f"<title>{grouped}</title>" in page
    assert f'id="coupon-code">{grouped}<' in page
    last_day = timezone.localdate(coupon.valid_until - timedelta(microseconds=1), coupon.valid_until.tzinfo)
    assert last_day == timezone.localdate(timezone.now()) + timedelta(days=30)
    assert "500.00" in page and "100.00" in page


def test_used_and_cancelled_coupons_are_in_the_history_tab(portal_client, portal_member, voucher_reward, facial):
    give(portal_member, 1000)
    portal_client.post(f"/m/mall/{voucher_reward.pk}/", {"idempotency_key": "d" * 32})
    portal_client.post(f"/m/mall/{voucher_reward.pk}/", {"idempotency_key": "e" * 32})
    used, cancelled = Coupon.objects.order_by("id")
    checkout_complete(member=portal_member, lines=[LineInput(item_id=facial.pk)], actor=None,
                      coupon_code=used.code, payments=[PaymentInput(method="cash", amount=Decimal("1100.00"))])
    coupon_void(coupon=cancelled, actor=None, reason="测试")

    active = portal_client.get("/m/wallet/").content.decode()
    history = portal_client.get("/m/wallet/?tab=history").content.decode()

    assert f"/m/wallet/{used.pk}/" not in active and f"/m/wallet/{cancelled.pk}/" not in active
    assert f"/m/wallet/{used.pk}/" in history and f"/m/wallet/{cancelled.pk}/" in history
    assert 'class="qr"' not in portal_client.get(f"/m/wallet/{used.pk}/").content.decode()


def test_the_front_desk_checkout_takes_the_portal_voucher_by_the_code_shown(
        portal_client, portal_member, voucher_reward, facial, staff_client, front_desk):
    give(portal_member, 400)
    location = portal_client.post(f"/m/mall/{voucher_reward.pk}/", {"idempotency_key": "f" * 32})["Location"]
    shown = re.search(r'id="coupon-code">([A-Z0-9-]+)<', portal_client.get(location).content.decode()).group(1)

    response = staff_client(front_desk).post(
        reverse("frontdesk:checkout", args=[portal_member.pk]),
        checkout_post([(facial.pk, 1)], [("cash", "")], coupon_code=shown))

    assert response.status_code == 302
    coupon = Coupon.objects.get()
    assert coupon.status == Coupon.Status.REDEEMED and coupon.discount_given == Decimal("100.00")
    assert coupon.redeemed_visit.total == Decimal("1100.00")


def test_the_staff_api_shows_a_portal_redemption_as_such(portal_client, portal_member, voucher_reward, staff_client,
                                                         front_desk):
    give(portal_member, 400)
    portal_client.post(f"/m/mall/{voucher_reward.pk}/", {"idempotency_key": "0" * 32})

    response = staff_client(front_desk).get(f"/api/v1/points/members/{portal_member.pk}/redemptions/")

    assert response.status_code == 200
    rows = response.json()
    rows = rows.get("results", rows) if isinstance(rows, dict) else rows
    assert [(row["reward_name"], row["channel"]) for row in rows] == [("百元代金券", "portal")]
