"""Treatments, products and their categories, kept by a manager."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from visits.models import CatalogueItem, Category
from visits.services import catalogue_item_update, category_delete

from .conftest import field_error, form_token


def item_data(in_category: Category, **changes) -> dict:
    return {"kind": "treatment", "name": "水光针", "sku": "hydra-1", "category": in_category.pk, "price": "1980.00",
            "duration_minutes": "45", "buffer_minutes": "15", "recall_days": "28", "active": "on", **changes}


def test_the_catalogue_page_lists_items_and_categories(manager_client, facial, serum):
    content = manager_client.get("/manage/catalogue/").content.decode()

    assert "光子嫩肤" in content and "精华液" in content and "1200.00" in content
    assert "激光" in content and "护肤品" in content
    assert f"/manage/catalogue/items/{facial.pk}/active/" in content


def test_a_manager_adds_a_treatment_with_duration_and_recall(manager_client, laser):
    token = form_token(manager_client.get("/manage/catalogue/items/new/"))

    response = manager_client.post("/manage/catalogue/items/new/", item_data(laser, form_token=token))

    assert response.status_code == 302
    item = CatalogueItem.objects.get(sku="HYDRA-1")
    assert (item.kind, item.name, item.category, item.price, item.duration_minutes, item.buffer_minutes,
            item.recall_days, item.active) == ("treatment", "水光针", laser, Decimal("1980.00"), 45, 15, 28, True)


def test_a_double_click_on_add_item_adds_it_once(manager_client, laser):
    data = item_data(laser, form_token=form_token(manager_client.get("/manage/catalogue/items/new/")))

    first = manager_client.post("/manage/catalogue/items/new/", data)
    second = manager_client.post("/manage/catalogue/items/new/", data)

    assert (first.status_code, second.status_code) == (302, 302)
    assert CatalogueItem.objects.filter(sku="HYDRA-1").count() == 1


@pytest.mark.parametrize(("changes", "field"), [
    ({"duration_minutes": ""}, "duration_minutes"),
    ({"price": "-5"}, "price"),
    ({"price": "cheap"}, "price"),
    ({"sku": "IPL"}, "sku"),
    ({"name": ""}, "name"),
    ({"category": "999999"}, "category"),
    ({"recall_days": "-1"}, "recall_days"),
])
def test_a_bad_item_is_shown_next_to_its_field_and_nothing_is_created(manager_client, laser, facial, changes,
                                                                      field):
    token = form_token(manager_client.get("/manage/catalogue/items/new/"))

    response = manager_client.post("/manage/catalogue/items/new/", item_data(laser, form_token=token, **changes))

    assert response.status_code == 400
    assert field_error(response, field)
    assert CatalogueItem.objects.count() == 1


def test_a_manager_changes_a_price_and_moves_an_item_to_another_category(manager_client, facial, skincare):
    response = manager_client.post(f"/manage/catalogue/items/{facial.pk}/", item_data(
        skincare, name="光子嫩肤", sku="IPL", price="1350", recall_days=""))

    assert response.status_code == 302
    facial.refresh_from_db()
    assert (facial.price, facial.category, facial.recall_days) == (Decimal(1350), skincare, None)


def test_a_bad_price_edit_changes_nothing(manager_client, facial, laser):
    response = manager_client.post(f"/manage/catalogue/items/{facial.pk}/", item_data(laser, price="-1"))

    assert response.status_code == 400
    assert field_error(response, "price")
    facial.refresh_from_db()
    assert (facial.name, facial.price) == ("光子嫩肤", Decimal(1200))


def test_a_manager_deactivates_an_item(manager_client, facial):
    response = manager_client.post(f"/manage/catalogue/items/{facial.pk}/active/", {"active": "0"})

    assert response.status_code == 302
    assert CatalogueItem.objects.get(pk=facial.pk).active is False


def test_a_manager_adds_and_renames_a_category(manager_client):
    token = form_token(manager_client.get("/manage/catalogue/categories/new/"))

    created = manager_client.post("/manage/catalogue/categories/new/", {"name": "注射", "code": "Injectables",
                                                                         "form_token": token})
    category = Category.objects.get(code="injectables")
    renamed = manager_client.post(f"/manage/catalogue/categories/{category.pk}/", {"name": "注射美容",
                                                                                    "code": "injectables"})

    assert (created.status_code, renamed.status_code) == (302, 302)
    assert Category.objects.get(pk=category.pk).name == "注射美容"


@pytest.mark.parametrize(("data", "field"), [({"name": "激光", "code": "other"}, "name"),
                                             ({"name": "其他", "code": "laser"}, "code"),
                                             ({"name": "其他", "code": "not a slug"}, "code")])
def test_a_duplicate_category_is_shown_next_to_its_field(manager_client, laser, data, field):
    token = form_token(manager_client.get("/manage/catalogue/categories/new/"))

    response = manager_client.post("/manage/catalogue/categories/new/", {**data, "form_token": token})

    assert response.status_code == 400
    assert field_error(response, field)
    assert list(Category.objects.values_list("code", flat=True)) == ["laser"]


def test_an_unused_category_is_removed_and_one_in_use_is_kept(manager_client, facial, skincare):
    used = manager_client.post(f"/manage/catalogue/categories/{facial.category_id}/delete/", follow=True)
    unused = manager_client.post(f"/manage/catalogue/categories/{skincare.pk}/delete/")

    assert 'class="message error"' in used.content.decode()
    assert Category.objects.filter(pk=facial.category_id).exists()
    assert unused.status_code == 302
    assert not Category.objects.filter(pk=skincare.pk).exists()


def test_the_catalogue_services_refuse_a_front_desk_actor(front_desk, facial, skincare):
    with pytest.raises(PermissionDenied):
        catalogue_item_update(item=facial, actor=front_desk, price=Decimal(1))
    with pytest.raises(PermissionDenied):
        category_delete(category=skincare, actor=front_desk)

    assert CatalogueItem.objects.get(pk=facial.pk).price == Decimal(1200)
    assert Category.objects.filter(pk=skincare.pk).exists()
