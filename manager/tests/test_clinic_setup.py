"""Clinic setup pages: locations, rooms and devices, practitioners, their hours and what each
treatment needs, through the appointments schedule services; owners and managers only."""

from datetime import time

import pytest
from django.urls import reverse

from accounts.roles import Role
from appointments.models import Location, Practitioner, Resource, ResourceType, TreatmentRequirement, WorkingHours
from appointments.schedule import location_create, practitioner_create, resource_type_create
from manager.once import FIELD as TOKEN_FIELD
from manager.once import form_token_new
from visits.services import catalogue_item_create, category_create

SETUP_URLS = ["manager:clinic_setup", "manager:location_create", "manager:resource_type_create",
              "manager:resource_create", "manager:practitioner_create"]


def token() -> dict:
    return {TOKEN_FIELD: form_token_new()}


@pytest.fixture
def treatment(db):
    return catalogue_item_create(kind="treatment", name="光子嫩肤", sku="IPL", price="800",
                                 category=category_create(name="光电", code="light"), duration_minutes=45)


def hours_post(rows: list[tuple]) -> dict:
    data = {"form-TOTAL_FORMS": str(len(rows)), "form-INITIAL_FORMS": "0"}
    for n, (weekday, location, starts, ends) in enumerate(rows):
        data.update({f"form-{n}-weekday": weekday, f"form-{n}-location": location, f"form-{n}-starts": starts,
                     f"form-{n}-ends": ends})
    return data


def test_a_manager_sets_up_a_location_a_room_a_practitioner_and_their_hours(staff_client, manager, make_staff,
                                                                           treatment):
    client = staff_client(manager)
    assert reverse("manager:clinic_setup") in client.get(reverse("manager:index")).content.decode()
    assert client.post(reverse("manager:location_create"), {"name": "静安店", "address": "南京西路", "active": "on",
                                                            **token()}).status_code == 302
    location = Location.objects.get(name="静安店")
    assert client.post(reverse("manager:resource_type_create"), {"name": "治疗室", "kind": "room", **token()}
                       ).status_code == 302
    room_type = ResourceType.objects.get()
    assert client.post(reverse("manager:resource_create"), {"location": location.pk, "resource_type": room_type.pk,
                                                            "name": "1 号房", "active": "on", **token()}
                       ).status_code == 302
    user = make_staff(Role.PRACTITIONER, full_name="李医生")
    assert client.post(reverse("manager:practitioner_create"), {"user": user.pk, "treatments": [treatment.pk],
                                                                **token()}).status_code == 302
    practitioner = Practitioner.objects.get(user=user)
    assert list(practitioner.treatments.all()) == [treatment]
    response = client.post(reverse("manager:practitioner_hours", args=[practitioner.pk]), hours_post([
        ("0", location.pk, "09:00", "12:00"), ("0", location.pk, "13:00", "18:00"), ("", "", "", "")]))
    assert response.status_code == 302
    assert list(WorkingHours.objects.values_list("weekday", "starts", "ends")) == [
        (0, time(9), time(12)), (0, time(13), time(18))]
    assert client.post(reverse("manager:treatment_requirements", args=[treatment.pk]), {"room_type": room_type.pk}
                       ).status_code == 302
    assert TreatmentRequirement.objects.get(treatment=treatment).resource_type == room_type
    page = client.get(reverse("manager:clinic_setup")).content.decode()
    assert "静安店" in page and "1 号房" in page and "李医生" in page and "09:00–12:00" in page
    assert Resource.objects.get().name == "1 号房"


def test_overlapping_hours_are_refused_next_to_the_row_and_nothing_changes(staff_client, manager, make_staff,
                                                                          treatment):
    location = location_create(name="静安店")
    practitioner = practitioner_create(user=make_staff(Role.PRACTITIONER), treatments=[treatment])
    response = staff_client(manager).post(reverse("manager:practitioner_hours", args=[practitioner.pk]), hours_post([
        ("1", location.pk, "09:00", "13:00"), ("1", location.pk, "12:00", "18:00")]))
    assert response.status_code == 400
    assert 'id="id_form-1-starts-error"' in response.content.decode()
    assert not WorkingHours.objects.exists()


def test_a_half_filled_hours_row_and_an_end_before_the_start_are_form_errors(staff_client, manager, make_staff,
                                                                             treatment):
    location = location_create(name="静安店")
    practitioner = practitioner_create(user=make_staff(Role.PRACTITIONER), treatments=[treatment])
    client = staff_client(manager)
    response = client.post(reverse("manager:practitioner_hours", args=[practitioner.pk]),
                           hours_post([("2", "", "09:00", "")]))
    assert response.status_code == 400 and 'id="id_form-0-location-error"' in response.content.decode()
    response = client.post(reverse("manager:practitioner_hours", args=[practitioner.pk]),
                           hours_post([("2", location.pk, "18:00", "09:00")]))
    assert response.status_code == 400 and 'id="id_form-0-ends-error"' in response.content.decode()
    assert not WorkingHours.objects.exists()


def test_a_duplicate_location_name_is_a_form_error(staff_client, manager):
    location_create(name="静安店")
    response = staff_client(manager).post(reverse("manager:location_create"), {"name": "静安店", **token()})
    assert response.status_code == 400 and 'id="id_name-error"' in response.content.decode()
    assert Location.objects.count() == 1


def test_a_product_has_no_requirements_page(staff_client, manager):
    product = catalogue_item_create(kind="product", name="面霜", sku="CR", price="100",
                                    category=category_create(name="护肤", code="care"))
    assert staff_client(manager).get(reverse("manager:treatment_requirements", args=[product.pk])).status_code == 404


def test_a_room_type_for_the_device_slot_is_refused(staff_client, manager, treatment):
    room_type = resource_type_create(name="治疗室", kind="room")
    response = staff_client(manager).post(reverse("manager:treatment_requirements", args=[treatment.pk]),
                                          {"device_type": room_type.pk})
    assert response.status_code == 400 and 'id="id_device_type-error"' in response.content.decode()
    assert not TreatmentRequirement.objects.exists()


@pytest.mark.parametrize("role_fixture", ["front_desk", "practitioner"])
def test_other_roles_cannot_set_up_the_clinic(request, staff_client, role_fixture):
    client = staff_client(request.getfixturevalue(role_fixture))
    for name in SETUP_URLS:
        assert client.get(reverse(name)).status_code == 403
    assert client.post(reverse("manager:location_create"), {"name": "偷偷开店", **token()}).status_code == 403
    assert not Location.objects.exists()
