"""Every staff page fits a phone (390×844) and a desktop (1280×800) without sideways scrolling,
in Chinese and in English: the document is never wider than the window. The pages are opened
as a manager (who may open all of them) in the demo clinic, whose data fills every list. On
pages whose list ends in a button to pick a row (the merge search), that button must also be on
screen and work: a phone hides a table's later columns unless they are marked to keep."""

from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect, sync_playwright

from accounts.models import User
from appointments.models import ACTIVE_STATUSES, Booking, Location, Practitioner, Resource
from clinics.context import clinic_host
from clinics.platform.demo import DEMO_PASSWORD, demo_seed
from feedback.models import ComplaintCase, FollowUpTask
from imports.uploads import import_upload_create
from members.models import Member
from messaging.models import Message, MessageTemplate, Purpose
from messaging.services import message_send
from points.models import CouponTemplate, Reward
from tests.browser.conftest import CHROMIUM_ARGS, CHROMIUM_PATH
from tiers.models import Tier
from visits.models import CatalogueItem, Category, Visit

pytestmark = pytest.mark.browser

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
LANGUAGES = ["zh-hans", "en"]
NO_SIDEWAYS_SCROLL = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"

# Every staff page by URL name, with the object its address needs (None: no argument; "?…": a query).
PAGES = [
    ("frontdesk:home", None), ("frontdesk:member_search", None), ("frontdesk:member_register", None),
    ("frontdesk:member_detail", "member"), ("frontdesk:member_edit", "member"),
    ("frontdesk:member_messages", "member"), ("frontdesk:member_medical_edit", "member"),
    ("frontdesk:member_archive", "member"), ("frontdesk:member_merge_search", "member"),
    ("frontdesk:member_export", "member"), ("frontdesk:member_erase", "member"),
    ("frontdesk:member_medical_log", "member"), ("frontdesk:checkout", "member"), ("frontdesk:rewards", "member"),
    ("frontdesk:adjust", "member"), ("frontdesk:receipt", "visit"), ("frontdesk:refund", "visit"),
    ("frontdesk:approvals", None), ("frontdesk:calendar", None), ("frontdesk:calendar_week", None),
    ("frontdesk:schedule_exceptions", None), ("frontdesk:booking_new", None), ("frontdesk:booking_detail", "booking"),
    ("frontdesk:booking_reschedule", "booking"), ("frontdesk:booking_cancel", "booking"),
    ("frontdesk:job_runs", None),
    ("manager:index", None), ("manager:tiers", None), ("manager:tier_create", None), ("manager:tier_edit", "tier"),
    ("manager:points", None), ("manager:insights_settings", None), ("manager:campaign_settings", None),
    ("manager:rewards", None), ("manager:reward_create", None), ("manager:reward_edit", "reward"),
    ("manager:coupons", None),
    ("manager:coupon_create", None), ("manager:coupon_edit", "coupon_template"),
    ("manager:coupon_bulk_issue", None), ("manager:coupon_issue", "member"), ("manager:catalogue", None),
    ("manager:online_booking", None), ("manager:item_create", None), ("manager:item_edit", "item"),
    ("manager:category_create", None), ("manager:category_edit", "category"), ("manager:message_log", None),
    ("manager:message_detail", "message"), ("manager:messaging_settings", None),
    ("manager:message_templates", None), ("manager:message_template_edit", "message_template"),
    ("manager:portal_settings", None), ("manager:erasure_requests", None), ("manager:birthday_offer", None),
    ("manager:surveys", None), ("manager:imports", None), ("manager:import_upload", "upload"),
    ("manager:clinic_setup", None), ("manager:location_create", None), ("manager:location_edit", "location"),
    ("manager:resource_type_create", None), ("manager:resource_create", None),
    ("manager:resource_edit", "resource"), ("manager:practitioner_create", None),
    ("manager:practitioner_edit", "practitioner"), ("manager:practitioner_hours", "practitioner"),
    ("manager:treatment_requirements", "treatment"),
    ("insights:dashboard", None), ("insights:members", "?segment=active"), ("insights:clv_members", None),
    ("feedback:queue", None), ("feedback:recalls", None), ("feedback:task", "task"),
    ("feedback:complaints", None), ("feedback:complaint", "complaint"), ("feedback:create", "member"),
    ("accounts:staff_list", None), ("accounts:staff_invite", None), ("accounts:staff_detail", "staff"),
    ("accounts:sign_in_audit", None),
]


@dataclass(frozen=True)
class Demo:
    host: str
    paths: list[str]
    # A page with a list of rows to choose from: the button of the first row, and where it leads.
    choices: dict[str, tuple[str, str]]


def _first(queryset):
    found = queryset.first()
    assert found is not None, f"the demo clinic has no {queryset.model.__name__}"
    return found


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Iterator[Demo]:
    with django_db_blocker.unblock():
        connection.close()
        connection.set_schema_to_public()
        clinic, _created = demo_seed(members=15)
        try:
            with tenant_context(clinic):
                now = timezone.now()
                member = _first(Member.objects.filter(status=Member.Status.ACTIVE, visits__isnull=False)
                                .order_by("id"))
                manager = User.objects.get(username="manager")
                if not Message.objects.exists():
                    message_send(member=member, purpose=Purpose.APPOINTMENT_REMINDER,
                                 variables={"treatment": "面护", "time": "10:00"}, guard_key="layout-test")
                upload = import_upload_create(kind="members", file=BytesIO(b"name,phone\nA,13900000001\n"),
                                              actor=manager)
                objects = {
                    "member": member, "visit": _first(Visit.objects.filter(refunds__isnull=True).order_by("id")),
                    "booking": _first(Booking.objects.filter(status__in=ACTIVE_STATUSES, starts_at__gt=now)),
                    "tier": _first(Tier.objects.all()), "reward": _first(Reward.objects.all()),
                    "coupon_template": _first(CouponTemplate.objects.all()),
                    "item": _first(CatalogueItem.objects.all()), "category": _first(Category.objects.all()),
                    "message": _first(Message.objects.all()), "message_template": _first(MessageTemplate.objects.all()),
                    "upload": upload, "location": _first(Location.objects.all()),
                    "resource": _first(Resource.objects.all()), "practitioner": _first(Practitioner.objects.all()),
                    "treatment": _first(CatalogueItem.objects.filter(kind=CatalogueItem.Kind.TREATMENT)),
                    "task": _first(FollowUpTask.objects.all()), "staff": manager,
                }
                complaint = ComplaintCase.objects.first()
                paths = [reverse(name) + key if key and key.startswith("?") else
                         reverse(name, args=[objects[key].pk] if key else []) for name, key in PAGES
                         if key != "complaint"]
                if complaint is not None:
                    paths.append(reverse("feedback:complaint", args=[complaint.pk]))
                other = _first(Member.objects.filter(status=Member.Status.ACTIVE).exclude(pk=member.pk).order_by("id"))
                merge_search = (reverse("frontdesk:member_merge_search", args=[member.pk]) + "?"
                                + urlencode({"q": other.member_number}))
                paths.append(merge_search)
                choices = {merge_search: ("#merge-candidates .merge-choose",
                                          reverse("frontdesk:member_merge", args=[member.pk, other.pk]))}
            assert Permission.objects.exists()
            yield Demo(host=clinic_host(clinic), paths=paths, choices=choices)
        finally:
            connection.set_schema_to_public()
            clinic.delete(force_drop=True)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_no_staff_page_scrolls_sideways(demo, live_site, artifacts_dir, viewport, language):
    too_wide, not_ok, not_choosable = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN")
        context.add_cookies([{"name": "django_language", "value": language, "url": live_site.url(demo.host, "/")}])
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(live_site.url(demo.host, "/accounts/login/"))
        page.fill("#id_username", "manager")
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("form button[type=submit].primary")
        expect(page).to_have_url(live_site.url(demo.host, "/"))
        for path in demo.paths:
            response = page.goto(live_site.url(demo.host, path))
            if response is None or response.status != 200:
                not_ok.append((path, response.status if response else None))
                continue
            scroll, client = page.evaluate(NO_SIDEWAYS_SCROLL)
            if scroll > client:
                too_wide.append((path, scroll, client))
                name = path.strip("/").replace("/", "-") or "home"
                page.screenshot(path=artifacts_dir / f"too-wide-{viewport}-{language}-{name}.png", full_page=True)
            if path in demo.choices:
                selector, leads_to = demo.choices[path]
                button = page.locator(selector).first
                box = button.bounding_box() if button.count() and button.is_visible() else None
                if box is None or box["width"] == 0 or box["x"] < 0 or box["x"] + box["width"] > client:
                    not_choosable.append((path, box))
                    continue
                with page.expect_navigation():
                    button.click()
                if page.url != live_site.url(demo.host, leads_to):
                    not_choosable.append((path, page.url))
        context.close()
        browser.close()
    assert not_choosable == [], f"a row's button is off screen or leads elsewhere: {not_choosable}"
    assert not_ok == []
    assert too_wide == [], f"{len(too_wide)} of {len(demo.paths)} pages scroll sideways: {too_wide}"
