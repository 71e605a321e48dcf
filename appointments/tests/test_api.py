"""The appointments API: role permissions, bad input as 4xx in the common error shape, the 409
with alternatives, booking flow through HTTP, .ics download, calendar, recall, OpenAPI, and
tenant isolation of bookings."""

from datetime import UTC, timedelta

import pytest
import yaml
from django_tenants.utils import tenant_context

from appointments.models import Booking, Location
from appointments.tests.conftest import local

API = "/api/v1/appointments/"
JSON = "application/json"


@pytest.fixture
def desk(staff_client, front_desk):
    return staff_client(front_desk)


@pytest.fixture
def boss(staff_client, manager):
    return staff_client(manager)


@pytest.fixture
def doctor(staff_client, world):
    return staff_client(world.dr_a.user)


def iso(at) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def book(client, world, start, **extra):
    return client.post(f"{API}bookings/", {"member": world.member.pk, "treatment": world.botox.pk,
                                           "starts_at": iso(start), **extra}, content_type=JSON)


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    return body["error"]


def test_front_desk_books_and_gets_the_booking_with_its_reminders(desk, world, monday):
    response = book(desk, world, local(monday, 10), notes="首次")

    assert response.status_code == 201
    body = response.json()
    assert body["starts_at"] == iso(local(monday, 10))
    assert body["starts_local"] == local(monday, 10).isoformat()
    assert body["status"] == "booked" and body["practitioner"] == world.dr_a.pk
    assert {r["kind"] for r in body["reminders"]} == {"24h", "2h"}
    assert body["events"][0]["kind"] == "booked"


def test_a_time_without_offset_is_read_in_the_clinic_zone(desk, world, monday):
    response = book(desk, world, local(monday, 10), starts_at=f"{monday}T10:00:00")

    assert response.status_code == 201
    assert response.json()["starts_at"] == iso(local(monday, 10))


def test_a_taken_time_is_a_409_with_the_nearest_alternatives(desk, world, monday):
    assert book(desk, world, local(monday, 10), practitioner=world.dr_a.pk).status_code == 201

    response = book(desk, world, local(monday, 10), practitioner=world.dr_a.pk)

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "slot_unavailable"
    first = error["alternatives"][0]
    assert first["starts_at"] == iso(local(monday, 10)) and first["practitioner"] == world.dr_b.pk
    assert set(first) == {"starts_at", "ends_at", "starts_local", "practitioner", "location", "room", "device"}
    assert Booking.objects.count() == 1


@pytest.mark.parametrize("change", [
    {"member": None}, {"treatment": 999999}, {"starts_at": "next tuesday"}, {"practitioner": 999999},
])
def test_bad_booking_input_is_a_400_naming_the_field(desk, world, monday, change):
    payload = {"member": world.member.pk, "treatment": world.botox.pk, "starts_at": iso(local(monday, 10)), **change}
    payload = {key: value for key, value in payload.items() if value is not None}

    response = desk.post(f"{API}bookings/", payload, content_type=JSON)

    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == set(change)
    assert Booking.objects.count() == 0


def test_a_product_and_a_practitioner_who_does_not_do_it_are_400s(desk, world, monday):
    world.dr_b.treatments.remove(world.botox)

    response = book(desk, world, local(monday, 10), practitioner=world.dr_b.pk)

    assert response.status_code == 400
    assert "practitioner" in error_of(response)["fields"]


def test_status_flow_and_checkout_over_http(desk, doctor, world, monday):
    booking_id = book(desk, world, local(monday, 10)).json()["id"]

    assert doctor.post(f"{API}bookings/{booking_id}/confirm/").json()["status"] == "confirmed"
    assert doctor.post(f"{API}bookings/{booking_id}/check-in/").json()["status"] == "checked_in"
    completed = doctor.post(f"{API}bookings/{booking_id}/complete/")
    assert completed.status_code == 200
    assert completed.json()["checkout"]["open"] is True
    assert completed.json()["checkout"]["lines"][0]["unit_price"] == "2000.00"
    again = doctor.post(f"{API}bookings/{booking_id}/complete/")
    assert again.status_code == 400

    checkout = desk.post(f"{API}bookings/{booking_id}/checkout/",
                         {"payments": [{"method": "cash", "amount": "2000.00"}]}, content_type=JSON)
    assert checkout.status_code == 201
    assert desk.get(f"{API}bookings/{booking_id}/").json()["visit"] == checkout.json()["visit"]


def test_cancel_needs_a_reason_and_reschedule_conflicts_are_409(desk, world, monday):
    first = book(desk, world, local(monday, 10), practitioner=world.dr_a.pk).json()["id"]
    second = book(desk, world, local(monday, 11), practitioner=world.dr_a.pk).json()["id"]

    assert desk.post(f"{API}bookings/{first}/cancel/", {}, content_type=JSON).status_code == 400
    moved = desk.post(f"{API}bookings/{second}/reschedule/", {"starts_at": iso(local(monday, 10, 15))},
                      content_type=JSON)
    assert moved.status_code == 409
    cancelled = desk.post(f"{API}bookings/{first}/cancel/", {"reason": "病了", "party": "member"}, content_type=JSON)
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancel_reason"] == "病了"
    moved = desk.post(f"{API}bookings/{second}/reschedule/", {"starts_at": iso(local(monday, 10, 15))},
                      content_type=JSON)
    assert moved.status_code == 200 and moved.json()["reschedule_count"] == 1


def test_role_permissions(desk, doctor, boss, anon_client, world, monday):
    booking_id = book(desk, world, local(monday, 10)).json()["id"]

    assert anon_client.get(f"{API}bookings/").status_code == 401
    assert book(doctor, world, local(monday, 11)).status_code == 403
    assert doctor.post(f"{API}bookings/{booking_id}/cancel/", {"reason": "x"}, content_type=JSON).status_code == 403
    assert doctor.get(f"{API}calendar/", {"date": str(monday)}).status_code == 200
    assert desk.post(f"{API}locations/", {"name": "浦东店"}, content_type=JSON).status_code == 403
    assert desk.put(f"{API}policy/", {"cancel_window_hours": 2}, content_type=JSON).status_code == 403
    assert boss.post(f"{API}locations/", {"name": "浦东店"}, content_type=JSON).status_code == 201
    assert boss.put(f"{API}policy/", {"cancel_window_hours": 12}, content_type=JSON).json()["cancel_window_hours"] == 12


def test_manager_sets_up_the_schedule_through_the_api(boss, world, monday):
    location = boss.post(f"{API}locations/", {"name": "浦东店"}, content_type=JSON).json()
    room = boss.post(f"{API}resources/", {"location": location["id"], "resource_type": world.room_type.pk,
                                          "name": "A"}, content_type=JSON)
    assert room.status_code == 201 and room.json()["kind"] == "room"
    hours = boss.put(f"{API}practitioners/{world.dr_a.pk}/hours/",
                     {"periods": [{"location": location["id"], "weekday": 0, "starts": "10:00", "ends": "12:00"},
                                  {"location": location["id"], "weekday": 0, "starts": "11:00", "ends": "13:00"}]},
                     content_type=JSON)
    assert hours.status_code == 400 and "periods.1.starts" in error_of(hours)["fields"]
    hours = boss.put(f"{API}practitioners/{world.dr_a.pk}/hours/",
                     {"periods": [{"location": location["id"], "weekday": 0, "starts": "10:00", "ends": "12:00"}]},
                     content_type=JSON)
    assert hours.status_code == 200
    leave = boss.post(f"{API}exceptions/", {"kind": "leave", "starts_at": iso(local(monday, 9)),
                                            "ends_at": iso(local(monday, 8))}, content_type=JSON)
    assert leave.status_code == 400
    requirement = boss.put(f"{API}treatments/{world.facial.pk}/requirements/",
                           {"resource_types": [world.room_type.pk, world.laser_type.pk]}, content_type=JSON)
    assert requirement.status_code == 200


def test_availability_endpoint_and_its_bad_input(desk, world, monday):
    response = desk.get(f"{API}availability/", {"treatment": world.facial.pk, "start": str(monday),
                                                "end": str(monday), "practitioner": world.dr_a.pk})
    assert response.status_code == 200
    assert response.json()[0]["starts_at"] == iso(local(monday, 9))

    backwards = desk.get(f"{API}availability/", {"treatment": world.facial.pk, "start": str(monday),
                                                 "end": str(monday - timedelta(days=1))})
    too_long = desk.get(f"{API}availability/", {"treatment": world.facial.pk, "start": str(monday),
                                                "end": str(monday + timedelta(days=40))})
    missing = desk.get(f"{API}availability/", {"start": "yesterday"})
    assert backwards.status_code == too_long.status_code == missing.status_code == 400
    assert set(error_of(missing)["fields"]) == {"treatment", "start", "end"}


def test_ics_download(desk, world, monday):
    booking_id = book(desk, world, local(monday, 10)).json()["id"]

    response = desk.get(f"{API}bookings/{booking_id}/ics/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    assert f"DTSTART:{monday:%Y%m%d}T020000Z" in response.content.decode()


def test_calendar_recall_and_attendance_endpoints(desk, world, monday):
    book(desk, world, local(monday, 10), practitioner=world.dr_a.pk)

    week = desk.get(f"{API}calendar/", {"view": "week", "date": str(monday + timedelta(days=3)),
                                        "practitioner": world.dr_a.pk})
    assert week.status_code == 200 and len(week.json()) == 7
    assert week.json()[0]["bookings"][0]["treatment_name"] == "肉毒素"
    assert week.json()[0]["working"][0]["starts_local"] == local(monday, 9).isoformat()
    assert desk.get(f"{API}calendar/", {"view": "month", "date": str(monday)}).status_code == 400
    assert desk.get(f"{API}recall/", {"within_days": 30}).status_code == 200
    assert desk.get(f"{API}recall/", {"within_days": -1}).status_code == 400
    assert desk.get(f"{API}members/{world.member.pk}/attendance/").json()["upcoming"] == 1


def test_the_api_is_in_the_openapi_schema(anon_client):
    schema = yaml.safe_load(anon_client.get("/api/schema/").content)

    paths = set(schema["paths"])
    assert {f"{API}bookings/", f"{API}availability/", f"{API}bookings/{{id}}/reschedule/",
            f"{API}bookings/{{id}}/ics/", f"{API}calendar/", f"{API}recall/", f"{API}policy/"} <= paths
    assert "409" in schema["paths"][f"{API}bookings/"]["post"]["responses"]


def test_bookings_of_one_clinic_are_invisible_to_another(desk, world, monday, other_clinic):
    from conftest import client_for

    booking_id = book(desk, world, local(monday, 10)).json()["id"]
    with tenant_context(other_clinic):
        from accounts.models import User

        other_owner = User.objects.get(username="owner")
        assert not Booking.objects.exists() and not Location.objects.exists()
    other = client_for(other_clinic, other_owner)

    assert other.get(f"{API}bookings/{booking_id}/").status_code == 404
    assert other.get(f"{API}bookings/").json() == []
    assert other.get(f"{API}bookings/{booking_id}/ics/").status_code == 404


def test_policy_bad_input_is_a_400_and_changes_nothing(boss):
    before = boss.get(f"{API}policy/").json()

    duplicate = boss.put(f"{API}policy/", {"reminder_minutes": [120, 120]}, content_type=JSON)
    too_small = boss.put(f"{API}policy/", {"slot_step_minutes": 1}, content_type=JSON)
    negative = boss.put(f"{API}policy/", {"deposit_amount": "-5"}, content_type=JSON)

    assert duplicate.status_code == too_small.status_code == negative.status_code == 400
    assert "reminder_minutes" in error_of(duplicate)["fields"]
    assert boss.get(f"{API}policy/").json() == before


def test_exception_without_its_practitioner_is_a_400(boss, world, monday):
    response = boss.post(f"{API}exceptions/", {"kind": "leave", "starts_at": iso(local(monday, 9)),
                                               "ends_at": iso(local(monday, 12))}, content_type=JSON)

    assert response.status_code == 400
    assert "practitioner" in error_of(response)["fields"]


def test_the_api_records_an_exception_over_bookings_and_keeps_them(boss, desk, world, monday):
    # Given dr_a is booked at 10:00
    booked = book(desk, world, local(monday, 10), practitioner=world.dr_a.pk).json()
    # When leave over it is posted through the API
    response = boss.post(f"{API}exceptions/", {"kind": "leave", "practitioner": world.dr_a.pk, "reason": "病假",
                                               "starts_at": iso(local(monday, 9)), "ends_at": iso(local(monday, 12))},
                         content_type=JSON)
    # Then it is recorded (the calendar shows the booking next to it) and the booking stays booked
    assert response.status_code == 201
    assert Booking.objects.get(pk=booked["id"]).status == Booking.Status.BOOKED
