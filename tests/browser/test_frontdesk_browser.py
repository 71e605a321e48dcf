"""The front desk's daily work in a real Chromium: register a walk-in, check a visit out and see
the points and the tier upgrade on the receipt, redeem a reward, refund a visit, correct a
member's phone and record a consent withdrawal, and be kept out of a manager's page. Each test
saves a screenshot of its key page in test-artifacts/."""

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from checkout.services import LineInput, PaymentInput, checkout_complete
from members.models import Member
from members.services import ConsentInput, member_register
from points.models import LoyaltySettings
from points.rewards import reward_create
from points.tests.factories import points_give
from tiers.models import Tier
from visits.models import CatalogueItem, Visit
from visits.services import catalogue_item_create, category_create

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class DeskData:
    filler: CatalogueItem
    for_checkout: Member
    for_reward: Member
    for_refund: Member
    refund_visit: Visit
    refund_line_id: int
    for_edit: Member


@pytest.fixture(scope="module")
def desk_data(browser_clinic, django_db_blocker) -> DeskData:
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        LoyaltySettings.objects.filter(pk=1).update(points_per_currency_unit=Decimal(1), signup_bonus=0,
                                                    first_visit_bonus=0, pending_days=0)
        Tier.objects.update(discount_percent=0, earn_multiplier=Decimal(1))
        injectables = category_create(name="注射类", code="injectables")
        skincare = category_create(name="护肤品", code="skincare")
        filler = catalogue_item_create(kind="treatment", name="玻尿酸填充", sku="HA-1", category=injectables,
                                       price=Decimal("3000.00"), duration_minutes=60)
        cream = catalogue_item_create(kind="product", name="修护面霜", sku="CR-1", category=skincare,
                                      price=Decimal("500.00"))
        reward_create(name="免费修护面霜", kind="product", points_cost=800, item=cream)
        for_checkout = member_register(name="陈欣怡", phone="13911110001", actor=None)
        for_reward = member_register(name="林佳颖", phone="13911110002", actor=None)
        points_give(for_reward, 1000)
        for_refund = member_register(name="周雪", phone="13911110003", actor=None)
        visit = checkout_complete(member=for_refund, actor=None,
                                  lines=[LineInput(item_id=cream.pk, quantity=2)],
                                  payments=[PaymentInput(method="cash", amount=Decimal("1000.00"))]).visit
        refund_line_id = visit.lines.get().pk
        for_edit = member_register(name="郑可欣", phone="13911110004", actor=None, consents=[
            ConsentInput(purpose="marketing_sms", granted=True), ConsentInput(purpose="data_processing", granted=True)])
    return DeskData(filler=filler, for_checkout=for_checkout, for_reward=for_reward, for_refund=for_refund,
                    refund_visit=visit, refund_line_id=refund_line_id, for_edit=for_edit)


def log_in(page: Page, live_site, browser_clinic, path: str) -> None:
    page.goto(live_site.url(browser_clinic.host, path))
    page.fill("#id_username", browser_clinic.front_desk.username)
    page.fill("#id_password", browser_clinic.password)
    page.click("form button[type=submit].primary")
    expect(page).to_have_url(live_site.url(browser_clinic.host, path))


def test_front_desk_registers_a_walk_in_with_consent(browser_clinic, desk_data, live_site, artifacts_dir, page):
    log_in(page, live_site, browser_clinic, "/members/new/")
    expect(page.locator("#id_name")).to_be_focused()
    page.fill("#id_name", "吴晓宁")
    page.fill("#id_phone", "139 2222 0001")
    page.check("#id_consent_data_processing")
    page.check("#id_consent_marketing_sms")
    page.screenshot(path=artifacts_dir / "frontdesk-register-form.png", full_page=True)
    page.press("#id_email", "Enter")

    expect(page).to_have_url(re.compile(r"/members/\d+/$"))
    expect(page.locator("main h1")).to_contain_text("吴晓宁")
    expect(page.locator("#referral-code")).not_to_be_empty()
    page.screenshot(path=artifacts_dir / "frontdesk-registered-member.png", full_page=True)


def test_a_duplicate_phone_leads_to_the_existing_member(browser_clinic, desk_data, live_site, page):
    log_in(page, live_site, browser_clinic, "/members/new/")
    page.fill("#id_name", "陈欣怡")
    page.fill("#id_phone", "13911110001")
    expect(page.locator("#phone-check a")).to_be_visible()
    page.click("#phone-check a")
    expect(page).to_have_url(live_site.url(browser_clinic.host, f"/members/{desk_data.for_checkout.pk}/"))


def test_checkout_shows_points_earned_and_the_tier_upgrade(browser_clinic, desk_data, live_site, artifacts_dir,
                                                           page):
    member = desk_data.for_checkout
    log_in(page, live_site, browser_clinic, f"/members/{member.pk}/")
    page.click(f"a[href='/members/{member.pk}/checkout/']")
    page.select_option("#id_lines-0-item", str(desk_data.filler.pk))
    page.fill("#id_lines-0-quantity", "2")
    page.select_option("#id_payments-0-method", "wechat_pay")
    expect(page.locator("#quote-total")).to_have_text("¥6000.00")
    page.screenshot(path=artifacts_dir / "frontdesk-checkout.png", full_page=True)
    page.click("#checkout-submit")

    expect(page).to_have_url(re.compile(r"/visits/\d+/receipt/"))
    expect(page.locator("#points-earned")).to_have_text("6000")
    expect(page.locator("#tier-change")).to_be_visible()
    page.screenshot(path=artifacts_dir / "frontdesk-receipt-tier-upgrade.png", full_page=True)


def test_front_desk_redeems_a_reward(browser_clinic, desk_data, live_site, artifacts_dir, page):
    member = desk_data.for_reward
    log_in(page, live_site, browser_clinic, f"/members/{member.pk}/rewards/")
    expect(page.locator("#rewards-balance")).to_contain_text("1000")
    page.click("form button[type=submit].primary")

    expect(page).to_have_url(live_site.url(browser_clinic.host, f"/members/{member.pk}/"))
    expect(page.locator("#points-balance")).to_contain_text("200")
    expect(page.locator(".message.success")).to_contain_text("免费修护面霜")
    expect(page.locator("#member-coupons")).to_contain_text("免费修护面霜")
    page.screenshot(path=artifacts_dir / "frontdesk-redemption.png", full_page=True)


def test_front_desk_refunds_part_of_a_past_visit(browser_clinic, desk_data, live_site, artifacts_dir, page):
    member, visit = desk_data.for_refund, desk_data.refund_visit
    log_in(page, live_site, browser_clinic, f"/members/{member.pk}/")
    page.click(f"a[href='/visits/{visit.pk}/refund/']")
    page.fill(f"#id_line_{desk_data.refund_line_id}", "1")
    page.fill("#id_reason", "顾客皮肤过敏")
    page.screenshot(path=artifacts_dir / "frontdesk-refund-form.png", full_page=True)
    page.click("#refund-submit")

    expect(page).to_have_url(live_site.url(browser_clinic.host, f"/members/{member.pk}/"))
    expect(page.locator(".message.success")).to_contain_text("500.00")
    expect(page.locator("#member-visits")).to_contain_text("¥500.00")
    page.screenshot(path=artifacts_dir / "frontdesk-refunded.png", full_page=True)


def test_front_desk_corrects_a_phone_and_records_a_consent_withdrawal(browser_clinic, desk_data, live_site,
                                                                    artifacts_dir, page):
    member = desk_data.for_edit
    log_in(page, live_site, browser_clinic, f"/members/{member.pk}/")
    page.click("#member-edit")
    expect(page.locator("#id_name")).to_be_focused()
    page.fill("#id_phone", "139 1111 0044")
    page.screenshot(path=artifacts_dir / "frontdesk-member-edit.png", full_page=True)
    page.press("#id_phone", "Enter")

    expect(page).to_have_url(live_site.url(browser_clinic.host, f"/members/{member.pk}/"))
    expect(page.locator("#member-profile")).to_contain_text("139 1111 0044")
    sms = page.locator("#member-consents tr[data-purpose=marketing_sms]")
    expect(sms).to_have_attribute("data-granted", "yes")
    page.click("#consent-withdraw-marketing_sms")

    expect(page).to_have_url(re.compile(rf"/members/{member.pk}/#member-consents$"))
    expect(page.locator(".message.success")).to_be_visible()
    expect(sms).to_have_attribute("data-granted", "no")
    expect(page.locator("#consent-grant-marketing_sms")).to_be_visible()
    expect(page.locator("#member-consents tr[data-purpose=data_processing]")).to_have_attribute("data-granted", "yes")
    page.screenshot(path=artifacts_dir / "frontdesk-consent-withdrawn.png", full_page=True)


def test_front_desk_is_denied_a_manager_page(browser_clinic, desk_data, live_site, artifacts_dir, page):
    log_in(page, live_site, browser_clinic, "/")
    expect(page.locator("a[href='/settings/jobs/']")).to_have_count(0)
    response = page.goto(live_site.url(browser_clinic.host, "/settings/jobs/"))
    assert response.status == 403
    page.screenshot(path=artifacts_dir / "frontdesk-denied-manager-page.png", full_page=True)
    response = page.goto(live_site.url(browser_clinic.host, "/points/approvals/"))
    assert response.status == 403
