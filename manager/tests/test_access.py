"""Only owners and managers reach the settings pages; front desk and practitioners get 403 on
every page and every action, and a visitor is sent to the login page."""

import pytest

from appointments.models import AppointmentPolicy
from campaigns.models import Campaign
from messaging.models import MessageTemplate, MessagingSettings, Purpose
from messaging.services import message_send, message_template_update
from points.models import CouponTemplate, LoyaltySettings, Reward
from tiers.models import Tier, TierProgramme
from visits.models import CatalogueItem, Category

from .conftest import ROLES, SETTINGS_ROLES

PAGES = ["/manage/", "/manage/tiers/", "/manage/tiers/new/", "/manage/tiers/{tier}/", "/manage/points/",
         "/manage/rewards/", "/manage/rewards/new/", "/manage/rewards/{reward}/", "/manage/coupons/",
         "/manage/coupons/new/", "/manage/coupons/{coupon}/", "/manage/catalogue/",
         "/manage/catalogue/items/new/", "/manage/catalogue/items/{item}/",
         "/manage/catalogue/categories/new/", "/manage/catalogue/categories/{category}/",
         "/manage/messages/", "/manage/messages/{message}/", "/manage/messages/settings/",
         "/manage/messages/templates/", "/manage/messages/templates/{template}/", "/manage/birthday-offer/",
         "/manage/online-booking/"]

ACTIONS = [
    ("/manage/tiers/", {"basis": "spend", "window_months": "6", "grace_days": "0", "downgrade_mode": "matching"}),
    ("/manage/tiers/new/", {"rank": "9", "name": "黑卡", "min_spend": "900000", "min_visits": "90",
                            "earn_multiplier": "3", "discount_percent": "20", "birthday_gift_points": "0"}),
    ("/manage/tiers/{tier}/", {"rank": "1", "name": "银卡", "min_spend": "1", "min_visits": "1",
                               "earn_multiplier": "9", "discount_percent": "0", "birthday_gift_points": "0"}),
    ("/manage/tiers/{tier}/delete/", {}),
    ("/manage/points/", {"points_per_currency_unit": "99"}),
    ("/manage/online-booking/", {"online_min_notice_minutes": "1", "online_max_days_ahead": "1",
                                 "cancel_window_hours": "1", "reschedule_window_hours": "1",
                                 "max_no_shows_online": "0", "deposit_amount": "1"}),
    ("/manage/rewards/{reward}/active/", {"active": "0"}),
    ("/manage/coupons/{coupon}/active/", {"active": "0"}),
    ("/manage/catalogue/items/{item}/active/", {"active": "0"}),
    ("/manage/catalogue/categories/{category}/delete/", {}),
    ("/manage/catalogue/categories/new/", {"name": "新类", "code": "new"}),
    ("/manage/messages/settings/", {"default_channel": "email", "quiet_hours_start": "08:00",
                                    "quiet_hours_end": "08:00", "marketing_weekly_cap": "9"}),
    ("/manage/messages/templates/{template}/", {"body": "{name}，来店有礼"}),
    ("/manage/messages/templates/{template}/preview/", {"body": "{name}，来店有礼"}),
    ("/manage/messages/templates/{edited_template}/restore/", {}),
    ("/manage/birthday-offer/", {"timing": "month", "bonus_points": "999"}),
]


@pytest.fixture
def ids(facial, voucher, make_member) -> dict:
    from points.rewards import reward_create

    reward = reward_create(name="免费光子", kind=Reward.Kind.TREATMENT, points_cost=5000, item=facial)
    spare = Category.objects.create(name="空类别", code="spare")
    template = MessageTemplate.objects.get(purpose=Purpose.BIRTHDAY_OFFER, channel="sms", language="zh-hans")
    edited = message_template_update(template=MessageTemplate.objects.get(
        purpose=Purpose.BIRTHDAY_OFFER, channel="email", language="en"), actor=None, body="Hi {name}")
    message = message_send(member=make_member(), purpose=Purpose.APPOINTMENT_REMINDER)
    return {"tier": Tier.objects.get(rank=1).pk, "reward": reward.pk, "coupon": voucher.pk, "item": facial.pk,
            "category": spare.pk, "template": template.pk, "edited_template": edited.pk, "message": message.pk}


def snapshot() -> tuple:
    programme = TierProgramme.objects.get(pk=1)
    rules = LoyaltySettings.objects.get(pk=1)
    return ((programme.basis, programme.window_months),
            list(Tier.objects.order_by("rank").values_list("rank", "name", "min_spend", "earn_multiplier")),
            rules.points_per_currency_unit,
            sorted(Reward.objects.values_list("pk", "active")),
            sorted(CouponTemplate.objects.values_list("pk", "active")),
            sorted(CatalogueItem.objects.values_list("pk", "active")),
            sorted(Category.objects.values_list("code", flat=True)),
            sorted(MessageTemplate.objects.values_list("pk", "subject", "body")),
            list(MessagingSettings.objects.values()), list(Campaign.objects.values()),
            list(AppointmentPolicy.objects.values()))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", PAGES)
def test_each_settings_page_opens_for_owners_and_managers_only(request, staff_client, ids, role, path):
    client = staff_client(request.getfixturevalue(role))

    response = client.get(path.format(**ids))

    assert response.status_code == (200 if role in SETTINGS_ROLES else 403)


@pytest.mark.parametrize("path", PAGES)
def test_a_visitor_is_sent_to_the_login_page(anon_client, ids, path):
    response = anon_client.get(path.format(**ids))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", ["front_desk", "practitioner"])
@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_front_desk_and_practitioners_change_nothing(request, staff_client, ids, role, path, data):
    client = staff_client(request.getfixturevalue(role))
    before = snapshot()

    response = client.post(path.format(**ids), {**data, "form_token": "0" * 32})

    assert response.status_code == 403
    assert snapshot() == before


def test_the_settings_link_is_in_the_menu_of_managers_only(manager_client, desk_client, staff_client,
                                                           practitioner):
    assert 'href="/manage/"' in manager_client.get("/").content.decode()
    assert 'href="/manage/"' not in desk_client.get("/").content.decode()
    assert 'href="/manage/"' not in staff_client(practitioner).get("/").content.decode()


def test_the_index_links_every_settings_page_and_the_staff_and_job_pages(manager_client):
    content = manager_client.get("/manage/").content.decode()

    for path in ("/manage/tiers/", "/manage/points/", "/manage/rewards/", "/manage/coupons/",
                 "/manage/catalogue/", "/manage/birthday-offer/", "/manage/messages/templates/",
                 "/manage/messages/settings/", "/manage/messages/", "/manage/online-booking/", "/accounts/staff/",
                 "/settings/jobs/"):
        assert f'href="{path}"' in content
