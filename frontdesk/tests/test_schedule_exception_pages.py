"""The schedule exceptions page: managers add leave, a room or device out of service, holidays and
closures for a time range with a reason; the slot picker stops offering that time at once;
appointments in the time are listed and must be confirmed; the upcoming list; removal; bad input;
roles; and a query-count guard."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.urls import reverse

from appointments.models import Booking, ScheduleException
from appointments.schedule import schedule_exception_create
from appointments.services import booking_create
from appointments.tests.conftest import local, next_dst_change
from clinics.models import Clinic
from frontdesk.booking_forms import slot_value
from idempotency.forms import idempotency_key_new

PAGE = reverse("frontdesk:schedule_exceptions")
LIST_PAGE_MAX_QUERIES = 18


def typed(at) -> str:
    """A time as a datetime-local input sends it: the clinic's wall clock, without an offset."""
    return at.astimezone(connection.tenant.zone).strftime("%Y-%m-%dT%H:%M")


def exception_post(world, start, end, kind="leave", **fields) -> dict:
    data = {"idempotency_key": idempotency_key_new(), "kind": kind, "practitioner": str(world.dr_a.pk),
            "resource": "", "location": "", "starts_at": typed(start), "ends_at": typed(end), "reason": "病假"}
    return {**data, **fields}


def offered(client, world, day, practitioner) -> list[str]:
    response = client.get(reverse("frontdesk:booking_slots"), {
        "treatment": world.botox.pk, "practitioner": practitioner.pk, "day": day.isoformat()}, HTTP_HX_REQUEST="true")
    return [slot.value for slot in response.context["slots"]]


def test_a_managers_leave_is_recorded_listed_and_its_time_no_longer_offered(
        staff_client, manager, front_desk, world, monday):
    desk = staff_client(front_desk)
    noon = slot_value(local(monday, 12), world.dr_a.pk)
    # Given the slot picker offers dr_a at 12:00 on Monday
    assert noon in offered(desk, world, monday, world.dr_a)
    # When a manager records dr_a's leave from 11:30 to 14:00
    client = staff_client(manager)
    assert client.get(PAGE).status_code == 200
    response = client.post(PAGE, exception_post(world, local(monday, 11, 30), local(monday, 14)))
    # Then it is recorded with who did it, listed, and 12:00 is no longer offered (dr_b's still is)
    exception = ScheduleException.objects.get()
    assert response.status_code == 302 and response.url == f"{PAGE}#exception-{exception.pk}"
    assert (exception.kind, exception.practitioner, exception.starts_at, exception.ends_at, exception.reason,
            exception.created_by) == ("leave", world.dr_a, local(monday, 11, 30), local(monday, 14), "病假", manager)
    page = client.get(PAGE)
    assert [e.pk for e, _key in page.context["rows"]] == [exception.pk]
    assert f'id="exception-{exception.pk}"' in page.content.decode()
    assert noon not in offered(desk, world, monday, world.dr_a)
    assert slot_value(local(monday, 12), world.dr_b.pk) in offered(desk, world, monday, world.dr_b)


def test_a_room_out_of_service_and_a_closure_keep_only_their_own_target(staff_client, manager, world, monday):
    client = staff_client(manager)
    # A laser maintenance posted with a practitioner and a location keeps only the laser
    client.post(PAGE, exception_post(world, local(monday, 9), local(monday, 12), kind="maintenance",
                                     resource=str(world.laser.pk), location=str(world.location.pk)))
    # A closure of the whole clinic posted with a practitioner and a room keeps neither
    client.post(PAGE, exception_post(world, local(monday, 13), local(monday, 18), kind="closure",
                                     resource=str(world.room1.pk)))
    maintenance, closure = ScheduleException.objects.order_by("starts_at")
    assert (maintenance.resource, maintenance.practitioner, maintenance.location) == (world.laser, None, None)
    assert (closure.kind, closure.resource, closure.practitioner, closure.location) == ("closure", None, None, None)
    html = client.get(PAGE).content.decode()
    assert world.laser.name in html


def test_an_exception_over_appointments_lists_them_and_needs_confirming(staff_client, manager, world, monday):
    # Given dr_a is booked at 10:00
    booking = booking_create(member=world.member, treatment=world.botox, starts_at=local(monday, 10), actor=None,
                             practitioner=world.dr_a)
    client = staff_client(manager)
    data = exception_post(world, local(monday, 9), local(monday, 12))
    # When leave over it is sent
    refused = client.post(PAGE, data)
    # Then it is refused with the appointment listed and a box to confirm; nothing is recorded
    assert refused.status_code == 400
    assert "overlaps_confirmed" in refused.context["form"].errors
    assert refused.context["overlapping"] == [booking]
    html = refused.content.decode()
    assert 'id="overlapping-bookings"' in html and reverse("frontdesk:booking_detail", args=[booking.pk]) in html
    assert 'name="overlaps_confirmed"' in html
    assert not ScheduleException.objects.exists()
    # When it is sent again, confirmed (with the same form key)
    done = client.post(PAGE, {**data, "overlaps_confirmed": "on"})
    # Then it is recorded, the appointment stays booked and the list says it still has to be moved
    booking.refresh_from_db()
    assert done.status_code == 302 and ScheduleException.objects.count() == 1
    assert booking.status == Booking.Status.BOOKED
    row = client.get(PAGE).context["rows"][0][0]
    assert row.bookings == [booking]


@pytest.mark.parametrize(("fields", "field"), [
    ({"ends_at": "start"}, "ends_at"),
    ({"ends_at": "before"}, "ends_at"),
    ({"practitioner": ""}, "practitioner"),
    ({"practitioner": "999999"}, "practitioner"),
    ({"kind": "maintenance"}, "resource"),
    ({"kind": "vacation"}, "kind"),
    ({"starts_at": "tomorrow"}, "starts_at"),
    ({"starts_at": ""}, "starts_at"),
    ({"reason": "  "}, "reason"),
])
def test_bad_input_is_shown_next_to_its_field_and_records_nothing(
        staff_client, manager, world, monday, fields, field):
    data = exception_post(world, local(monday, 12), local(monday, 14))
    if fields.get("ends_at") == "start":
        fields["ends_at"] = data["starts_at"]
    elif fields.get("ends_at") == "before":
        fields["ends_at"] = typed(local(monday, 11))
    response = staff_client(manager).post(PAGE, {**data, **fields})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert f'id="id_{field}-error"' in response.content.decode()
    assert not ScheduleException.objects.exists()


@pytest.fixture
def berlin_clinic(clinic):
    """The test clinic in Europe/Berlin, for its pages too (they load the clinic per request)."""
    original = clinic.time_zone
    Clinic.objects.filter(pk=clinic.pk).update(time_zone="Europe/Berlin")
    clinic.time_zone = "Europe/Berlin"
    yield clinic
    Clinic.objects.filter(pk=clinic.pk).update(time_zone=original)
    connection.tenant.time_zone = clinic.time_zone = original


def test_typed_times_are_the_clinics_wall_clock(staff_client, manager, world, monday, berlin_clinic):
    # When a manager of a clinic in Berlin types 12:00 to 14:00
    response = staff_client(manager).post(PAGE, exception_post(
        world, local(monday, 12), local(monday, 14), starts_at=f"{monday}T12:00", ends_at=f"{monday}T14:00"))
    # Then 12:00 typed is 12:00 in Berlin, not on the server's default clock (Asia/Shanghai)
    exception = ScheduleException.objects.get()
    berlin_noon = datetime.combine(monday, time(12), tzinfo=berlin_clinic.zone)
    assert response.status_code == 302
    assert exception.starts_at == berlin_noon
    assert exception.starts_at != datetime.combine(monday, time(12), tzinfo=ZoneInfo("Asia/Shanghai"))


def test_a_time_the_clocks_skip_is_refused_next_to_its_field(staff_client, manager, world, berlin_clinic):
    # Given the night Berlin's clocks jump from 02:00 to 03:00
    change = next_dst_change(3)
    # When a closure is typed from 02:30 that night
    response = staff_client(manager).post(PAGE, exception_post(
        world, local(change, 12), local(change, 14), kind="closure", starts_at=f"{change}T02:30",
        ends_at=f"{change}T12:00"))
    # Then it is refused at the start field and nothing is recorded
    assert response.status_code == 400 and "starts_at" in response.context["form"].errors
    assert not ScheduleException.objects.exists()


def test_removing_an_exception_frees_its_time_and_a_second_click_does_nothing(
        staff_client, manager, front_desk, world, monday):
    exception = schedule_exception_create(kind="leave", practitioner=world.dr_a, actor=None,
                                          starts_at=local(monday, 11), ends_at=local(monday, 14))
    desk = staff_client(front_desk)
    noon = slot_value(local(monday, 12), world.dr_a.pk)
    assert noon not in offered(desk, world, monday, world.dr_a)
    client = staff_client(manager)
    url = reverse("frontdesk:schedule_exception_delete", args=[exception.pk])
    data = {"idempotency_key": idempotency_key_new()}
    first = client.post(url, data)
    second = client.post(url, data)
    assert first.status_code == second.status_code == 302 and second.url == first.url == PAGE
    assert not ScheduleException.objects.exists()
    assert noon in offered(desk, world, monday, world.dr_a)
    gone = client.post(url, {"idempotency_key": idempotency_key_new()})
    assert gone.status_code == 404


def test_only_owners_and_managers_manage_exceptions(
        staff_client, anon_client, owner, manager, front_desk, world, monday):
    exception = schedule_exception_create(kind="holiday", actor=None, starts_at=local(monday, 0),
                                          ends_at=local(monday + timedelta(days=1), 0), reason="端午节")
    delete = reverse("frontdesk:schedule_exception_delete", args=[exception.pk])
    for user in (front_desk, world.dr_a.user):
        client = staff_client(user)
        assert client.get(PAGE).status_code == 403
        assert client.post(PAGE, exception_post(world, local(monday, 9), local(monday, 10))).status_code == 403
        assert client.post(delete, {"idempotency_key": idempotency_key_new()}).status_code == 403
        calendar = client.get(reverse("frontdesk:calendar")).content.decode()
        assert 'id="calendar-exceptions"' not in calendar
    for user in (owner, manager):
        assert staff_client(user).get(PAGE).status_code == 200
        assert 'id="calendar-exceptions"' in staff_client(user).get(reverse("frontdesk:calendar")).content.decode()
    anonymous = anon_client.get(PAGE)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url
    assert ScheduleException.objects.count() == 1


def test_the_list_shows_only_exceptions_not_yet_over(staff_client, manager, world, monday):
    past = monday - timedelta(days=28)
    schedule_exception_create(kind="closure", actor=None, starts_at=local(past, 9), ends_at=local(past, 18),
                              reason="装修")
    upcoming = schedule_exception_create(kind="closure", location=world.location, actor=None,
                                         starts_at=local(monday, 9), ends_at=local(monday, 18), reason="消防检查")
    page = staff_client(manager).get(PAGE)
    assert [e.pk for e, _key in page.context["rows"]] == [upcoming.pk]
    html = page.content.decode()
    assert "消防检查" in html and "装修" not in html


def test_the_list_takes_a_fixed_number_of_queries(staff_client, manager, world, monday,
                                                  django_assert_max_num_queries):
    client = staff_client(manager)
    schedule_exception_create(kind="leave", practitioner=world.dr_a, actor=manager,
                              starts_at=local(monday, 9), ends_at=local(monday, 10))
    with django_assert_max_num_queries(LIST_PAGE_MAX_QUERIES) as few:
        client.get(PAGE)
    # Given many more exceptions of every kind, most over bookings
    for n in range(1, 6):
        day = monday + timedelta(days=n)
        for practitioner, member in ((world.dr_a, world.member), (world.dr_b, world.member2)):
            booking_create(member=member, treatment=world.laser_treatment if n % 2 else world.botox,
                           starts_at=local(day, 10 + (practitioner == world.dr_b) * 2), actor=None,
                           practitioner=practitioner)
        schedule_exception_create(kind="leave", practitioner=world.dr_a, actor=manager, overlaps_confirmed=True,
                                  starts_at=local(day, 9), ends_at=local(day, 11))
        schedule_exception_create(kind="maintenance", resource=world.laser, actor=manager, overlaps_confirmed=True,
                                  starts_at=local(day, 9), ends_at=local(day, 18))
        schedule_exception_create(kind="closure", location=world.location, actor=None, overlaps_confirmed=True,
                                  starts_at=local(day, 17), ends_at=local(day, 18), reason="培训")
    with django_assert_max_num_queries(len(few.captured_queries), info="more exceptions and bookings, same queries"):
        page = client.get(PAGE)
    assert len(page.context["rows"]) == 16
    assert sum(len(e.bookings) for e, _key in page.context["rows"]) > 5
