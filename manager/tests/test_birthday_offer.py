"""The clinic's birthday offer, set by a manager: on or off, when, bonus points, the tier's gift,
the coupon (among the active templates) and the message."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from campaigns.services import birthday_offer, birthday_offer_update
from points.coupons import coupon_template_create, coupon_template_update
from points.models import CouponTemplate

from .conftest import field_error


@pytest.fixture
def manager_client(manager_client):
    """In English (the person's own choice of language), so the pages' texts read as written."""
    manager_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return manager_client


@pytest.fixture
def birthday_coupon(db) -> CouponTemplate:
    return coupon_template_create(name="生日护理8折券", kind=CouponTemplate.Kind.PERCENT, percent=20, valid_days=30)


@pytest.fixture
def retired_coupon(db) -> CouponTemplate:
    template = coupon_template_create(name="旧生日券", kind=CouponTemplate.Kind.FIXED, amount=Decimal(50),
                                      valid_days=30)
    return coupon_template_update(template=template, active=False)


def offer_data(**changes) -> dict:
    return {"enabled": "on", "timing": "day", "coupon_template": "", "bonus_points": "0", "tier_gift": "on",
            "send_message": "on", **changes}


def offer_now() -> tuple:
    offer = birthday_offer()
    return (offer.enabled, offer.timing, offer.coupon_template_id, offer.bonus_points, offer.tier_gift,
            offer.send_message)


def coupon_options(response) -> list[str]:
    select = re.search(r'<select name="coupon_template".*?</select>', response.content.decode(), re.S).group(0)
    return re.findall(r"<option[^>]*>(.*?)</option>", select)


def test_the_page_shows_the_offer_and_offers_only_active_coupons(manager_client, birthday_coupon, retired_coupon,
                                                                  owner):
    birthday_offer_update(actor=owner, bonus_points=88, timing="month")

    response = manager_client.get("/manage/birthday-offer/")

    content = response.content.decode()
    assert 'name="bonus_points" value="88"' in content
    assert re.search(r'name="timing" value="month"[^>]*checked', content)
    assert coupon_options(response) == ["No coupon", "生日护理8折券"]


def test_a_manager_sets_the_offer(manager_client, birthday_coupon):
    response = manager_client.post("/manage/birthday-offer/", offer_data(
        timing="month", coupon_template=str(birthday_coupon.pk), bonus_points="200", tier_gift="",
        send_message=""))

    assert response.status_code == 302 and response["Location"] == "/manage/birthday-offer/"
    assert offer_now() == (True, "month", birthday_coupon.pk, 200, False, False)


def test_a_manager_switches_the_offer_off_and_removes_the_coupon(manager_client, birthday_coupon, owner):
    birthday_offer_update(actor=owner, coupon_template=birthday_coupon)

    response = manager_client.post("/manage/birthday-offer/", offer_data(enabled=""))

    assert response.status_code == 302
    assert offer_now()[:3] == (False, "day", None)


@pytest.mark.parametrize(("field", "value"), [("bonus_points", "-5"), ("bonus_points", "many"),
                                              ("bonus_points", "99999999999"), ("timing", "weekly"),
                                              ("coupon_template", "999999")])
def test_a_bad_value_is_refused_next_to_its_field(manager_client, field, value):
    before = offer_now()

    response = manager_client.post("/manage/birthday-offer/", {**offer_data(enabled="", send_message=""),
                                                               field: value})

    assert response.status_code == 400
    assert field_error(response, field)
    assert offer_now() == before


def test_an_inactive_coupon_template_cannot_be_chosen(manager_client, retired_coupon):
    before = offer_now()

    response = manager_client.post("/manage/birthday-offer/", offer_data(coupon_template=str(retired_coupon.pk)))

    assert response.status_code == 400
    assert field_error(response, "coupon_template")
    assert offer_now() == before
    with pytest.raises(ValidationError):
        birthday_offer_update(actor=None, coupon_template=retired_coupon)


def test_a_coupon_deactivated_after_it_was_chosen_may_stay_and_the_page_warns(manager_client, birthday_coupon,
                                                                              owner):
    birthday_offer_update(actor=owner, coupon_template=birthday_coupon)
    coupon_template_update(template=birthday_coupon, active=False)

    page = manager_client.get("/manage/birthday-offer/")
    saved = manager_client.post("/manage/birthday-offer/", offer_data(coupon_template=str(birthday_coupon.pk),
                                                                      bonus_points="10"))

    assert 'id="inactive-coupon"' in page.content.decode() and "生日护理8折券" in page.content.decode()
    assert "生日护理8折券" in coupon_options(page)
    assert saved.status_code == 302
    assert offer_now()[2:4] == (birthday_coupon.pk, 10)


@pytest.mark.parametrize("role", ["front_desk", "practitioner"])
def test_the_service_refuses_staff_without_the_settings_permission(db, request, role):
    before = offer_now()

    with pytest.raises(PermissionDenied):
        birthday_offer_update(actor=request.getfixturevalue(role), bonus_points=500)

    assert offer_now() == before


def test_the_service_refuses_a_setting_that_does_not_exist(owner):
    with pytest.raises(ValidationError):
        birthday_offer_update(actor=owner, bonus_points=5, lucky_number=8)

    assert offer_now()[3] == 0


def test_the_page_makes_a_handful_of_queries(manager_client, birthday_coupon, django_assert_max_num_queries):
    manager_client.get("/manage/")

    with django_assert_max_num_queries(10, info="session, user, permissions, the offer, the coupon templates"):
        manager_client.get("/manage/birthday-offer/")
