"""Appointments in the portal: the list, booking a free time online through the booking service
(so it is on the staff calendar, marked as the portal), moving and cancelling within the policy,
the calendar file."""

import re
from datetime import UTC, timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from appointments.models import Booking
from appointments.online import online_slots
from appointments.schedule import appointment_policy_update
from appointments.services import booking_create
from appointments.tests.conftest import local, monday, world  # noqa: F401
from frontdesk.appointment_selectors import day_grid
from visits.services import catalogue_item_update

pytestmark = pytest.mark.django_db


def key_of(response) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', response.content.decode()).group(1)


@pytest.fixture
def client(world, portal_client_for):  # noqa: F811
    return portal_client_for(world.member)


def book_page(client, treatment, day):
    return client.get(f"/m/appointments/book/?treatment={treatment.pk}&day={day.isoformat()}")


def test_the_treatments_offered_are_those_bookable_online(client, world):  # noqa: F811
    catalogue_item_update(item=world.laser_treatment, online_booking_enabled=False)

    page = client.get("/m/appointments/book/").content.decode()

    assert f"?treatment={world.facial.pk}" in page and f"?treatment={world.botox.pk}" in page
    assert f"?treatment={world.laser_treatment.pk}" not in page
    assert client.get(f"/m/appointments/book/?treatment={world.laser_treatment.pk}").status_code == 404
    assert client.get("/m/appointments/book/?treatment=abc").status_code == 404


def test_a_member_books_a_free_time_and_the_front_desk_sees_it_on_the_calendar(
        client, world, monday, staff_client, front_desk):  # noqa: F811
    page = book_page(client, world.facial, monday)
    first = online_slots(treatment=world.facial, day=monday)[0]
    assert f'value="{first.starts_at.isoformat()}"' in page.content.decode()

    response = client.post("/m/appointments/book/", {
        "treatment": world.facial.pk, "starts_at": first.starts_at.isoformat(),
        "idempotency_key": key_of(page)})

    booking = Booking.objects.get(member=world.member)
    assert response.status_code == 302 and response["Location"] == f"/m/appointments/{booking.pk}/"
    assert booking.starts_at == first.starts_at and booking.channel == Booking.Channel.MEMBER
    assert booking.events.get().channel == "member" and booking.events.get().actor is None
    assert booking in [block.booking for column in day_grid(day=monday).columns for block in column.blocks]
    desk = staff_client(front_desk)
    desk.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Member portal" in desk.get(reverse("frontdesk:booking_detail", args=[booking.pk])).content.decode()
    calendar = desk.get(f"{reverse('frontdesk:calendar')}?date={monday.isoformat()}")
    assert world.member.name in calendar.content.decode()


def test_a_double_submitted_booking_books_once(client, world, monday):  # noqa: F811
    page = book_page(client, world.facial, monday)
    data = {"treatment": world.facial.pk, "idempotency_key": key_of(page),
            "starts_at": online_slots(treatment=world.facial, day=monday)[0].starts_at.isoformat()}

    first, second = client.post("/m/appointments/book/", data), client.post("/m/appointments/book/", data)

    assert first["Location"] == second["Location"]
    assert Booking.objects.filter(member=world.member).count() == 1


def test_a_time_inside_the_notice_period_is_refused_with_the_reason(client, world):  # noqa: F811
    appointment_policy_update(actor=None, online_min_notice_minutes=24 * 60)
    soon = timezone.now() + timedelta(hours=3)

    response = client.post("/m/appointments/book/", {
        "treatment": world.facial.pk, "starts_at": soon.isoformat(), "idempotency_key": "1" * 32})

    assert response.status_code == 400
    assert "1440 minutes ahead" in response.content.decode() or "1440" in response.content.decode()
    assert not Booking.objects.filter(member=world.member).exists()


def test_a_taken_time_offers_the_nearest_free_ones_and_bad_input_is_a_400(client, world, monday):  # noqa: F811
    booked_at = local(monday, 10)
    for dr in (world.dr_a, world.dr_b):
        booking_create(member=world.member2, treatment=world.facial, starts_at=booked_at, actor=None,
                       practitioner=dr)

    taken = client.post("/m/appointments/book/", {
        "treatment": world.facial.pk, "starts_at": booked_at.isoformat(), "idempotency_key": "2" * 32})
    garbage = client.post("/m/appointments/book/", {
        "treatment": world.facial.pk, "starts_at": "tomorrow", "idempotency_key": "3" * 32})

    assert taken.status_code == 409 and 'id="alternatives"' in taken.content.decode()
    assert garbage.status_code == 400
    assert not Booking.objects.filter(member=world.member).exists()


def test_online_booking_switched_off_shows_no_booking_and_refuses_it(client, world, monday):  # noqa: F811
    appointment_policy_update(actor=None, online_booking_enabled=False)

    assert 'id="book-new"' not in client.get("/m/appointments/").content.decode()
    assert client.get(f"/m/appointments/book/?treatment={world.facial.pk}").status_code == 404


@pytest.fixture
def booked(world, monday):  # noqa: F811
    return booking_create(member=world.member, treatment=world.facial, starts_at=local(monday, 14), actor=None,
                          by_member=True)


def test_the_member_moves_an_appointment_to_another_free_time(client, world, monday, booked):  # noqa: F811
    page = client.get(f"/m/appointments/{booked.pk}/reschedule/?day={monday.isoformat()}")
    new_time = local(monday, 16)
    assert f'value="{new_time.astimezone(UTC).isoformat()}"' in page.content.decode()

    response = client.post(f"/m/appointments/{booked.pk}/reschedule/?day={monday.isoformat()}",
                           {"starts_at": new_time.isoformat(), "idempotency_key": key_of(page)})

    booked.refresh_from_db()
    assert response.status_code == 302 and booked.starts_at == new_time and booked.reschedule_count == 1
    assert booked.events.filter(kind="rescheduled", channel="member").exists()


def test_the_member_cancels_within_the_window(client, world, booked):  # noqa: F811
    detail = client.get(f"/m/appointments/{booked.pk}/")
    assert 'id="cancel-form"' in detail.content.decode()

    response = client.post(f"/m/appointments/{booked.pk}/cancel/",
                           {"reason": "出差", "idempotency_key": key_of(detail)})

    booked.refresh_from_db()
    assert response.status_code == 302 and booked.status == Booking.Status.CANCELLED
    assert (booked.cancelled_by_party, booked.cancel_reason, booked.late_cancellation) == ("member", "出差", False)
    assert f"/m/appointments/{booked.pk}/" in client.get("/m/appointments/").content.decode()


def test_inside_the_window_the_member_cannot_cancel_or_move_online(client, world, booked):  # noqa: F811
    appointment_policy_update(actor=None, cancel_window_hours=24 * 60, reschedule_window_hours=24 * 60)

    detail = client.get(f"/m/appointments/{booked.pk}/").content.decode()
    cancel = client.post(f"/m/appointments/{booked.pk}/cancel/", {"idempotency_key": "4" * 32})
    move = client.get(f"/m/appointments/{booked.pk}/reschedule/")

    assert 'id="cancel-form"' not in detail and 'id="policy-note"' in detail
    assert cancel.status_code == 302 and move.status_code == 302
    assert Booking.objects.get(pk=booked.pk).status == Booking.Status.BOOKED


def test_the_calendar_file_is_the_members_booking(client, world, booked):  # noqa: F811
    response = client.get(f"/m/appointments/{booked.pk}/calendar.ics")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert "BEGIN:VEVENT" in body and f"UID:booking-{booked.pk}@" in body
    assert booked.starts_at.astimezone(UTC).strftime("DTSTART:%Y%m%dT%H%M%SZ") in body
