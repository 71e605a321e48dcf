"""The week calendar and a deposit in a real Chromium: the front desk opens a practitioner's week,
finds an appointment on its day, opens it and records the deposit the member paid. Screenshots of
the week and of the recorded deposit go to test-artifacts/."""

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
    appointment_policy_update,
    location_create,
    practitioner_create,
    resource_create,
    resource_type_create,
    treatment_requirements_set,
    working_hours_set,
)
from appointments.services import booking_create
from appointments.tests.conftest import local
from members.services import member_register
from points.rules import local_date
from visits.services import catalogue_item_create, category_create

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class WeekData:
    practitioner_id: int
    booking_ids: list[int]
    day: date


@pytest.fixture(scope="module")
def week_data(browser_clinic, django_db_blocker) -> WeekData:
    """A practitioner working every day, with appointments on three days of next week; the clinic
    asks a 200 yuan deposit per booking."""
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        appointment_policy_update(actor=None, deposit_amount=Decimal("200.00"))
        location = location_create(name="静安店")
        room_type = resource_type_create(name="治疗室", kind=ResourceType.Kind.ROOM)
        resource_create(location=location, resource_type=room_type, name="1 号房")
        category = category_create(name="医美项目", code="aesthetic-week")
        botox = catalogue_item_create(kind="treatment", name="肉毒素", sku="BTX-W", category=category,
                                      price=Decimal("2000.00"), duration_minutes=30, buffer_minutes=10)
        treatment_requirements_set(treatment=botox, resource_types=[room_type])
        user = staff_create(username="drwang", email="drwang@browserclinic.test", full_name="王医生",
                            role=Role.PRACTITIONER, password=browser_clinic.password)
        practitioner = practitioner_create(user=user, treatments=[botox])
        working_hours_set(practitioner=practitioner, periods=[
            Period(location_id=location.pk, weekday=d, starts=time(9), ends=time(18)) for d in range(7)])
        today = local_date(timezone.now())
        monday = today + timedelta(days=7 - today.weekday())
        members = [member_register(name=name, phone=phone, actor=None)
                   for name, phone in (("周芷若", "13911119101"), ("小昭", "13911119102"), ("殷离", "13911119103"))]
        bookings = [booking_create(member=member, treatment=botox, starts_at=local(monday + timedelta(days=n), hour),
                                   practitioner=practitioner, actor=browser_clinic.front_desk)
                    for member, n, hour in zip(members, (0, 2, 2), (10, 15, 9), strict=True)]
    return WeekData(practitioner_id=practitioner.pk, booking_ids=[b.pk for b in bookings], day=monday)


def test_front_desk_opens_the_week_and_records_a_deposit(browser_clinic, week_data, live_site, artifacts_dir,
                                                        page: Page):
    week = f"/appointments/week/?date={week_data.day.isoformat()}&of=practitioner-{week_data.practitioner_id}"
    url = live_site.url(browser_clinic.host, week)
    page.goto(url)
    page.fill("#id_username", browser_clinic.front_desk.username)
    page.fill("#id_password", browser_clinic.password)
    page.click("form button[type=submit].primary")
    expect(page).to_have_url(url)

    # The week: seven days, Wednesday's two appointments earliest first
    expect(page.locator("#week .week-day")).to_have_count(7)
    wednesday = page.locator(f"#week-day-{(week_data.day + timedelta(days=2)).isoformat()} a.week-booking")
    expect(wednesday).to_have_count(2)
    expect(wednesday.nth(0)).to_contain_text("09:00")
    expect(wednesday.nth(0)).to_contain_text("殷离")
    expect(wednesday.nth(1)).to_contain_text("15:00")
    page.screenshot(path=artifacts_dir / "appointments-week-calendar.png", full_page=True)

    # The next week is empty, and "this week" comes back
    page.click("#week-next")
    expect(page.locator("#week a.week-booking")).to_have_count(0)
    page.click("#week-previous")
    expect(page.locator("#week a.week-booking")).to_have_count(3)

    # Open Monday's appointment and record the deposit the clinic asks, paid by Alipay
    booking_id = week_data.booking_ids[0]
    page.click(f'a[data-booking="{booking_id}"]')
    expect(page).to_have_url(re.compile(rf"/appointments/{booking_id}/$"))
    expect(page.locator("#deposit-form #id_amount")).to_have_value("200.00")
    page.select_option("#deposit-form #id_method", "alipay")
    page.click("#deposit-submit")

    expect(page).to_have_url(re.compile(rf"/appointments/{booking_id}/$"))
    expect(page.locator("#booking-deposit")).to_contain_text("¥200.00")
    expect(page.locator("#booking-deposit")).to_contain_text(browser_clinic.front_desk.full_name)
    expect(page.locator("#deposit-form")).to_have_count(0)
    expect(page.locator('#booking-history tr[data-kind="deposit"]')).to_have_count(1)
    expect(page.locator("#booking-deposit")).to_contain_text("支付宝")
    page.screenshot(path=artifacts_dir / "appointments-deposit-recorded.png", full_page=True)
