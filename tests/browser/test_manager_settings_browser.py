"""A manager changes a tier threshold and an earning rule in Chromium and sees them saved; a
front-desk user is refused the settings pages."""

import pytest
from django.utils import translation
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.roles import Role
from accounts.services import staff_create
from conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

SETTINGS_PAGES = ["/manage/", "/manage/tiers/", "/manage/points/", "/manage/rewards/", "/manage/coupons/",
                  "/manage/catalogue/"]


@pytest.fixture(scope="module")
def clinic_manager(browser_clinic, django_db_blocker):
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        return staff_create(username="boss", email="boss@browserclinic.test", full_name="店长小王",
                            role=Role.MANAGER, password=TEST_PASSWORD)


def in_clinic_language(clinic, text: str) -> str:
    with translation.override(clinic.language):
        return translation.gettext(text)


def log_in(page: Page, live_site, browser_clinic, username: str) -> None:
    page.goto(live_site.url(browser_clinic.host, "/accounts/login/"))
    page.fill("#id_username", username)
    page.fill("#id_password", browser_clinic.password)
    page.click("form button[type=submit].primary")
    expect(page).to_have_url(live_site.url(browser_clinic.host, "/"))


def test_a_manager_raises_a_tier_threshold_and_the_earning_rate(browser_clinic, clinic_manager, live_site,
                                                                 artifacts_dir, page):
    clinic = browser_clinic.clinic
    saved = in_clinic_language(clinic, "Tier saved.")
    rules_saved = in_clinic_language(clinic, "Points rules saved.")
    log_in(page, live_site, browser_clinic, clinic_manager.username)

    page.click("nav a[href='/manage/']")
    page.click("a[href='/manage/tiers/']")
    page.click("#tiers a:text-is('银卡')")
    page.fill("#id_min_spend", "8000")
    page.fill("#id_earn_multiplier", "1.25")
    page.click("form button[type=submit].primary")

    expect(page).to_have_url(live_site.url(browser_clinic.host, "/manage/tiers/"))
    expect(page.locator(".message")).to_have_text(saved)
    silver_row = page.locator("#tiers tr", has=page.locator("a:text-is('银卡')"))
    expect(silver_row).to_contain_text("8000.00")
    expect(silver_row).to_contain_text("×1.25")
    page.screenshot(path=artifacts_dir / "manager-tier-threshold-saved.png", full_page=True)

    page.goto(live_site.url(browser_clinic.host, "/manage/points/"))
    page.fill("#id_points_per_currency_unit", "2")
    page.fill("#id_signup_bonus", "300")
    page.click("form button[type=submit].primary")

    expect(page.locator(".message")).to_have_text(rules_saved)
    page.reload()
    expect(page.locator("#id_points_per_currency_unit")).to_have_value("2.000")
    expect(page.locator("#id_signup_bonus")).to_have_value("300")
    page.screenshot(path=artifacts_dir / "manager-earning-rule-saved.png", full_page=True)


def test_a_bad_earning_rule_is_shown_next_to_the_field_in_the_browser(browser_clinic, clinic_manager, live_site,
                                                                      page):
    log_in(page, live_site, browser_clinic, clinic_manager.username)
    page.goto(live_site.url(browser_clinic.host, "/manage/points/"))
    page.fill("#id_birthday_month_multiplier", "0.5")
    page.click("form button[type=submit].primary")

    expect(page.locator("#id_birthday_month_multiplier-error")).to_be_visible()
    page.goto(live_site.url(browser_clinic.host, "/manage/points/"))
    expect(page.locator("#id_birthday_month_multiplier")).not_to_have_value("0.50")


def test_a_front_desk_user_is_refused_the_settings_pages(browser_clinic, live_site, artifacts_dir, page):
    clinic = browser_clinic.clinic
    log_in(page, live_site, browser_clinic, browser_clinic.front_desk.username)

    expect(page.locator("nav a[href='/manage/']")).to_have_count(0)
    for path in SETTINGS_PAGES:
        response = page.goto(live_site.url(browser_clinic.host, path))
        assert response.status == 403, path
        expect(page.locator("main h1")).to_have_text(in_clinic_language(clinic, "Not allowed"))
    page.screenshot(path=artifacts_dir / "front-desk-denied-settings.png", full_page=True)
