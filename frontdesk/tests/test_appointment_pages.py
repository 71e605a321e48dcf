"""The appointment pages through the real views: slot picker, booking with conflicts and
alternatives, reschedule, cancel, the day calendar, the booking page and its actions per role,
the checkout of a booking, Today's appointments and the member's appointments."""

from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Booking, BookingEvent
from appointments.schedule import appointment_policy_update
from appointments.services import booking_check_in, booking_create
from appointments.tests.conftest import hours_for, local
from frontdesk.booking_forms import slot_value
from frontdesk.tests.helpers import checkout_post
from idempotency.forms import idempotency_key_new
from points.rules import local_date
from visits.models import Visit


def book_post(world, start, practitioner=None, **fields) -> dict:
    practitioner = practitioner or world.dr_a
    data = {"idempotency_key": idempotency_key_new(), "member": str(world.member.pk),
            "treatment": str(world.botox.pk), "practitioner": "", "location": "",
            "day": start.date().isoformat(), "slot": slot_value(start, practitioner.pk), "notes": ""}
    return {**data, **fields}


def booked(world, start, practitioner=None, member=None, now=None) -> Booking:
    return booking_create(member=member or world.member, treatment=world.botox, starts_at=start, actor=None,
                          practitioner=practitioner or world.dr_a, now=now)


def test_the_slot_picker_lists_the_free_times_of_the_day(staff_client, front_desk, world, monday):
    # Given dr_a is booked at 10:00 on Monday
    booked(world, local(monday, 10))
    # When the picker asks for Monday's botox times with dr_a
    response = staff_client(front_desk).get(reverse("frontdesk:booking_slots"), {
        "treatment": world.botox.pk, "practitioner": world.dr_a.pk, "day": monday.isoformat()},
        HTTP_HX_REQUEST="true")
    # Then 09:00 is offered with dr_a and 10:00 is not
    values = [slot.value for slot in response.context["slots"]]
    assert response.status_code == 200
    assert slot_value(local(monday, 9), world.dr_a.pk) in values
    assert slot_value(local(monday, 10), world.dr_a.pk) not in values
    assert f'data-slot="{slot_value(local(monday, 9), world.dr_a.pk)}"' in response.content.decode()


def test_booking_a_free_slot_books_it_and_opens_the_booking(staff_client, front_desk, world, monday):
    client = staff_client(front_desk)
    assert client.get(reverse("frontdesk:booking_new"), {"member": world.member.pk}).status_code == 200
    response = client.post(reverse("frontdesk:booking_new"), book_post(world, local(monday, 11), notes="首次"))
    booking = Booking.objects.get()
    assert response.status_code == 302 and response.url == reverse("frontdesk:booking_detail", args=[booking.pk])
    assert (booking.member, booking.practitioner, booking.starts_at) == (world.member, world.dr_a, local(monday, 11))
    assert booking.booked_by == front_desk and booking.notes == "首次" and booking.room is not None


def test_a_taken_slot_is_refused_next_to_the_time_with_the_nearest_alternatives(
        staff_client, front_desk, world, monday):
    # Given dr_a already has 10:00 (the page was drawn before that)
    booked(world, local(monday, 10), member=world.member2)
    # When the front desk books dr_a at 10:00
    response = staff_client(front_desk).post(reverse("frontdesk:booking_new"), book_post(world, local(monday, 10)))
    # Then it is a conflict shown at the time field, with buttons for the nearest free times
    assert response.status_code == 409
    assert "slot" in response.context["form"].errors
    alternatives = response.context["alternatives"]
    assert alternatives and all(alt.starts_at != local(monday, 10) or alt.practitioner != world.dr_a
                                for alt in alternatives)
    html = response.content.decode()
    assert 'id="alternatives"' in html and f'value="{alternatives[0].value}"' in html
    assert Booking.objects.filter(member=world.member).count() == 0


def test_an_alternative_button_books_that_time(staff_client, front_desk, world, monday):
    booked(world, local(monday, 10), member=world.member2)
    client = staff_client(front_desk)
    refused = client.post(reverse("frontdesk:booking_new"), book_post(world, local(monday, 10)))
    alternative = refused.context["alternatives"][0]
    data = book_post(world, local(monday, 10))
    data["slot"] = alternative.value
    response = client.post(reverse("frontdesk:booking_new"), data)
    booking = Booking.objects.get(member=world.member)
    assert response.status_code == 302
    assert (booking.starts_at, booking.practitioner) == (alternative.starts_at, alternative.practitioner)


@pytest.mark.parametrize(("fields", "field"), [
    ({"slot": ""}, "slot"),
    ({"slot": "tomorrow|x"}, "slot"),
    ({"treatment": "999999"}, "treatment"),
    ({"day": "2026-13-40"}, "day"),
])
def test_bad_booking_input_is_shown_next_to_its_field(staff_client, front_desk, world, monday, fields, field):
    response = staff_client(front_desk).post(reverse("frontdesk:booking_new"),
                                             book_post(world, local(monday, 11), **fields))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Booking.objects.exists()


def test_a_past_time_is_refused_by_the_service_next_to_the_time(staff_client, front_desk, world):
    past = timezone.now() - timedelta(days=1)
    response = staff_client(front_desk).post(reverse("frontdesk:booking_new"), book_post(world, past))
    assert response.status_code == 400 and "slot" in response.context["form"].errors
    assert not Booking.objects.exists()


def test_a_double_submitted_booking_books_once(staff_client, front_desk, world, monday):
    client = staff_client(front_desk)
    data = book_post(world, local(monday, 11))
    first = client.post(reverse("frontdesk:booking_new"), data)
    second = client.post(reverse("frontdesk:booking_new"), data)
    assert Booking.objects.count() == 1
    assert second.status_code == 302 and second.url == first.url


def test_without_a_member_the_book_page_finds_one_first(staff_client, front_desk, world):
    response = staff_client(front_desk).get(reverse("frontdesk:booking_new"), {"q": "5678"})
    assert response.status_code == 200
    assert f'?member={world.member.pk}"' in response.content.decode()


def test_practitioners_attend_but_may_not_book_reschedule_or_cancel(staff_client, world, monday):
    booking = booked(world, local(monday, 10))
    client = staff_client(world.dr_a.user)
    assert client.get(reverse("frontdesk:booking_new"), {"member": world.member.pk}).status_code == 403
    assert client.post(reverse("frontdesk:booking_new"), book_post(world, local(monday, 11))).status_code == 403
    assert client.get(reverse("frontdesk:booking_reschedule", args=[booking.pk])).status_code == 403
    assert client.post(reverse("frontdesk:booking_cancel", args=[booking.pk]),
                       {"reason": "x", "party": "member"}).status_code == 403
    page = client.get(reverse("frontdesk:booking_detail", args=[booking.pk]))
    assert [action for action, _label, _key in page.context["actions"]] == ["confirm", "check_in"]
    assert not page.context["can_change"] and 'id="booking-cancel"' not in page.content.decode()
    response = client.post(reverse("frontdesk:booking_action", args=[booking.pk]),
                           {"idempotency_key": idempotency_key_new(), "action": "check_in"})
    booking.refresh_from_db()
    assert response.status_code == 302 and booking.status == Booking.Status.CHECKED_IN
    assert booking.events.last().actor == world.dr_a.user


def test_the_booking_page_shows_details_history_actions_and_the_ics_link(staff_client, front_desk, world, monday):
    booking = booked(world, local(monday, 10))
    response = staff_client(front_desk).get(reverse("frontdesk:booking_detail", args=[booking.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-status="booked"' in html and 'data-kind="booked"' in html
    # the booking's first history row says it was booked, with no move from one status to another
    history = html[html.index('id="booking-history"'):]
    assert "→" not in history
    assert [action for action, _label, _key in response.context["actions"]] == ["confirm", "check_in"]
    assert response.context["can_change"]
    assert reverse("api-appt-ics", args=[booking.pk]) in html
    assert staff_client(front_desk).get(reverse("frontdesk:booking_detail", args=[999999])).status_code == 404


def test_confirm_then_an_impossible_action_is_refused_on_the_page(staff_client, front_desk, world, monday):
    booking = booked(world, local(monday, 10))
    client = staff_client(front_desk)
    url = reverse("frontdesk:booking_action", args=[booking.pk])
    client.post(url, {"idempotency_key": idempotency_key_new(), "action": "confirm"})
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    # A no-show before the start is refused, shown on the page, and changes nothing
    refused = client.post(url, {"idempotency_key": idempotency_key_new(), "action": "no_show"})
    assert refused.status_code == 400 and refused.context["error"]
    bad = client.post(url, {"idempotency_key": idempotency_key_new(), "action": "explode"})
    assert bad.status_code == 400
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_reschedule_moves_the_booking_with_the_slot_picker(staff_client, front_desk, world, monday):
    booking = booked(world, local(monday, 10))
    client = staff_client(front_desk)
    assert client.get(reverse("frontdesk:booking_reschedule", args=[booking.pk])).status_code == 200
    slots = client.get(reverse("frontdesk:booking_slots"), {"booking": booking.pk, "practitioner": world.dr_b.pk,
                                                            "day": monday.isoformat()}, HTTP_HX_REQUEST="true")
    assert slot_value(local(monday, 14), world.dr_b.pk) in [slot.value for slot in slots.context["slots"]]
    response = client.post(reverse("frontdesk:booking_reschedule", args=[booking.pk]), {
        "idempotency_key": idempotency_key_new(), "practitioner": str(world.dr_b.pk), "day": monday.isoformat(),
        "slot": slot_value(local(monday, 14), world.dr_b.pk), "reason": "会员改时间"})
    booking.refresh_from_db()
    assert response.status_code == 302
    assert (booking.starts_at, booking.practitioner, booking.reschedule_count) == (local(monday, 14), world.dr_b, 1)
    assert booking.events.filter(kind=BookingEvent.Kind.RESCHEDULED, reason="会员改时间").exists()


def test_reschedule_onto_a_taken_time_offers_alternatives_and_keeps_the_booking(
        staff_client, front_desk, world, monday):
    booking = booked(world, local(monday, 10))
    booked(world, local(monday, 14), member=world.member2)
    response = staff_client(front_desk).post(reverse("frontdesk:booking_reschedule", args=[booking.pk]), {
        "idempotency_key": idempotency_key_new(), "practitioner": str(world.dr_a.pk), "day": monday.isoformat(),
        "slot": slot_value(local(monday, 14), world.dr_a.pk)})
    booking.refresh_from_db()
    assert response.status_code == 409 and "slot" in response.context["form"].errors
    assert response.context["alternatives"]
    assert booking.starts_at == local(monday, 10) and booking.reschedule_count == 0


def test_cancel_needs_a_reason_and_a_late_member_cancellation_is_flagged(staff_client, front_desk, world, monday):
    # Given a cancellation window longer than the time left before the appointment
    appointment_policy_update(actor=None, cancel_window_hours=24 * 60)
    booking = booked(world, local(monday, 10))
    client = staff_client(front_desk)
    page = client.get(reverse("frontdesk:booking_cancel", args=[booking.pk]))
    assert page.status_code == 200 and 'id="late-warning"' in page.content.decode()
    refused = client.post(reverse("frontdesk:booking_cancel", args=[booking.pk]),
                          {"idempotency_key": idempotency_key_new(), "party": "member", "reason": ""})
    assert refused.status_code == 400 and "reason" in refused.context["form"].errors
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED
    response = client.post(reverse("frontdesk:booking_cancel", args=[booking.pk]),
                           {"idempotency_key": idempotency_key_new(), "party": "member", "reason": "临时有事"})
    booking.refresh_from_db()
    assert response.status_code == 302
    assert booking.status == Booking.Status.CANCELLED and booking.late_cancellation
    assert booking.cancel_reason == "临时有事" and booking.cancelled_by == front_desk
    detail = client.get(reverse("frontdesk:booking_detail", args=[booking.pk])).content.decode()
    assert 'id="late-cancellation"' in detail and 'id="booking-cancel"' not in detail


def test_the_day_calendar_has_a_column_per_practitioner_or_resource_with_the_bookings(
        staff_client, front_desk, world, monday):
    a = booked(world, local(monday, 10))
    b = booked(world, local(monday, 10), practitioner=world.dr_b, member=world.member2)
    booked(world, local(monday + timedelta(days=1), 10))
    client = staff_client(front_desk)
    by_practitioner = client.get(reverse("frontdesk:calendar"), {"date": monday.isoformat()})
    grid = by_practitioner.context["grid"]
    columns = {column.key: [block.booking.pk for block in column.blocks] for column in grid.columns}
    assert columns[f"practitioner-{world.dr_a.pk}"] == [a.pk]
    assert columns[f"practitioner-{world.dr_b.pk}"] == [b.pk]
    html = by_practitioner.content.decode()
    assert reverse("frontdesk:booking_detail", args=[a.pk]) in html and f'data-booking="{b.pk}"' in html
    by_resource = client.get(reverse("frontdesk:calendar"), {"date": monday.isoformat(), "by": "resource"})
    rooms = {column.key: [block.booking.pk for block in column.blocks]
             for column in by_resource.context["grid"].columns}
    assert sorted(rooms[f"resource-{a.room_id}"] + rooms[f"resource-{b.room_id}"]) == sorted([a.pk, b.pk])
    assert rooms[f"resource-{world.laser.pk}"] == []
    next_day = client.get(reverse("frontdesk:calendar"), {"date": "nonsense"})
    assert next_day.status_code == 200 and next_day.context["day"] == local_date(timezone.now())


def test_completing_opens_the_checkout_for_the_booking_and_the_visit_is_linked(
        staff_client, front_desk, world, monday):
    booking = booked(world, local(monday, 10))
    booking_check_in(booking=booking, actor=front_desk)
    client = staff_client(front_desk)
    response = client.post(reverse("frontdesk:booking_action", args=[booking.pk]),
                           {"idempotency_key": idempotency_key_new(), "action": "complete"})
    checkout_url = reverse("frontdesk:checkout", args=[world.member.pk]) + f"?booking={booking.pk}"
    assert response.status_code == 302 and response.url == checkout_url
    page = client.get(checkout_url)
    assert page.status_code == 200 and page.context["prefill"]["open"]
    assert page.context["lines"].forms[0]["item"].value() == world.botox.pk
    assert f'name="booking" value="{booking.pk}"' in page.content.decode()
    data = checkout_post([(world.botox.pk, 1)], [("wechat_pay", "")])
    data["booking"] = str(booking.pk)
    data["lines-TOTAL_FORMS"], data["lines-INITIAL_FORMS"] = "5", "1"
    done = client.post(reverse("frontdesk:checkout", args=[world.member.pk]), data)
    booking.refresh_from_db()
    visit = Visit.objects.get(member=world.member)
    assert done.status_code == 302 and done.url.startswith(reverse("frontdesk:receipt", args=[visit.pk]))
    assert booking.visit == visit and booking.status == Booking.Status.COMPLETED
    assert visit.external_ref == f"booking:{booking.pk}"
    # A second checkout for the same appointment is refused and records nothing
    again = client.post(reverse("frontdesk:checkout", args=[world.member.pk]),
                        {**data, "idempotency_key": idempotency_key_new()})
    assert again.status_code == 400 and Visit.objects.count() == 1


def test_the_checkout_refuses_a_booking_of_another_member(staff_client, front_desk, world, monday):
    booking = booked(world, local(monday, 10), member=world.member2)
    response = staff_client(front_desk).get(reverse("frontdesk:checkout", args=[world.member.pk]),
                                            {"booking": booking.pk})
    assert response.status_code == 404


@pytest.fixture
def today_booking(world) -> Booking:
    """A booking early today (booked at midnight), whatever weekday today is."""
    hours_for(world.dr_a, world.location, starts=time(0), ends=time(23, 45), days=range(7))
    today = local_date(timezone.now())
    midnight = local(today, 0)
    return booked(world, midnight + timedelta(minutes=30), now=midnight)


def test_today_lists_the_days_appointments_with_check_in(staff_client, front_desk, world, today_booking):
    client = staff_client(front_desk)
    page = client.get(reverse("frontdesk:home"))
    html = page.content.decode()
    assert [booking.pk for booking in page.context["today"].appointments] == [today_booking.pk]
    assert 'id="today-appointments"' in html and f'data-booking="{today_booking.pk}"' in html
    response = client.post(reverse("frontdesk:booking_action", args=[today_booking.pk]), {
        "idempotency_key": idempotency_key_new(), "action": "check_in", "next": reverse("frontdesk:home")})
    today_booking.refresh_from_db()
    assert response.status_code == 302 and response.url == reverse("frontdesk:home")
    assert today_booking.status == Booking.Status.CHECKED_IN


def test_an_outside_next_address_is_ignored(staff_client, front_desk, world, today_booking):
    response = staff_client(front_desk).post(reverse("frontdesk:booking_action", args=[today_booking.pk]), {
        "idempotency_key": idempotency_key_new(), "action": "confirm", "next": "https://evil.example/"})
    assert response.url == reverse("frontdesk:booking_detail", args=[today_booking.pk])


def test_the_member_page_lists_upcoming_and_past_appointments(staff_client, front_desk, world, monday):
    past_monday = monday - timedelta(days=21)
    past = booked(world, local(past_monday, 10), now=local(past_monday, 8))
    upcoming = booked(world, local(monday, 10))
    page = staff_client(front_desk).get(reverse("frontdesk:member_detail", args=[world.member.pk]))
    assert [b.pk for b in page.context["o"].upcoming_appointments] == [upcoming.pk]
    assert [b.pk for b in page.context["o"].past_appointments] == [past.pk]
    html = page.content.decode()
    assert 'id="member-appointments-upcoming"' in html and f'data-booking="{past.pk}"' in html
    assert f'?member={world.member.pk}' in html


def test_anonymous_visitors_are_sent_to_log_in_from_the_calendar(anon_client):
    response = anon_client.get(reverse("frontdesk:calendar"))
    assert response.status_code == 302 and "/accounts/login/" in response.url


