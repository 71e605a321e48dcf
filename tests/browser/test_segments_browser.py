"""A manager builds a segment in Chromium, sees its count change as conditions are added, saves it
and finds it in the list, at phone and desk widths, in Chinese and English."""

import itertools
from datetime import date

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.roles import Role
from accounts.services import staff_create
from conftest import TEST_PASSWORD
from members.models import Member
from members.services import member_register
from segments.models import Segment
from tests.browser.test_feedback_browser import NO_SIDEWAYS_SCROLL, WIDEST, in_clinic, in_language
from tests.browser.test_manager_settings_browser import log_in

pytestmark = pytest.mark.browser
PHONES = itertools.count(1)


@pytest.fixture(scope="module")
def segment_data(browser_clinic, django_db_blocker):
    """Six members: three women (two tagged 敏感肌), three men (one tagged)."""
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        staff_create(username="segboss", email="segboss@browserclinic.test", full_name="分群经理",
                     role=Role.MANAGER, password=TEST_PASSWORD)
        for name, gender, tags in (("林女士", "female", ["敏感肌"]), ("周女士", "female", ["敏感肌"]),
                                   ("吴女士", "female", []), ("郑先生", "male", ["敏感肌"]),
                                   ("王先生", "male", []), ("冯先生", "male", [])):
            member_register(name=name, phone=f"1355500{next(PHONES):04d}", actor=None, gender=gender, tags=tags,
                            birthday=date(1990, 5, 5))
        return {"members": 6}


def active_members() -> int:
    return Member.objects.filter(status="active").count()


@pytest.mark.parametrize("language, width, height", [("zh-hans", 390, 844), ("en", 1280, 800)])
def test_a_manager_builds_a_segment_and_sees_its_count(browser_clinic, segment_data, live_site, artifacts_dir,
                                                       language, width, height, page: Page):
    everyone = in_clinic(browser_clinic.clinic, active_members)
    in_language(page, live_site, browser_clinic, language)
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_site, browser_clinic, "segboss")
    page.goto(live_site.url(browser_clinic.host, "/manage/"))
    page.click("#segments-link")
    page.click("#segment-new")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("#segment-count")).to_have_text(str(everyone))

    name = f"敏感肌女士 {language}"
    page.fill("#id_name", name)
    page.select_option("#new-kind", "tag")
    page.click("#add-condition")
    page.fill("input[name='c-0-tags']", "敏感肌")
    expect(page.locator("#segment-count")).to_have_text("3")
    page.select_option("#new-kind", "gender")
    page.click("#add-condition")
    page.check("input[name='c-1-genders'][value='female']")
    expect(page.locator("#segment-count")).to_have_text("2")
    expect(page.locator("#segment-sample li")).to_have_count(2)
    page.check("input[name='c-1-negate']")
    expect(page.locator("#segment-count")).to_have_text("1")
    expect(page.locator("#segment-sample")).to_contain_text("郑先生")
    page.uncheck("input[name='c-1-negate']")
    expect(page.locator("#segment-count")).to_have_text("2")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), page.evaluate(WIDEST)
    page.screenshot(path=artifacts_dir / f"segment-editor-{width}-{language}.png", full_page=True)

    page.click("#segment-save")
    expect(page.locator(".message")).to_be_visible()
    expect(page.locator("#segment-count")).to_have_text("2")
    page.click(".crumbs a[href='/manage/segments/']")
    row = page.locator("#segments tr", has=page.locator(f"a:text-is('{name}')"))
    expect(row.locator(".segment-count")).to_have_text("2")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), page.evaluate(WIDEST)

    def saved_kinds():
        return [c["kind"] for c in Segment.objects.get(name=name).conditions["all"]]

    assert in_clinic(browser_clinic.clinic, saved_kinds) == ["tag", "gender"]
