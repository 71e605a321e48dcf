"""The front desk logs in through the real login form in Chromium and lands on today's page."""

import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def in_clinic_language(clinic, text: str) -> str:
    with translation.override(clinic.language):
        return translation.gettext(text)


def test_front_desk_logs_in_and_lands_on_today(browser_clinic, live_site, artifacts_dir, page):
    clinic, desk = browser_clinic.clinic, browser_clinic.front_desk
    home = live_site.url(browser_clinic.host, "/")

    page.goto(home)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.fill("#id_username", desk.username)
    page.fill("#id_password", browser_clinic.password)
    page.click("form button[type=submit].primary")

    expect(page).to_have_url(home)
    expect(page.locator("main h1")).to_have_text(in_clinic_language(clinic, "Today"))
    expect(page.locator(".brand")).to_have_text(clinic.name)
    expect(page.locator(".who")).to_contain_text(desk.full_name)
    expect(page.locator("html")).to_have_attribute("lang", clinic.language)
    page.screenshot(path=artifacts_dir / "front-desk-home.png", full_page=True)


def test_a_wrong_password_keeps_the_front_desk_on_the_login_form(browser_clinic, live_site, page):
    login = live_site.url(browser_clinic.host, "/accounts/login/")

    page.goto(login)
    page.fill("#id_username", browser_clinic.front_desk.username)
    page.fill("#id_password", "not-the-password")
    page.click("form button[type=submit].primary")

    expect(page).to_have_url(login)
    expect(page.locator("[role=alert]")).to_be_visible()
