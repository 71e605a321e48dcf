"""The online-booking settings page and the per-treatment switch in the catalogue."""

from appointments.schedule import appointment_policy
from visits.models import CatalogueItem

from .conftest import field_error, form_token
from .test_catalogue import item_data

POLICY = {"online_booking_enabled": "on", "online_min_notice_minutes": "60", "online_max_days_ahead": "14",
          "cancel_window_hours": "12", "reschedule_window_hours": "6", "max_no_shows_online": "2",
          "deposit_amount": "100.00"}


def test_a_manager_sets_the_online_booking_policy(manager_client):
    page = manager_client.get("/manage/online-booking/").content.decode()
    assert 'name="online_booking_enabled"' in page and 'name="cancel_window_hours"' in page

    response = manager_client.post("/manage/online-booking/", POLICY)

    assert response.status_code == 302
    policy = appointment_policy()
    assert (policy.online_booking_enabled, policy.online_min_notice_minutes, policy.online_max_days_ahead,
            policy.cancel_window_hours, policy.reschedule_window_hours, policy.max_no_shows_online,
            str(policy.deposit_amount)) == (True, 60, 14, 12, 6, 2, "100.00")


def test_switching_online_booking_off_and_bad_input(manager_client):
    assert manager_client.post("/manage/online-booking/", {**POLICY, "online_booking_enabled": ""}).status_code == 302
    assert not appointment_policy().online_booking_enabled

    response = manager_client.post("/manage/online-booking/", {**POLICY, "cancel_window_hours": "-3"})

    assert response.status_code == 400
    assert field_error(response, "cancel_window_hours")
    assert appointment_policy().cancel_window_hours == 12


def test_a_treatment_can_be_kept_off_online_booking_in_the_catalogue(manager_client, laser):
    token = form_token(manager_client.get("/manage/catalogue/items/new/"))
    manager_client.post("/manage/catalogue/items/new/", item_data(laser, form_token=token))
    item = CatalogueItem.objects.get(sku="HYDRA-1")
    assert not item.online_booking_enabled  # the box was not ticked

    edit = f"/manage/catalogue/items/{item.pk}/"
    assert 'name="online_booking_enabled"' in manager_client.get(edit).content.decode()
    assert manager_client.post(edit, item_data(laser, online_booking_enabled="on")).status_code == 302

    item.refresh_from_db()
    assert item.online_booking_enabled
