"""The referral page, and the security of every mall, wallet, appointment and referral page: only
the signed-in member's own things (another member's ids are 404), sign-in first, CSRF on POSTs."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from appointments.models import Booking
from appointments.services import booking_create
from appointments.tests.conftest import local, monday, world  # noqa: F401
from checkout.services import LineInput, PaymentInput, checkout_complete
from points.coupons import coupon_issue, coupon_template_create
from points.ledger import Source, account_for, ledger_credit
from points.models import Coupon, CouponTemplate, LoyaltySettings, Redemption, Reward
from points.rewards import reward_create
from portal.referral_views import name_masked

pytestmark = pytest.mark.django_db


def test_the_referral_page_has_the_join_link_with_the_code_its_qr_code_and_a_share_text(
        portal_client, portal_member):
    LoyaltySettings.objects.filter(pk=1).update(referral_bonus_referee=200)

    page = portal_client.get("/m/referral/").content.decode()

    link = f"http://testclinic.localhost/m/join/?ref={portal_member.referral_code}"
    assert f'value="{link}"' in page
    assert 'class="qr"' in page and f'id="referral-code">{portal_member.referral_code}<' in page
    assert re.search(rf'<textarea id="share-text"[^>]*>[^<]*200[^<]*{re.escape(link)}', page)


def test_the_referral_page_shows_each_friend_joined_visited_and_rewarded(
        portal_client, portal_member, make_member, world):  # noqa: F811
    LoyaltySettings.objects.filter(pk=1).update(referral_bonus_referrer=300)
    visited = make_member(name="陈美丽", referral_code=portal_member.referral_code)
    make_member(name="王芳", referral_code=portal_member.referral_code)
    make_member(name="外人")
    checkout_complete(member=visited, lines=[LineInput(item_id=world.facial.pk)], actor=None,
                      payments=[PaymentInput(method="cash", amount=Decimal("300.00"))])

    page = portal_client.get("/m/referral/").content.decode()

    referees = re.findall(r'<li class="referee">(.*?)</li>', page, re.S)
    assert len(referees) == 2
    by_name = {re.search(r"<strong>(.*?)</strong>", row).group(1): row for row in referees}
    assert set(by_name) == {"陈**", "王*"}
    assert "+300" in by_name["陈**"] and "p-badge ok" in by_name["陈**"]
    assert "+300" not in by_name["王*"] and "p-badge ok" not in by_name["王*"]
    assert "外" not in "".join(referees) and "陈美丽" not in page


def test_names_of_referred_people_are_masked():
    assert [name_masked(n) for n in ("陈美丽", "王芳", "欧阳娜娜", "Li", "")] == ["陈**", "王*", "欧***", "L*", "*"]


@pytest.fixture
def others(world, make_member, monday):  # noqa: F811
    """Another member's coupon and booking, and a reward."""
    other = world.member2
    template = coupon_template_create(name="券", kind=CouponTemplate.Kind.FIXED, amount=Decimal("10"), valid_days=9)
    coupon = coupon_issue(member=other, template=template, source=Coupon.Source.MANUAL, actor=None)
    booking = booking_create(member=other, treatment=world.facial, starts_at=local(monday, 11), actor=None)
    reward = reward_create(name="十元券", kind=Reward.Kind.COUPON, points_cost=10, coupon_template=template)
    return {"coupon": coupon, "booking": booking, "reward": reward}


GETS = ["/m/mall/", "/m/mall/{reward}/", "/m/wallet/", "/m/wallet/{coupon}/", "/m/appointments/",
        "/m/appointments/book/", "/m/appointments/{booking}/", "/m/appointments/{booking}/reschedule/",
        "/m/appointments/{booking}/calendar.ics", "/m/referral/"]
POSTS = ["/m/mall/{reward}/", "/m/appointments/book/", "/m/appointments/{booking}/reschedule/",
         "/m/appointments/{booking}/cancel/"]


@pytest.mark.parametrize("path", GETS + [f"POST {p}" for p in POSTS])
def test_without_a_member_session_every_page_sends_to_sign_in(anon_client, others, path):
    method, _space, url = path.rpartition(" ")
    url = url.format(reward=others["reward"].pk, coupon=others["coupon"].pk, booking=others["booking"].pk)

    response = anon_client.post(url, {}) if method == "POST" else anon_client.get(url)

    assert response.status_code == 302 and response["Location"].startswith("/m/signin/?next=")


@pytest.mark.parametrize("path", ["/m/wallet/{coupon}/", "/m/appointments/{booking}/",
                                  "/m/appointments/{booking}/reschedule/", "/m/appointments/{booking}/calendar.ics",
                                  "POST /m/appointments/{booking}/reschedule/",
                                  "POST /m/appointments/{booking}/cancel/"])
def test_another_members_coupon_or_booking_is_not_found(world, portal_client_for, others, path):  # noqa: F811
    client = portal_client_for(world.member)
    method, _space, url = path.rpartition(" ")
    url = url.format(coupon=others["coupon"].pk, booking=others["booking"].pk)
    data = {"starts_at": local(others["booking"].starts_at.date() + timedelta(days=1), 10).isoformat(),
            "idempotency_key": "9" * 32}

    response = client.post(url, data) if method == "POST" else client.get(url)

    assert response.status_code == 404
    booking = Booking.objects.get(pk=others["booking"].pk)
    assert booking.status == Booking.Status.BOOKED and booking.starts_at == others["booking"].starts_at


def test_unknown_ids_are_not_found(portal_client):
    for url in ("/m/mall/999999/", "/m/wallet/999999/", "/m/appointments/999999/"):
        assert portal_client.get(url).status_code == 404


@pytest.mark.parametrize("path", POSTS)
def test_every_post_needs_the_csrf_token(world, portal_client_for, others, path):  # noqa: F811
    mine = booking_create(member=world.member, treatment=world.facial, actor=None,
                          starts_at=others["booking"].starts_at + timedelta(hours=3))
    ledger_credit(account=account_for(world.member, lock=True), amount=100, kind="earn", source=Source("test"),
                  actor=None, at=timezone.now() - timedelta(days=1))
    client = portal_client_for(world.member, enforce_csrf_checks=True)
    url = path.format(reward=others["reward"].pk, booking=mine.pk)

    response = client.post(url, {"treatment": world.facial.pk, "idempotency_key": "8" * 32,
                                 "starts_at": (mine.starts_at + timedelta(hours=1)).isoformat()})

    assert response.status_code == 403
    assert Redemption.objects.count() == 0
    assert Booking.objects.filter(member=world.member).count() == 1
    mine.refresh_from_db()
    assert mine.status == Booking.Status.BOOKED and mine.reschedule_count == 0
