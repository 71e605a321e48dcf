"""The birthday offer through the API: owners and managers read and change it with the page's
service, with the same refusals, and the settings page shows what the API set."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from campaigns.services import birthday_campaign, birthday_offer, birthday_offer_update
from points.coupons import coupon_template_create, coupon_template_update
from points.models import CouponTemplate

JSON = "application/json"
URL = "/api/v1/campaigns/birthday-offer/"
ROLES = ["owner", "manager", "front_desk", "practitioner"]


@pytest.fixture
def boss(staff_client, manager) -> Client:
    return staff_client(manager)


@pytest.fixture
def birthday_coupon(db) -> CouponTemplate:
    return coupon_template_create(name="生日护理8折券", kind=CouponTemplate.Kind.PERCENT, percent=20, valid_days=30)


@pytest.fixture
def retired_coupon(db) -> CouponTemplate:
    template = coupon_template_create(name="旧生日券", kind=CouponTemplate.Kind.FIXED, amount=Decimal(50),
                                      valid_days=30)
    return coupon_template_update(template=template, active=False)


def offer_now() -> tuple:
    offer = birthday_offer()
    return (offer.enabled, offer.timing, offer.coupon_template_id, offer.bonus_points, offer.tier_gift,
            offer.send_message)


@pytest.mark.parametrize("role", [*ROLES, None])
def test_the_offer_is_for_owners_and_managers(request, staff_client, anon_client, role):
    client = staff_client(request.getfixturevalue(role)) if role else anon_client
    before = offer_now()

    read = client.get(URL)
    changed = client.patch(URL, {"bonus_points": 300}, content_type=JSON)

    if role in ("owner", "manager"):
        assert (read.status_code, changed.status_code) == (200, 200)
        assert offer_now()[3] == 300
    else:
        expected, code = (401, "not_authenticated") if role is None else (403, "permission_denied")
        assert (read.status_code, changed.status_code) == (expected, expected)
        assert {read.json()["error"]["code"], changed.json()["error"]["code"]} == {code}
        assert offer_now() == before


def test_a_manager_reads_the_offer(boss, db):
    response = boss.get(URL)

    assert response.json() == {"enabled": True, "timing": "day", "coupon_template": None, "bonus_points": 0,
                               "tier_gift": True, "send_message": True, "coupon_template_name": None,
                               "coupon_template_active": None, "campaign": birthday_campaign().pk}
    assert birthday_campaign().status == "running" or birthday_campaign().status == "scheduled"


def test_a_manager_changes_the_offer_and_the_page_shows_it(boss, birthday_coupon):
    response = boss.patch(URL, {"timing": "month", "coupon_template": birthday_coupon.pk, "bonus_points": 200,
                                "tier_gift": False}, content_type=JSON)
    page = boss.get("/manage/birthday-offer/").content.decode()

    assert response.status_code == 200, response.json()
    assert response.json() == {"enabled": True, "timing": "month", "coupon_template": birthday_coupon.pk,
                               "bonus_points": 200, "tier_gift": False, "send_message": True,
                               "coupon_template_name": "生日护理8折券", "coupon_template_active": True,
                               "campaign": birthday_campaign().pk}
    campaign = birthday_campaign()  # the birthday campaign itself changed
    assert (campaign.birthday_timing, campaign.coupon_template_id, campaign.bonus_points, campaign.tier_gift) == (
        "month", birthday_coupon.pk, 200, False)
    assert offer_now() == (True, "month", birthday_coupon.pk, 200, False, True)
    assert 'name="bonus_points" value="200"' in page
    assert re.search(r'name="timing" value="month"[^>]*checked', page)
    assert re.search(rf'<option value="{birthday_coupon.pk}" selected>生日护理8折券</option>', page)
    assert not re.search(r'name="tier_gift"[^>]*checked', page)


def test_the_coupon_is_removed_with_null(boss, birthday_coupon, owner):
    birthday_offer_update(actor=owner, coupon_template=birthday_coupon)

    response = boss.patch(URL, {"coupon_template": None, "enabled": False}, content_type=JSON)

    assert response.status_code == 200
    assert offer_now()[:3] == (False, "day", None)


@pytest.mark.parametrize(("data", "field"), [
    ({"bonus_points": -5}, "bonus_points"),
    ({"bonus_points": "many"}, "bonus_points"),
    ({"bonus_points": 99999999999}, "bonus_points"),
    ({"timing": "weekly"}, "timing"),
    ({"coupon_template": 999999}, "coupon_template"),
    ({"enabled": "perhaps"}, "enabled"),
])
def test_a_bad_value_is_a_400_on_its_field_in_chinese_and_changes_nothing(boss, data, field):
    before = offer_now()

    response = boss.patch(URL, {"send_message": False, **data}, content_type=JSON, HTTP_ACCEPT_LANGUAGE="zh-Hans")

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert list(fields) == [field]
    assert re.search(r"[\u4e00-\u9fff]", fields[field][0]), fields
    assert offer_now() == before


@pytest.mark.parametrize(("language", "message"), [
    ("zh-Hans", "此优惠券模板已停用，请选择启用中的模板。"),
    ("en", "This coupon template is inactive; choose an active one."),
])
def test_an_inactive_coupon_cannot_be_chosen_in_the_requests_language(boss, retired_coupon, language, message):
    before = offer_now()

    response = boss.patch(URL, {"coupon_template": retired_coupon.pk, "bonus_points": 50}, content_type=JSON,
                          HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"coupon_template": [message]}
    assert offer_now() == before


def test_a_coupon_deactivated_after_it_was_chosen_may_stay_and_is_flagged(boss, birthday_coupon, owner):
    birthday_offer_update(actor=owner, coupon_template=birthday_coupon)
    coupon_template_update(template=birthday_coupon, active=False)

    read = boss.get(URL)
    kept = boss.patch(URL, {"coupon_template": birthday_coupon.pk, "bonus_points": 10}, content_type=JSON)

    assert (read.json()["coupon_template"], read.json()["coupon_template_active"]) == (birthday_coupon.pk, False)
    assert kept.status_code == 200, kept.json()
    assert offer_now()[2:4] == (birthday_coupon.pk, 10)


def test_a_coupon_template_of_another_clinic_cannot_be_chosen(boss, other_clinic):
    with tenant_context(other_clinic):
        theirs = coupon_template_create(name="别家生日券", kind=CouponTemplate.Kind.FIXED, amount=Decimal(30),
                                        valid_days=30)
    assert not CouponTemplate.objects.filter(pk=theirs.pk).exists()
    before = offer_now()

    response = boss.patch(URL, {"coupon_template": theirs.pk}, content_type=JSON)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["coupon_template"]
    assert "别家生日券" not in response.content.decode()
    assert offer_now() == before
    with tenant_context(other_clinic):
        assert birthday_offer().coupon_template_id is None


def test_the_offer_makes_a_handful_of_queries(boss, birthday_coupon, owner, django_assert_max_num_queries):
    birthday_offer_update(actor=owner, coupon_template=birthday_coupon)
    boss.get("/api/v1/me/")

    with django_assert_max_num_queries(8, info="the clinic (3), session, user, permissions, the offer, its coupon"):
        response = boss.get(URL)

    assert response.json()["coupon_template_name"] == "生日护理8折券"
