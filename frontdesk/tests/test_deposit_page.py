"""Recording a deposit on the appointment page: amount and method through `booking_deposit_record`,
once per form; the recorded deposit on the page; the service's refusals as form errors; roles;
and the checkout of the appointment starting from the deposit."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from appointments.models import Booking, BookingEvent
from appointments.schedule import appointment_policy_update
from appointments.services import booking_cancel, booking_check_in, booking_create, booking_deposit_record
from appointments.tests.conftest import local
from idempotency.forms import idempotency_key_new
from visits.models import Payment

DETAIL_PAGE_MAX_QUERIES = 16


@pytest.fixture
def booking(world, monday) -> Booking:
    return booking_create(member=world.member, treatment=world.botox, starts_at=local(monday, 10), actor=None,
                          practitioner=world.dr_a)


def deposit_post(amount="200.00", method="wechat_pay", key=None) -> dict:
    return {"idempotency_key": key or idempotency_key_new(), "amount": amount, "method": method}


def test_the_front_desk_records_a_deposit_and_the_page_shows_amount_method_who_and_when(
        staff_client, front_desk, booking, clinic):
    client = staff_client(front_desk)
    detail = reverse("frontdesk:booking_detail", args=[booking.pk])
    # Given the appointment page offers the deposit form
    page = client.get(detail)
    assert 'id="deposit-form"' in page.content.decode()
    # When 200 yuan by WeChat Pay is recorded
    response = client.post(reverse("frontdesk:booking_deposit", args=[booking.pk]), deposit_post())
    # Then the page shows it, with who recorded it and when, and offers no second deposit
    booking.refresh_from_db()
    assert response.status_code == 302 and response.url == detail
    assert (booking.deposit_amount, booking.deposit_method, booking.deposit_recorded_by) == (
        Decimal("200.00"), "wechat_pay", front_desk)
    html = client.get(detail).content.decode()
    deposit = html[html.index('id="booking-deposit"'):html.index("</dd>", html.index('id="booking-deposit"'))]
    with translation.override(clinic.language):
        method = str(Payment.Method.WECHAT_PAY.label)
        local = timezone.localtime(booking.deposit_recorded_at, clinic.zone)
        when = f"{local.year}年{local.month}月{local.day}日 周{'一二三四五六日'[local.weekday()]} {local:%H:%M}"
    assert "¥200.00" in deposit and method in deposit and front_desk.full_name in deposit and when in deposit
    assert 'id="deposit-form"' not in html
    assert booking.events.filter(kind=BookingEvent.Kind.DEPOSIT, actor=front_desk).count() == 1


def test_the_form_starts_from_the_deposit_the_clinic_asks(staff_client, front_desk, world, monday):
    appointment_policy_update(actor=None, deposit_amount=Decimal("300.00"))
    asked = booking_create(member=world.member, treatment=world.botox, starts_at=local(monday, 11), actor=None)
    page = staff_client(front_desk).get(reverse("frontdesk:booking_detail", args=[asked.pk]))
    assert page.context["deposit_form"]["amount"].value() == Decimal("300.00")
    assert "¥300.00" in page.content.decode()


def test_a_double_submitted_deposit_is_recorded_once(staff_client, front_desk, booking):
    client = staff_client(front_desk)
    data = deposit_post()
    first = client.post(reverse("frontdesk:booking_deposit", args=[booking.pk]), data)
    second = client.post(reverse("frontdesk:booking_deposit", args=[booking.pk]), data)
    assert first.status_code == second.status_code == 302 and second.url == first.url
    assert booking.events.filter(kind=BookingEvent.Kind.DEPOSIT).count() == 1


def test_a_second_deposit_is_refused_on_the_form_and_keeps_the_first(staff_client, front_desk, booking):
    booking_deposit_record(booking=booking, amount=Decimal("200.00"), method="cash", actor=front_desk)
    response = staff_client(front_desk).post(reverse("frontdesk:booking_deposit", args=[booking.pk]),
                                             deposit_post(amount="500.00", method="alipay"))
    booking.refresh_from_db()
    assert response.status_code == 400
    assert response.context["deposit_form"].non_field_errors()
    assert 'role="alert"' in response.content.decode()
    assert (booking.deposit_amount, booking.deposit_method) == (Decimal("200.00"), "cash")
    assert booking.events.filter(kind=BookingEvent.Kind.DEPOSIT).count() == 1


def test_a_deposit_on_a_cancelled_appointment_is_refused_on_the_form(staff_client, front_desk, booking):
    # Given the page was drawn, then the appointment was cancelled
    client = staff_client(front_desk)
    assert client.get(reverse("frontdesk:booking_detail", args=[booking.pk])).context["deposit_form"]
    booking_cancel(booking=booking, actor=front_desk, reason="会员取消")
    # When the deposit is sent
    response = client.post(reverse("frontdesk:booking_deposit", args=[booking.pk]), deposit_post())
    # Then it is refused on the form and nothing is recorded
    booking.refresh_from_db()
    assert response.status_code == 400 and response.context["deposit_form"].non_field_errors()
    assert booking.deposit_recorded_at is None
    assert not booking.events.filter(kind=BookingEvent.Kind.DEPOSIT).exists()
    # And a cancelled appointment offers no deposit form
    page = client.get(reverse("frontdesk:booking_detail", args=[booking.pk]))
    assert page.context["deposit_form"] is None


@pytest.mark.parametrize(("fields", "field"), [
    ({"amount": "0"}, "amount"),
    ({"amount": "-50"}, "amount"),
    ({"amount": "abc"}, "amount"),
    ({"amount": ""}, "amount"),
    ({"amount": "1.005"}, "amount"),
    ({"method": "bitcoin"}, "method"),
    ({"method": ""}, "method"),
])
def test_bad_deposit_input_is_shown_next_to_its_field(staff_client, front_desk, booking, fields, field):
    response = staff_client(front_desk).post(reverse("frontdesk:booking_deposit", args=[booking.pk]),
                                             {**deposit_post(), **fields})
    booking.refresh_from_db()
    assert response.status_code == 400
    assert field in response.context["deposit_form"].errors
    assert f'id="id_{field}-error"' in response.content.decode()
    assert booking.deposit_recorded_at is None


def test_practitioners_may_not_record_deposits_and_visitors_log_in_first(
        staff_client, anon_client, world, booking):
    client = staff_client(world.dr_a.user)
    page = client.get(reverse("frontdesk:booking_detail", args=[booking.pk]))
    assert page.status_code == 200 and page.context["deposit_form"] is None
    assert 'id="deposit-form"' not in page.content.decode()
    assert client.post(reverse("frontdesk:booking_deposit", args=[booking.pk]), deposit_post()).status_code == 403
    anonymous = anon_client.post(reverse("frontdesk:booking_deposit", args=[booking.pk]), deposit_post())
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url
    booking.refresh_from_db()
    assert booking.deposit_recorded_at is None


def test_owners_and_managers_record_deposits_too(staff_client, owner, manager, world, monday):
    for user, hour in ((owner, 11), (manager, 12)):
        booking = booking_create(member=world.member, treatment=world.botox, starts_at=local(monday, hour),
                                 actor=None, practitioner=world.dr_a)
        response = staff_client(user).post(reverse("frontdesk:booking_deposit", args=[booking.pk]), deposit_post())
        booking.refresh_from_db()
        assert response.status_code == 302 and booking.deposit_recorded_by == user


def test_an_unknown_appointment_is_a_404(staff_client, front_desk, world):
    response = staff_client(front_desk).post(reverse("frontdesk:booking_deposit", args=[999999]), deposit_post())
    assert response.status_code == 404


def test_the_checkout_of_the_appointment_starts_with_the_deposit_as_a_payment(staff_client, front_desk, booking):
    client = staff_client(front_desk)
    client.post(reverse("frontdesk:booking_deposit", args=[booking.pk]), deposit_post(amount="150.00"))
    booking_check_in(booking=booking, actor=front_desk)
    page = client.get(reverse("frontdesk:checkout", args=[booking.member_id]), {"booking": booking.pk})
    payment = page.context["payments"].forms[0]
    assert (payment["method"].value(), payment["amount"].value()) == ("wechat_pay", Decimal("150.00"))


def test_the_appointment_page_takes_a_fixed_number_of_queries_with_a_deposit(
        staff_client, front_desk, booking, django_assert_max_num_queries):
    client = staff_client(front_desk)
    detail = reverse("frontdesk:booking_detail", args=[booking.pk])
    with django_assert_max_num_queries(DETAIL_PAGE_MAX_QUERIES) as before:
        client.get(detail)
    booking_deposit_record(booking=booking, amount=Decimal("200.00"), method="cash", actor=front_desk)
    with django_assert_max_num_queries(len(before.captured_queries), info="the deposit's recorder comes along"):
        client.get(detail)
