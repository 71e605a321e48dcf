"""A small clinic schedule: one location with two treatment rooms and one laser machine, two
practitioners working Monday to Saturday 09:00-18:00, and three treatments."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.roles import Role
from appointments.models import Location, Practitioner, Resource, ResourceType
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
from members.models import Member
from members.services import member_register
from points.models import LoyaltySettings
from tiers.models import Tier
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

WORKDAYS = range(6)


def upcoming_monday(weeks_ahead: int = 2) -> date:
    today = timezone.localdate()
    return today + timedelta(days=7 * weeks_ahead - today.weekday())


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """An instant at a local wall-clock time of the current clinic."""
    return datetime.combine(day, time(hour, minute), tzinfo=connection.tenant.zone)


def last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def next_dst_change(month: int) -> date:
    """The next last Sunday of March (month=3) or October (10) at least two weeks away: when
    Europe/Berlin changes between CET and CEST."""
    year = timezone.localdate().year
    while (change := last_sunday(year, month)) < timezone.localdate() + timedelta(days=14):
        year += 1
    return change


@dataclass
class World:
    location: Location
    room_type: ResourceType
    laser_type: ResourceType
    room1: Resource
    room2: Resource
    laser: Resource
    botox: CatalogueItem
    laser_treatment: CatalogueItem
    facial: CatalogueItem
    dr_a: Practitioner
    dr_b: Practitioner
    member: Member
    member2: Member


def hours_for(practitioner: Practitioner, location: Location, starts=time(9), ends=time(18), days=WORKDAYS):
    working_hours_set(practitioner=practitioner,
                      periods=[Period(location_id=location.pk, weekday=d, starts=starts, ends=ends) for d in days])


@pytest.fixture
def world(db, make_staff) -> World:
    LoyaltySettings.objects.filter(pk=1).update(signup_bonus=0, first_visit_bonus=0, pending_days=0)
    Tier.objects.update(discount_percent=0)
    appointment_policy_update(actor=None, slot_step_minutes=15, reminder_minutes=[1440, 120])
    location = location_create(name="静安店", address="南京西路 1 号")
    room_type = resource_type_create(name="治疗室", kind=ResourceType.Kind.ROOM)
    laser_type = resource_type_create(name="激光仪", kind=ResourceType.Kind.DEVICE)
    room1 = resource_create(location=location, resource_type=room_type, name="1 号房")
    room2 = resource_create(location=location, resource_type=room_type, name="2 号房")
    laser = resource_create(location=location, resource_type=laser_type, name="皮秒激光")
    category = category_create(name="医美项目", code="aesthetic")
    botox = catalogue_item_create(kind="treatment", name="肉毒素", sku="BTX", category=category,
                                  price=Decimal("2000.00"), duration_minutes=30, buffer_minutes=10, recall_days=120)
    laser_treatment = catalogue_item_create(kind="treatment", name="皮秒", sku="PICO", category=category,
                                            price=Decimal("3000.00"), duration_minutes=60, buffer_minutes=15,
                                            recall_days=30)
    facial = catalogue_item_create(kind="treatment", name="清洁面护", sku="FACE", category=category,
                                   price=Decimal("300.00"), duration_minutes=45)
    treatment_requirements_set(treatment=botox, resource_types=[room_type])
    treatment_requirements_set(treatment=laser_treatment, resource_types=[room_type, laser_type])
    dr_a = practitioner_create(user=make_staff(Role.PRACTITIONER, full_name="李医生"),
                               treatments=[botox, laser_treatment, facial])
    dr_b = practitioner_create(user=make_staff(Role.PRACTITIONER, full_name="王医生"),
                               treatments=[botox, laser_treatment, facial])
    for practitioner in (dr_a, dr_b):
        hours_for(practitioner, location)
    member = member_register(name="张小美", phone="13812345678", actor=None)
    member2 = member_register(name="刘芳", phone="13912345678", actor=None)
    return World(location=location, room_type=room_type, laser_type=laser_type, room1=room1, room2=room2,
                 laser=laser, botox=botox, laser_treatment=laser_treatment, facial=facial, dr_a=dr_a, dr_b=dr_b,
                 member=member, member2=member2)


@pytest.fixture
def monday() -> date:
    return upcoming_monday()


@pytest.fixture
def berlin(clinic):
    """The test clinic, in Europe/Berlin for this test."""
    original = clinic.time_zone
    clinic.time_zone = "Europe/Berlin"
    yield clinic
    clinic.time_zone = original
