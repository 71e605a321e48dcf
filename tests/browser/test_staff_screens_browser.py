"""The staff screens that used to be API-only, in Chromium: a manager erases a member's data after
the confirmation, issues a coupon to an uploaded list, imports a CSV file and watches it finish,
and adds a location in the clinic setup; the recall list opens on a phone."""

from dataclasses import dataclass

import pytest
from django.utils import translation
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.roles import Role
from accounts.services import staff_create
from appointments.models import Location
from conftest import TEST_PASSWORD
from imports.models import ImportRun
from members.models import Member
from members.services import member_register, member_tag_add
from points.coupons import coupon_template_create
from points.models import Coupon, CouponTemplate
from segments.services import segment_create
from tests.browser.test_portal_browser import in_thread

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Screens:
    erasable_id: int
    listed_phones: list[str]
    template_id: int
    segment_id: int
    segment_template_id: int
    segment_member_ids: list[int]


@pytest.fixture(scope="module")
def screens(browser_clinic, django_db_blocker) -> Screens:
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        staff_create(username="screensboss", email="screensboss@browserclinic.test", full_name="店长小陈",
                     role=Role.MANAGER, password=TEST_PASSWORD)
        erasable = member_register(name="要删除的人", phone="13700009999", actor=None)
        listed = [member_register(name=f"名单会员{n}", phone=f"1370000800{n}", actor=None) for n in range(3)]
        template = coupon_template_create(name="名单专享券", kind=CouponTemplate.Kind.FIXED, amount=30, valid_days=30,
                                          total_limit=2)
        tagged = [member_register(name=f"分群会员{n}", phone=f"1370000810{n}", actor=None) for n in range(2)]
        for member in tagged:
            member_tag_add(member=member, actor=None, tag="分群专享")
        segment = segment_create(actor=None, name="分群专享会员",
                                 conditions={"all": [{"kind": "tag", "tags": ["分群专享"]}]})
        segment_template = coupon_template_create(name="分群专享券", kind=CouponTemplate.Kind.FIXED, amount=20,
                                                  valid_days=30, total_limit=5)
    return Screens(erasable_id=erasable.pk, listed_phones=[m.phone for m in listed], template_id=template.pk,
                   segment_id=segment.pk, segment_template_id=segment_template.pk,
                   segment_member_ids=[m.pk for m in tagged])


def zh(text: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(text)


def log_in(page: Page, live_site, browser_clinic) -> None:
    page.goto(live_site.url(browser_clinic.host, "/accounts/login/"))
    page.fill("#id_username", "screensboss")
    page.fill("#id_password", browser_clinic.password)
    page.click("form button[type=submit].primary")
    expect(page).to_have_url(live_site.url(browser_clinic.host, "/"))


def test_a_manager_erases_a_members_data_after_the_confirmation(browser_clinic, screens, live_site, artifacts_dir,
                                                                page: Page):
    log_in(page, live_site, browser_clinic)
    page.goto(live_site.url(browser_clinic.host, f"/members/{screens.erasable_id}/"))
    page.click("#member-erase")
    expect(page.locator("#erase-keeps")).to_be_visible()
    page.fill("#id_reason", "会员书面要求")
    page.fill("#id_confirm_number", "WRONG")
    page.click("#erase-submit")
    expect(page.locator("#id_confirm_number-error")).to_be_visible()
    clinic = browser_clinic.clinic

    def number_if_active():
        with tenant_context(clinic):
            member = Member.objects.get(pk=screens.erasable_id)
            return member.member_number if member.status == Member.Status.ACTIVE else None

    number = in_thread(number_if_active)
    assert number
    page.fill("#id_confirm_number", number)
    page.click("#erase-submit")
    expect(page.locator(".message")).to_have_text(zh("The member's personal data was erased."))
    page.screenshot(path=artifacts_dir / "staff-member-erased.png", full_page=True)
    assert in_thread(number_if_active) is None


def test_a_list_over_the_templates_total_limit_is_refused_whole(browser_clinic, screens, live_site,
                                                                artifacts_dir, page: Page):
    log_in(page, live_site, browser_clinic)
    page.goto(live_site.url(browser_clinic.host, "/manage/coupons/"))
    page.click("#coupon-bulk-issue")
    page.select_option("#id_template", str(screens.template_id))
    page.check("#id_source_1")
    csv = "phone\n" + "\n".join(screens.listed_phones) + "\n"
    page.set_input_files("#id_members_file", files=[{"name": "名单.csv", "mimeType": "text/csv",
                                                    "buffer": csv.encode("utf-8")}])
    page.click("#bulk-submit")
    expect(page.locator("#bulk-refused-all")).to_be_visible()
    expect(page.locator("#preview-to-issue")).to_have_text("3")
    expect(page.locator("#bulk-confirm")).to_have_count(0)
    page.screenshot(path=artifacts_dir / "staff-coupon-list-refused.png", full_page=True)

    def issued():
        with tenant_context(browser_clinic.clinic):
            return Coupon.objects.filter(template_id=screens.template_id).count()

    assert in_thread(issued) == 0


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 800}])
def test_a_manager_issues_coupons_to_a_segment_after_the_preview(browser_clinic, screens, live_site, artifacts_dir,
                                                                 page: Page, viewport):
    page.set_viewport_size(viewport)
    log_in(page, live_site, browser_clinic)
    page.goto(live_site.url(browser_clinic.host, "/manage/coupons/issue/"))
    page.select_option("#id_template", str(screens.segment_template_id))
    page.check("#id_source_0")
    page.select_option("#id_segment", str(screens.segment_id))
    page.click("#bulk-submit")
    expect(page.locator("#bulk-preview")).to_be_visible()
    expect(page.locator("#preview-listed")).to_have_text("2")
    expect(page.locator("#preview-to-issue")).to_have_text("2")
    width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"the preview scrolls sideways at {viewport['width']} px"
    page.click("#bulk-confirm")
    expect(page.locator("#bulk-result")).to_be_visible()
    page.screenshot(path=artifacts_dir / f"staff-coupon-segment-issued-{viewport['width']}.png", full_page=True)

    def issued():
        with tenant_context(browser_clinic.clinic):
            return sorted(Coupon.objects.filter(template_id=screens.segment_template_id)
                          .values_list("member_id", flat=True))

    # Each run is a new form: the first viewport's run issues 2, the second run 2 more (the
    # template allows 5), one per member per run.
    got = in_thread(issued)
    assert set(got) == set(screens.segment_member_ids) and len(got) in (2, 4)


def test_a_manager_imports_members_and_sees_the_result(browser_clinic, screens, live_site, artifacts_dir,
                                                       page: Page):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_site, browser_clinic)
    page.goto(live_site.url(browser_clinic.host, "/manage/imports/"))
    page.check("input[name=kind][value=members]")
    page.set_input_files("#id_file", files=[{"name": "老系统会员.csv", "mimeType": "text/csv",
                                            "buffer": "name,phone\n导入甲,13600001111\n导入乙,13600002222\n"
                                            .encode()}])
    page.click("#import-upload-submit")
    expect(page.locator("#preview-rows tbody tr")).to_have_count(2)
    page.click("#import-start")
    expect(page.locator("#import-result")).to_be_visible()
    expect(page.locator("#result-imported")).to_have_text("2")
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=artifacts_dir / "staff-import-finished-phone.png", full_page=True)
    def imported():
        with tenant_context(browser_clinic.clinic):
            return (ImportRun.objects.filter(file_name="老系统会员.csv", imported=2).exists(),
                    Member.objects.filter(name__in=["导入甲", "导入乙"]).count())

    assert in_thread(imported) == (True, 2)


def test_a_manager_adds_a_location_in_the_clinic_setup_and_opens_the_recall_list_on_a_phone(
        browser_clinic, screens, live_site, artifacts_dir, page: Page):
    log_in(page, live_site, browser_clinic)
    page.goto(live_site.url(browser_clinic.host, "/manage/"))
    page.click("#clinic-setup-link")
    page.click("#setup-locations a.button")
    page.fill("#id_name", "浦东店")
    page.click("form button[type=submit].primary")
    expect(page.locator("#setup-locations")).to_contain_text("浦东店")
    def location_added():
        with tenant_context(browser_clinic.clinic):
            return Location.objects.filter(name="浦东店").exists()

    assert in_thread(location_added)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_site.url(browser_clinic.host, "/followups/"))
    page.click("#recalls-link")
    expect(page.locator("#recall-filters")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=artifacts_dir / "staff-recall-list-phone.png", full_page=True)
