"""A member uses the portal on a phone-sized Chromium (390×844): signs in with the code from the
message log, sees their balance and tier progress, changes a consent, downloads their data; and
no portal page scrolls sideways, in Simplified Chinese or in English."""

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone, translation
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect, sync_playwright

from members.models import ConsentRecord, Member
from members.services import ConsentInput, member_register
from messaging.models import Message
from points.ledger import Source, account_for, ledger_credit
from portal.services import portal_settings_update

from .conftest import CHROMIUM_ARGS, CHROMIUM_PATH

pytestmark = pytest.mark.browser

PHONE = "+8613811112222"
WIDTH, HEIGHT = 390, 844
MEMBER_PAGES = ["/m/", "/m/statement/", "/m/me/", "/m/me/details/", "/m/me/consent/", "/m/me/privacy/",
                "/m/surveys/"]


def in_thread(function):
    """Run a database read while Playwright's event loop holds this thread (Django refuses database
    calls from a thread with a running loop)."""

    def run():
        try:
            return function()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@pytest.fixture(scope="module")
def portal_member(browser_clinic, django_db_blocker) -> Member:
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        member = member_register(name="林小美", phone=PHONE, actor=None,
                                 consents=[ConsentInput(purpose="data_processing", granted=True)])
        with transaction.atomic():
            ledger_credit(account=account_for(member, lock=True), amount=1280, kind="adjust",
                          source=Source("adjustment", 1), actor=None, expires_at=timezone.now() + timedelta(days=20))
        portal_settings_update(actor=None, join_enabled=True)
        return member


@pytest.fixture
def phone(live_site) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="zh-CN",
                                      is_mobile=True, has_touch=True, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


def assert_no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{page.url} is {width}px wide on a {WIDTH}px screen"


def latest_code(clinic) -> str:
    def read():
        with tenant_context(clinic):
            body = Message.objects.filter(recipient=PHONE, purpose="sign_in_code").latest("created_at", "id").body
        return re.search(r"(?<!\d)(\d{6})(?!\d)", body).group(1)

    return in_thread(read)


def sign_in(page: Page, live_site, browser_clinic) -> None:
    page.goto(live_site.url(browser_clinic.host, "/m/"))
    expect(page).to_have_url(re.compile(r"/m/signin/\?next=%2Fm%2F$"))
    assert_no_sideways_scroll(page)
    page.fill("#id_phone", "138 1111 2222")
    page.click("form button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/m/signin/code/"))
    assert_no_sideways_scroll(page)
    page.fill("#id_code", latest_code(browser_clinic.clinic))
    page.click("form button[type=submit].primary")
    expect(page).to_have_url(live_site.url(browser_clinic.host, "/m/"))


def test_a_member_signs_in_sees_points_and_tier_changes_consent_and_downloads_data(
        browser_clinic, portal_member, live_site, artifacts_dir, phone: Page):
    clinic = browser_clinic.clinic
    sign_in(phone, live_site, browser_clinic)
    expect(phone.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(phone.locator("#points-balance")).to_have_text("1280")
    expect(phone.locator("#expiring")).to_contain_text("1280")
    expect(phone.locator("#tier-next")).to_be_visible()
    expect(phone.locator("#tier .p-progress").first).to_be_visible()
    expect(phone.locator(".p-nav a.current")).to_have_attribute("href", "/m/")
    phone.screenshot(path=artifacts_dir / "portal-home-zh.png", full_page=True)
    for path in MEMBER_PAGES:
        phone.goto(live_site.url(browser_clinic.host, path))
        assert_no_sideways_scroll(phone)

    phone.goto(live_site.url(browser_clinic.host, "/m/me/"))
    phone.click("#consent-link")
    phone.click("#consent-on-marketing_sms")
    expect(phone.locator(".consent[data-purpose=marketing_sms]")).to_have_attribute("data-granted", "yes")
    phone.click("#consent-off-notice_appointments")
    expect(phone.locator(".consent[data-purpose=notice_appointments]")).to_have_attribute("data-granted", "no")

    def consents():
        with tenant_context(clinic):
            return sorted(ConsentRecord.objects.filter(member=portal_member, channel="portal")
                          .values_list("purpose", "granted"))

    assert in_thread(consents) == [("marketing_sms", True), ("notice_appointments", False)]

    phone.goto(live_site.url(browser_clinic.host, "/m/me/privacy/"))
    with phone.expect_download() as download_info:
        phone.click("#export-button")
    data = json.loads(download_info.value.path().read_text(encoding="utf-8"))
    assert data["member_number"] == portal_member.member_number
    assert data["phone"] == PHONE
    phone.screenshot(path=artifacts_dir / "portal-privacy-zh.png", full_page=True)


def test_every_portal_page_fits_a_phone_in_english(browser_clinic, portal_member, live_site, artifacts_dir,
                                                   phone: Page):
    sign_in(phone, live_site, browser_clinic)
    phone.goto(live_site.url(browser_clinic.host, "/m/me/"))
    phone.select_option("#id_language", "en")
    phone.click("#language-save")
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    for path in MEMBER_PAGES:
        phone.goto(live_site.url(browser_clinic.host, path))
        expect(phone.locator("html")).to_have_attribute("lang", "en")
        assert_no_sideways_scroll(phone)
    phone.goto(live_site.url(browser_clinic.host, "/m/"))
    with translation.override("en"):
        expect(phone.locator("#tier h2")).to_have_text(translation.gettext("Your tier"))
    phone.screenshot(path=artifacts_dir / "portal-home-en.png", full_page=True)
    phone.goto(live_site.url(browser_clinic.host, "/m/me/"))
    phone.click("#signout")
    expect(phone).to_have_url(re.compile(r"/m/signin/$"))
    phone.goto(live_site.url(browser_clinic.host, "/m/statement/"))
    expect(phone).to_have_url(re.compile(r"/m/signin/\?next="))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_pages_before_sign_in_fit_a_phone(browser_clinic, portal_member, live_site, language, phone: Page):
    phone.context.add_cookies([{"name": "django_language", "value": language,
                                "url": live_site.url(browser_clinic.host, "/")}])
    for path in ("/m/signin/", f"/m/join/?ref={portal_member.referral_code}"):
        phone.goto(live_site.url(browser_clinic.host, path))
        expect(phone.locator("html")).to_have_attribute("lang", language)
        assert_no_sideways_scroll(phone)
    expect(phone.locator("#id_referral_code")).to_have_value(portal_member.referral_code)
