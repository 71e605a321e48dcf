"""The portal's points mall, wallet, appointments and referral pages on a phone-sized Chromium
(390×844): a member redeems a reward and finds the coupon in the wallet; books an appointment
and cancels it; and none of these pages scrolls sideways, in Simplified Chinese or in English.
Screenshots go to test-artifacts/."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect, sync_playwright

from accounts.roles import Role
from accounts.services import staff_create
from appointments.models import ResourceType
from appointments.schedule import (
    Period,
    location_create,
    practitioner_create,
    resource_create,
    resource_type_create,
    treatment_requirements_set,
    working_hours_set,
)
from appointments.services import booking_create
from appointments.tests.conftest import local
from members.models import Member
from members.services import ConsentInput, member_register
from points.coupons import coupon_issue, coupon_template_create
from points.ledger import Source, account_for, ledger_credit
from points.models import Coupon
from points.rewards import reward_create
from points.rules import local_date
from portal.auth import COOKIE_NAME, COOKIE_PATH, member_session_create
from visits.services import catalogue_item_create, category_create

from .conftest import CHROMIUM_ARGS, CHROMIUM_PATH

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844


@dataclass(frozen=True)
class PortalWorld:
    member: Member
    token: str
    reward_id: int
    treatment_id: int
    coupon_id: int
    booking_id: int


@pytest.fixture(scope="module")
def portal_world(browser_clinic, django_db_blocker) -> PortalWorld:
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic), transaction.atomic():
        member = member_register(name="林小美", phone="+8613822223333", actor=None,
                                 consents=[ConsentInput(purpose="data_processing", granted=True)])
        ledger_credit(account=account_for(member, lock=True), amount=2000, kind="adjust",
                      source=Source("adjustment", 1), actor=None, at=timezone.now() - timedelta(days=1))
        template = coupon_template_create(name="满1000减100元代金券（全部护理项目通用，不与其他优惠同享）",
                                          kind="fixed", amount=Decimal("100.00"), valid_days=30,
                                          min_spend=Decimal("1000.00"))
        reward = reward_create(name="百元代金券（限量）", kind="coupon", points_cost=500, coupon_template=template,
                               stock=10, description="积分兑换后在钱包中出示二维码，前台扫码即可抵扣")
        coupon = coupon_issue(member=member, template=template, source=Coupon.Source.MANUAL, actor=None)
        location = location_create(name="静安旗舰店", address="上海市静安区南京西路 1788 号国际会所 3 楼")
        room_type = resource_type_create(name="治疗室", kind=ResourceType.Kind.ROOM)
        resource_create(location=location, resource_type=room_type, name="1 号房")
        category = category_create(name="皮肤管理", code="skin-portal")
        treatment = catalogue_item_create(kind="treatment", name="深层清洁补水面部护理", sku="FACE-P",
                                          category=category, price=Decimal("680.00"), duration_minutes=60)
        treatment_requirements_set(treatment=treatment, resource_types=[room_type])
        user = staff_create(username="drwang", email="drwang@browserclinic.test", full_name="王美容师",
                            role=Role.PRACTITIONER, password="Correct-horse-42")
        practitioner = practitioner_create(user=user, treatments=[treatment])
        working_hours_set(practitioner=practitioner, periods=[
            Period(location_id=location.pk, weekday=d, starts=time(9), ends=time(18)) for d in range(7)])
        in_five_days = local_date(timezone.now()) + timedelta(days=5)
        booking = booking_create(member=member, treatment=treatment, starts_at=local(in_five_days, 15), actor=None)
        _session, token = member_session_create(member=member, user_agent="browser tests")
    return PortalWorld(member=member, token=token, reward_id=reward.pk, treatment_id=treatment.pk,
                       coupon_id=coupon.pk, booking_id=booking.pk)


@pytest.fixture
def phone(live_site, browser_clinic, portal_world) -> Iterator[Page]:
    """A phone-sized Chromium signed in as the member (their session cookie, as sign-in sets it)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="zh-CN",
                                      is_mobile=True, has_touch=True, accept_downloads=True)
        context.add_cookies([{"name": COOKIE_NAME, "value": portal_world.token, "domain": browser_clinic.host,
                              "path": COOKIE_PATH, "httpOnly": True, "sameSite": "Lax"}])
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


def assert_no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{page.url} is {width}px wide on a {WIDTH}px screen"


def test_a_member_redeems_a_reward_and_finds_the_coupon_in_the_wallet(
        browser_clinic, portal_world, live_site, artifacts_dir, phone: Page):
    phone.goto(live_site.url(browser_clinic.host, "/m/mall/"))
    expect(phone.locator("#mall-available")).to_have_text("2000")
    phone.click(f'a[href="/m/mall/{portal_world.reward_id}/"]')
    expect(phone).to_have_url(re.compile(rf"/m/mall/{portal_world.reward_id}/$"))
    phone.screenshot(path=artifacts_dir / "portal-mall-confirm-zh.png", full_page=True)
    phone.click("form button[type=submit].primary")

    expect(phone).to_have_url(re.compile(r"/m/wallet/\d+/$"))
    expect(phone.locator("#coupon-card svg.qr")).to_be_visible()
    expect(phone.locator("#coupon-code")).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{2}$"))
    assert_no_sideways_scroll(phone)
    phone.screenshot(path=artifacts_dir / "portal-coupon-zh.png", full_page=True)
    new_coupon = phone.url.rstrip("/").rsplit("/", 1)[1]

    phone.click('.p-nav a[href="/m/wallet/"]')
    expect(phone.locator(f'#wallet-active a[href="/m/wallet/{new_coupon}/"]')).to_be_visible()
    phone.goto(live_site.url(browser_clinic.host, "/m/mall/"))
    expect(phone.locator("#mall-available")).to_have_text("1500")


def test_a_member_books_an_appointment_and_cancels_it(browser_clinic, portal_world, live_site, artifacts_dir,
                                                      phone: Page):
    phone.goto(live_site.url(browser_clinic.host, "/m/appointments/"))
    phone.click("#book-new")
    phone.click(f'#treatments a[href*="treatment={portal_world.treatment_id}"]')
    phone.locator("#days a").nth(2).click()
    expect(phone.locator("#slots button").first).to_be_visible()
    assert_no_sideways_scroll(phone)
    phone.screenshot(path=artifacts_dir / "portal-book-zh.png", full_page=True)
    chosen = phone.locator("#slots button").first.inner_text()
    phone.locator("#slots button").first.click()

    expect(phone).to_have_url(re.compile(r"/m/appointments/\d+/$"))
    expect(phone.locator("#appointment-status")).to_have_attribute("data-status", "booked")
    expect(phone.locator("#appointment-details")).to_contain_text(chosen)
    phone.screenshot(path=artifacts_dir / "portal-appointment-zh.png", full_page=True)
    booked_url = phone.url
    phone.fill("#cancel-reason", "临时出差")
    phone.click("#cancel-submit")

    expect(phone).to_have_url(re.compile(r"/m/appointments/$"))
    phone.goto(booked_url)
    expect(phone.locator("#appointment-status")).to_have_attribute("data-status", "cancelled")
    expect(phone.locator("#cancel-form")).to_have_count(0)


PAGES = ["/m/mall/", "/m/mall/{reward}/", "/m/wallet/", "/m/wallet/?tab=history", "/m/wallet/{coupon}/",
         "/m/appointments/", "/m/appointments/book/", "/m/appointments/book/?treatment={treatment}",
         "/m/appointments/{booking}/", "/m/appointments/{booking}/reschedule/", "/m/referral/"]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_no_mall_wallet_appointment_or_referral_page_scrolls_sideways(
        browser_clinic, portal_world, live_site, artifacts_dir, language, phone: Page):
    phone.context.add_cookies([{"name": "django_language", "value": language,
                                "url": live_site.url(browser_clinic.host, "/")}])
    ids = {"reward": portal_world.reward_id, "coupon": portal_world.coupon_id,
           "treatment": portal_world.treatment_id, "booking": portal_world.booking_id}
    for path in PAGES:
        phone.goto(live_site.url(browser_clinic.host, path.format(**ids)))
        expect(phone.locator("html")).to_have_attribute("lang", language)
        expect(phone.locator("h1")).to_be_visible()
        assert_no_sideways_scroll(phone)
    phone.screenshot(path=artifacts_dir / f"portal-referral-{language}.png", full_page=True)
