"""A manager finds a lockout on the sign-in audit page, on a phone, and lifts it."""

import pytest
from django.conf import settings
from django.test import RequestFactory
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.roles import Role
from accounts.services import staff_create
from accounts.sign_in_guard import sign_in_record
from conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

LOCKED_AT = "203.0.113.50"


@pytest.fixture(scope="module")
def audit_manager(browser_clinic, django_db_blocker):
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        return staff_create(username="auditboss", email="auditboss@browserclinic.test", full_name="店长小陈",
                            role=Role.MANAGER, password=TEST_PASSWORD)


@pytest.fixture
def desk_locked_out(browser_clinic, django_db_blocker):
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR=LOCKED_AT)
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
            sign_in_record(request=request, identifier=browser_clinic.front_desk.username, succeeded=False)


def test_a_manager_lifts_a_lockout_on_a_phone(browser_clinic, audit_manager, desk_locked_out, live_site,
                                              artifacts_dir, page: Page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_site.url(browser_clinic.host, "/accounts/login/"))
    page.fill("#id_username", audit_manager.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("form button[type=submit].primary")
    expect(page).to_have_url(live_site.url(browser_clinic.host, "/"))

    page.goto(live_site.url(browser_clinic.host, "/accounts/sign-ins/"))
    row = page.locator("#lockouts tbody tr", has_text=LOCKED_AT)
    expect(row).to_contain_text(browser_clinic.front_desk.username)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=artifacts_dir / "sign_in_audit_390.png", full_page=True)
    row.locator("button").click()

    expect(page).to_have_url(live_site.url(browser_clinic.host, "/accounts/sign-ins/"))
    expect(page.locator("#lockouts tbody tr", has_text=LOCKED_AT)).to_have_count(0)
    expect(page.locator("#failures tbody tr", has_text=LOCKED_AT).first).to_contain_text(audit_manager.username)
