"""Booking and check-in in a real Chromium: the front desk books a free time for a member with
the slot picker, finds the appointment on the day calendar and checks the member in. Screenshots
of the picker, the calendar and the checked-in appointment go to test-artifacts/."""

import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.roles import Role
from accounts.services import staff_create
from appointments.models import ResourceType
from appointments.schedule import (
    Period,
    location_create,
    practitioner_create,
    resource_create,
    resource_type_create,
    treatment_requirements_set,
    working_hours_set,
)
from appointments.tests.conftest import local
from frontdesk.booking_forms import slot_value
from members.models import Member
from members.services import member_register
from points.rules import local_date
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class ScheduleData:
    member: Member
    treatment: CatalogueItem
    practitioner_id: int
    day: date
    slot: str


@pytest.fixture(scope="module")
def schedule_data(browser_clinic, django_db_blocker) -> ScheduleData:
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        location = location_create(name="静安店")
        room_type = resource_type_create(name="治疗室", kind=ResourceType.Kind.ROOM)
        resource_create(location=location, resource_type=room_type, name="1 号房")
        category = category_create(name="医美项目", code="aesthetic-browser")
        botox = catalogue_item_create(kind="treatment", name="肉毒素", sku="BTX-B", category=category,
                                      price=Decimal("2000.00"), duration_minutes=30, buffer_minutes=10)
        treatment_requirements_set(treatment=botox, resource_types=[room_type])
        user = staff_create(username="drli", email="drli@browserclinic.test", full_name="李医生",
                            role=Role.PRACTITIONER, password=browser_clinic.password)
        practitioner = practitioner_create(user=user, treatments=[botox])
        working_hours_set(practitioner=practitioner, periods=[
            Period(location_id=location.pk, weekday=d, starts=time(9), ends=time(18)) for d in range(7)])
        member = member_register(name="赵敏", phone="13911119001", actor=None)
        day = local_date(timezone.now()) + timedelta(days=1)
        slot = slot_value(local(day, 10), practitioner.pk)
    return ScheduleData(member=member, treatment=botox, practitioner_id=practitioner.pk, day=day, slot=slot)


def test_front_desk_books_a_slot_sees_it_on_the_calendar_and_checks_in(
        browser_clinic, schedule_data, live_site, artifacts_dir, page: Page):
    url = live_site.url(browser_clinic.host, f"/appointments/new/?member={schedule_data.member.pk}")
    page.goto(url)
    page.fill("#id_username", browser_clinic.front_desk.username)
    page.fill("#id_password", browser_clinic.password)
    page.click("form button[type=submit].primary")
    expect(page).to_have_url(url)

    # The slot picker: choose the treatment and tomorrow, and the free times load
    page.select_option("#id_treatment", str(schedule_data.treatment.pk))
    page.fill("#id_day", schedule_data.day.isoformat())
    slot = page.locator(f'#slots input[data-slot="{schedule_data.slot}"]')
    expect(slot).to_be_visible()
    page.wait_for_load_state("networkidle")
    slot.check()
    page.screenshot(path=artifacts_dir / "appointments-book-slot-picker.png", full_page=True)
    page.click("#booking-submit")

    expect(page).to_have_url(re.compile(r"/appointments/\d+/$"))
    expect(page.locator("#booking-status")).to_have_attribute("data-status", "booked")
    booking_id = page.url.rstrip("/").rsplit("/", 1)[-1]

    # The day calendar: the appointment sits in the practitioner's column
    page.goto(live_site.url(browser_clinic.host, f"/appointments/?date={schedule_data.day.isoformat()}"))
    block = page.locator(f'#column-practitioner-{schedule_data.practitioner_id} a[data-booking="{booking_id}"]')
    expect(block).to_be_visible()
    expect(block).to_contain_text("赵敏")
    page.screenshot(path=artifacts_dir / "appointments-day-calendar.png", full_page=True)

    # Check the member in from the appointment
    block.click()
    expect(page).to_have_url(re.compile(rf"/appointments/{booking_id}/$"))
    page.click('button[data-action="check_in"]')
    expect(page.locator("#booking-status")).to_have_attribute("data-status", "checked_in")
    expect(page.locator('#booking-history tr[data-kind="status"]')).to_have_count(1)
    page.screenshot(path=artifacts_dir / "appointments-checked-in.png", full_page=True)
    page.goto(live_site.url(browser_clinic.host, f"/appointments/?date={schedule_data.day.isoformat()}"))
    expect(page.locator(f'a[data-booking="{booking_id}"]')).to_have_attribute("data-status", "checked_in")
