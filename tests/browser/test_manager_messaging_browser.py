"""A manager edits a message template in Chromium: the preview follows the text as it is typed,
shows a wrong variable at once, and the text is saved."""

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.roles import Role
from accounts.services import staff_create
from conftest import TEST_PASSWORD
from messaging.models import Channel, MessageTemplate, Purpose

from .test_manager_settings_browser import in_clinic_language, log_in

pytestmark = pytest.mark.browser

NEW_TEXT = "【{clinic}】{name}，生日快乐！{gift}回T退订"


@pytest.fixture(scope="module")
def messaging_manager(browser_clinic, django_db_blocker):
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        return staff_create(username="boss", email="boss@browserclinic.test", full_name="店长小王",
                            role=Role.MANAGER, password=TEST_PASSWORD)


@pytest.fixture(scope="module")
def birthday_sms(browser_clinic, django_db_blocker) -> MessageTemplate:
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        return MessageTemplate.objects.get(purpose=Purpose.BIRTHDAY_OFFER, channel=Channel.SMS, language="zh-hans")


def test_a_manager_edits_a_template_sees_the_preview_and_saves(browser_clinic, messaging_manager, birthday_sms,
                                                               live_site, artifacts_dir, page: Page):
    clinic = browser_clinic.clinic
    log_in(page, live_site, browser_clinic, messaging_manager.username)

    page.click("nav a[href='/manage/']")
    page.click("a[href='/manage/messages/templates/']")
    page.click(f"tr[data-template='{birthday_sms.pk}'] a")
    expect(page.locator("#id_body")).to_be_focused()
    expect(page.locator("#preview-body")).to_contain_text(f"【{clinic.name}】亲爱的张小美，祝您生日快乐！")

    page.fill("#id_body", "{name}，您的{allergies}")
    expect(page.locator("#preview-problems")).to_contain_text("allergies")

    page.fill("#id_body", NEW_TEXT)
    expect(page.locator("#preview-body")).to_contain_text(f"【{clinic.name}】张小美，生日快乐！200积分已存入您的账户。")
    expect(page.locator("#preview-body")).to_contain_text("回T退订")
    page.screenshot(path=artifacts_dir / "manager-message-template-preview.png", full_page=True)

    page.click("button[name=action][value=save]")

    expect(page).to_have_url(live_site.url(browser_clinic.host, "/manage/messages/templates/"))
    expect(page.locator(".message")).to_have_text(in_clinic_language(clinic, "Template saved."))
    expect(page.locator(f"tr[data-template='{birthday_sms.pk}']")).to_contain_text("生日快乐！{gift}回T退订")
    page.click(f"tr[data-template='{birthday_sms.pk}'] a")
    expect(page.locator("#id_body")).to_have_value(NEW_TEXT)
