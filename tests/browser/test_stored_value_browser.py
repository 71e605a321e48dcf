"""Stored value at the desk in a real Chromium, on a phone (390 px) and a desk, in Chinese and
English: top up a member's card with a plan, pay part of a visit with the card, refund the visit
and see the card whole again. Each run saves screenshots in test-artifacts/."""

import re
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from members.services import member_register
from points.models import LoyaltySettings
from storedvalue.models import TopUpPlan
from tiers.models import Tier
from visits.services import catalogue_item_create, category_create

pytestmark = pytest.mark.browser

RUNS = [(390, "zh-hans"), (1280, "zh-hans"), (390, "en"), (1280, "en")]
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(scope="module")
def card_data(browser_clinic, django_db_blocker) -> dict:
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        LoyaltySettings.objects.filter(pk=1).update(signup_bonus=0, first_visit_bonus=0, pending_days=0)
        Tier.objects.update(discount_percent=0)
        category = category_create(name="光电类", code="laser-sv")
        item = catalogue_item_create(kind="treatment", name="光子嫩肤", sku="SV-IPL", category=category,
                                     price=Decimal("3000.00"), duration_minutes=60)
        plan = TopUpPlan.objects.create(name="充5000送500", pay_amount=Decimal("5000"), bonus_amount=Decimal("500"),
                                        bonus_valid_days=365)
        members = {run: member_register(name=f"储值会员{n}", phone=f"1391234{n:04d}", actor=None).pk
                   for n, run in enumerate(RUNS)}
    return {"item": item.pk, "plan": plan.pk, "members": members}


def log_in(page: Page, live_site, browser_clinic, path: str) -> None:
    page.goto(live_site.url(browser_clinic.host, path))
    page.fill("#id_username", browser_clinic.front_desk.username)
    page.fill("#id_password", browser_clinic.password)
    page.click("form button[type=submit].primary")
    expect(page).to_have_url(live_site.url(browser_clinic.host, path))


@pytest.mark.parametrize(("width", "language"), RUNS)
def test_top_up_pay_with_the_card_and_refund_at_the_desk(browser_clinic, card_data, live_site, artifacts_dir,
                                                         width, language, page: Page):
    member = card_data["members"][(width, language)]
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 800})
    page.context.add_cookies([{"name": "django_language", "value": language,
                               "url": live_site.url(browser_clinic.host, "/")}])
    log_in(page, live_site, browser_clinic, f"/members/{member}/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("#card-balance-total")).to_have_text("¥0.00")

    # top up with the plan
    page.click("#member-card-link")
    expect(page).to_have_url(live_site.url(browser_clinic.host, f"/stored-value/members/{member}/"))
    page.select_option("#id_plan", str(card_data["plan"]))
    page.select_option("#id_method", "wechat_pay")
    page.fill("#id_reference", "4200009999")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=artifacts_dir / f"stored-value-top-up-{width}-{language}.png", full_page=True)
    page.click("#top-up-submit")
    expect(page).to_have_url(re.compile(r"/stored-value/top-ups/\d+/$"))
    expect(page.locator("#receipt-paid")).to_have_text("¥5000.00")
    expect(page.locator("#receipt-bonus")).to_contain_text("¥500.00")
    expect(page.locator("#receipt-balance")).to_have_text("¥5500.00")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=artifacts_dir / f"stored-value-receipt-{width}-{language}.png", full_page=True)

    # pay 2,000 of a 3,000 visit with the card, the rest by WeChat Pay
    page.goto(live_site.url(browser_clinic.host, f"/members/{member}/checkout/"))
    expect(page.locator("#checkout-card-balance")).to_contain_text("5500.00")
    page.select_option("#id_lines-0-item", str(card_data["item"]))
    page.select_option("#id_payments-0-method", "stored_value")
    page.fill("#id_payments-0-amount", "2000.00")
    page.select_option("#id_payments-1-method", "wechat_pay")
    expect(page.locator("#quote-total")).to_have_text("¥3000.00")
    page.click("#checkout-submit")
    expect(page).to_have_url(re.compile(r"/visits/\d+/receipt/"))
    visit = re.search(r"/visits/(\d+)/receipt/", page.url).group(1)
    page.goto(live_site.url(browser_clinic.host, f"/members/{member}/"))
    expect(page.locator("#card-balance-total")).to_have_text("¥3500.00")

    # refund the visit: the card is whole again
    page.click(f"a[href='/visits/{visit}/refund/']")
    page.locator("input[id^=id_line_]").first.fill("1")
    page.fill("#id_reason", "顾客改期" if language == "zh-hans" else "Client changed plans")
    page.click("#refund-submit")
    expect(page).to_have_url(live_site.url(browser_clinic.host, f"/members/{member}/"))
    expect(page.locator("#card-balance-total")).to_have_text("¥5500.00")
    page.click("#member-card-link")
    expect(page.locator("#card-principal")).to_have_text("¥5000.00")
    expect(page.locator("#card-bonus")).to_have_text("¥500.00")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=artifacts_dir / f"stored-value-card-after-refund-{width}-{language}.png", full_page=True)
