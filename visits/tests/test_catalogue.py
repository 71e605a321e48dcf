"""The catalogue: services and every /api/v1/catalogue/ endpoint, per role, with bad input."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.roles import Role
from visits.models import CatalogueItem, Category
from visits.services import catalogue_item_create, catalogue_item_update, category_create

API = "/api/v1/catalogue/"
JSON = "application/json"


@pytest.fixture
def skincare(db) -> Category:
    return category_create(name="护肤品", code="Skincare ")


@pytest.fixture
def cream(skincare) -> CatalogueItem:
    return catalogue_item_create(kind="product", name=" 修护面霜 ", sku=" cr-1 ", category=skincare,
                                 price=Decimal("500.00"))


def test_services_clean_codes_and_names(skincare, cream):
    assert skincare.code == "skincare"
    assert (cream.name, cream.sku) == ("修护面霜", "CR-1")


def test_a_treatment_needs_a_duration(skincare):
    with pytest.raises(ValidationError) as exc:
        catalogue_item_create(kind="treatment", name="光子嫩肤", sku="IPL", category=skincare,
                              price=Decimal("1200"))
    assert "duration_minutes" in exc.value.message_dict
    assert not CatalogueItem.objects.filter(sku="IPL").exists()


def test_update_changes_listed_fields_only_and_rechecks_the_rules(cream):
    catalogue_item_update(item=cream, price=Decimal("450.00"), sku="cr-2", active=False)
    cream.refresh_from_db()
    assert (cream.price, cream.sku, cream.active) == (Decimal("450.00"), "CR-2", False)

    with pytest.raises(ValidationError):
        catalogue_item_update(item=cream, kind="treatment")
    with pytest.raises(ValidationError):
        catalogue_item_update(item=cream, created_by="me")
    cream.refresh_from_db()
    assert cream.kind == "product"


def test_duplicate_codes_are_refused(skincare, cream):
    with pytest.raises(ValidationError):
        category_create(name="护肤", code="skincare")
    with pytest.raises(ValidationError):
        catalogue_item_create(kind="product", name="另一款", sku="cr-1", category=skincare, price=Decimal("1"))


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.FRONT_DESK, Role.PRACTITIONER])
def test_every_role_reads_the_catalogue(staff_client, make_staff, role, cream):
    client = staff_client(make_staff(role))

    assert [c["code"] for c in client.get(f"{API}categories/").json()] == ["skincare"]
    assert [i["sku"] for i in client.get(f"{API}items/").json()] == ["CR-1"]
    assert client.get(f"{API}items/{cream.pk}/").json()["category_name"] == "护肤品"


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PRACTITIONER])
def test_front_desk_and_practitioners_cannot_change_it(staff_client, make_staff, role, skincare, cream):
    client = staff_client(make_staff(role))

    assert client.post(f"{API}categories/", {"name": "激光", "code": "laser"}, content_type=JSON).status_code == 403
    assert client.post(f"{API}items/", {"kind": "product", "name": "x", "sku": "X", "category": skincare.pk,
                                        "price": "1"}, content_type=JSON).status_code == 403
    assert client.patch(f"{API}items/{cream.pk}/", {"price": "1"}, content_type=JSON).status_code == 403
    assert Category.objects.count() == 1
    cream.refresh_from_db()
    assert cream.price == Decimal("500.00")


def test_anonymous_gets_401(anon_client):
    assert anon_client.get(f"{API}items/").status_code == 401


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_owners_and_managers_build_the_catalogue(staff_client, make_staff, role):
    client = staff_client(make_staff(role))

    category = client.post(f"{API}categories/", {"name": "激光", "code": "laser"}, content_type=JSON)
    assert category.status_code == 201
    item = client.post(f"{API}items/", {"kind": "treatment", "name": "光子嫩肤", "sku": "ipl",
                                        "category": category.json()["id"], "price": "1200.00",
                                        "duration_minutes": 45, "recall_days": 30}, content_type=JSON)
    assert item.status_code == 201, item.json()
    assert (item.json()["sku"], item.json()["duration_minutes"]) == ("IPL", 45)

    changed = client.patch(f"{API}items/{item.json()['id']}/", {"price": "999.00", "active": False},
                           content_type=JSON)
    assert changed.status_code == 200
    assert (changed.json()["price"], changed.json()["active"]) == ("999.00", False)
    assert client.get(f"{API}items/").json() == []
    assert [i["sku"] for i in client.get(f"{API}items/", {"all": "1"}).json()] == ["IPL"]
    assert [i["sku"] for i in client.get(f"{API}items/", {"all": "1", "kind": "product"}).json()] == []


def test_bad_input_is_a_400_naming_the_field_and_nothing_changes(staff_client, manager, skincare, cream):
    client = staff_client(manager)

    no_duration = client.post(f"{API}items/", {"kind": "treatment", "name": "光子嫩肤", "sku": "IPL",
                                               "category": skincare.pk, "price": "1200"}, content_type=JSON)
    assert no_duration.status_code == 400
    assert "duration_minutes" in no_duration.json()["error"]["fields"]

    negative = client.post(f"{API}items/", {"kind": "product", "name": "x", "sku": "X", "category": skincare.pk,
                                            "price": "-1"}, content_type=JSON)
    assert "price" in negative.json()["error"]["fields"]

    unknown_category = client.post(f"{API}items/", {"kind": "product", "name": "x", "sku": "X",
                                                    "category": 999999, "price": "1"}, content_type=JSON)
    assert "category" in unknown_category.json()["error"]["fields"]

    same_code = client.post(f"{API}categories/", {"name": "护肤", "code": "skincare"}, content_type=JSON)
    assert same_code.status_code == 400 and "code" in same_code.json()["error"]["fields"]

    to_treatment = client.patch(f"{API}items/{cream.pk}/", {"kind": "treatment"}, content_type=JSON)
    assert to_treatment.status_code == 400
    assert "duration_minutes" in to_treatment.json()["error"]["fields"]

    assert client.get(f"{API}items/999999/").status_code == 404
    assert CatalogueItem.objects.count() == 1 and Category.objects.count() == 1
    cream.refresh_from_db()
    assert cream.kind == "product"
