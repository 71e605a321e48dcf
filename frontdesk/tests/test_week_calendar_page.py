"""The week calendar page: one practitioner's or one room's week in seven local days, the bookings
in time order with links, week navigation, the links between the day and week views, bad input,
roles, and a query-count guard with a full week of bookings."""

from datetime import UTC, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import ScheduleException
from appointments.schedule import schedule_exception_create
from appointments.services import booking_cancel, booking_create
from appointments.tests.conftest import hours_for, local
from points.rules import local_date

WEEK = reverse("frontdesk:calendar_week")
WEEK_PAGE_MAX_QUERIES = 16


def booked(world, start, practitioner=None, member=None, treatment=None):
    return booking_create(member=member or world.member, treatment=treatment or world.botox, starts_at=start,
                          actor=None, practitioner=practitioner or world.dr_a)


def day_ids(response) -> dict[str, list[int]]:
    return {d.day.isoformat(): [b.pk for b in d.bookings] for d in response.context["days"]}


def test_a_practitioners_week_has_seven_days_with_the_bookings_in_time_order(
        staff_client, front_desk, world, monday):
    # Given dr_a's bookings on Wednesday at 15:00 and 09:00 and Monday at 11:00, one cancelled on
    # Tuesday, and dr_b's on Monday
    wednesday = monday + timedelta(days=2)
    late = booked(world, local(wednesday, 15))
    early = booked(world, local(wednesday, 9), member=world.member2)
    first = booked(world, local(monday, 11))
    booking_cancel(booking=booked(world, local(monday + timedelta(days=1), 10)), actor=None, reason="改期")
    others = booked(world, local(monday, 11), practitioner=world.dr_b, member=world.member2)

    # When the front desk opens dr_a's week from a Thursday
    response = staff_client(front_desk).get(WEEK, {"date": (monday + timedelta(days=3)).isoformat(),
                                                   "of": f"practitioner-{world.dr_a.pk}"})

    # Then the seven days run Monday to Sunday, each with dr_a's bookings earliest first, cancelled left out
    assert response.status_code == 200
    days = day_ids(response)
    assert list(days) == [(monday + timedelta(days=n)).isoformat() for n in range(7)]
    assert days[monday.isoformat()] == [first.pk]
    assert days[wednesday.isoformat()] == [early.pk, late.pk]
    assert days[(monday + timedelta(days=1)).isoformat()] == []
    # And each booking shows its time, member, treatment and status and links to its page
    html = response.content.decode()
    assert reverse("frontdesk:booking_detail", args=[early.pk]) in html
    assert f'data-booking="{others.pk}"' not in html
    day = html[html.index(f'id="week-day-{wednesday}"'):html.index(f'id="week-day-{wednesday + timedelta(days=1)}"')]
    assert day.index(world.member2.name) < day.index(world.member.name)
    assert "09:00–09:30" in day and world.botox.name in day and 'data-status="booked"' in day
    assert "09:00–18:00" in day
    assert response.context["count"] == 3


def test_week_navigation_keeps_the_subject_and_links_to_the_day_view(staff_client, front_desk, world, monday):
    of = f"practitioner-{world.dr_b.pk}"
    friday = monday + timedelta(days=4)
    response = staff_client(front_desk).get(WEEK, {"date": friday.isoformat(), "of": of})
    html = response.content.decode()
    today = local_date(timezone.now())
    assert f'id="week-previous" href="?date={monday - timedelta(days=7)}&amp;of={of}"' in html
    assert f'id="week-next" href="?date={monday + timedelta(days=7)}&amp;of={of}"' in html
    assert f'id="week-this" href="?date={today}&amp;of={of}"' in html
    # The day view of the date asked, and each day's heading opens that day
    assert f'id="week-day-view" href="{reverse("frontdesk:calendar")}?date={friday}&amp;by=practitioner"' in html
    assert f'href="{reverse("frontdesk:calendar")}?date={monday + timedelta(days=6)}&amp;by=practitioner"' in html
    assert response.context["subject"].key == of


def test_a_rooms_week_shows_the_bookings_holding_it_with_their_practitioner(staff_client, front_desk, world, monday):
    # Given two bookings at the same time, one in each room
    a = booked(world, local(monday, 10))
    b = booked(world, local(monday, 10), practitioner=world.dr_b, member=world.member2)
    # When the week of a's room is shown
    response = staff_client(front_desk).get(WEEK, {"date": monday.isoformat(), "of": f"resource-{a.room_id}"})
    # Then only a is in it, with its practitioner
    assert day_ids(response)[monday.isoformat()] == [a.pk] and a.room_id != b.room_id
    day = response.content.decode()
    assert "李医生" in day[day.index(f'data-booking="{a.pk}"'):]


def test_days_are_the_clinics_local_days(staff_client, front_desk, world, monday):
    # Given dr_a works from 06:00 and a booking at 07:00 on Tuesday, clinic time (the day before in UTC)
    hours_for(world.dr_a, world.location, starts=time(6))
    tuesday = monday + timedelta(days=1)
    early = booked(world, local(tuesday, 7))
    assert early.starts_at.astimezone(UTC).date() == monday
    # When the week is shown, the booking is on Tuesday at 07:00
    response = staff_client(front_desk).get(WEEK, {"date": monday.isoformat(), "of": f"practitioner-{world.dr_a.pk}"})
    days = day_ids(response)
    assert days[tuesday.isoformat()] == [early.pk] and days[monday.isoformat()] == []
    assert "07:00–07:30" in response.content.decode()


def test_the_weeks_exceptions_are_shown_on_their_days(staff_client, front_desk, world, monday):
    wednesday = monday + timedelta(days=2)
    schedule_exception_create(kind=ScheduleException.Kind.LEAVE, practitioner=world.dr_a, actor=None,
                              starts_at=local(wednesday, 12), ends_at=local(wednesday, 14), reason="体检")
    response = staff_client(front_desk).get(WEEK, {"date": monday.isoformat(), "of": f"practitioner-{world.dr_a.pk}"})
    exceptions = {d.day: [e.reason for e in d.exceptions] for d in response.context["days"]}
    assert exceptions[wednesday] == ["体检"] and exceptions[monday] == []
    assert "12:00–14:00" in response.content.decode()


@pytest.mark.parametrize("query", [{}, {"of": "practitioner-999999"}, {"of": "nonsense"}, {"date": "nonsense"},
                                   {"date": "9999-12-31"}, {"date": "0001-01-01"}])
def test_bad_or_missing_input_shows_this_week_of_the_first_practitioner(staff_client, front_desk, world, query):
    response = staff_client(front_desk).get(WEEK, query)
    assert response.status_code == 200
    assert response.context["subject"].key == f"practitioner-{world.dr_a.pk}"
    if "date" in query:
        today = local_date(timezone.now())
        assert response.context["monday"] == today - timedelta(days=today.weekday())


def test_without_practitioners_rooms_or_devices_the_page_says_so(staff_client, front_desk):
    response = staff_client(front_desk).get(WEEK)
    assert response.status_code == 200 and response.context["subject"] is None
    assert 'id="week"' not in response.content.decode()


def test_every_staff_role_sees_the_week_and_anonymous_visitors_log_in_first(
        staff_client, anon_client, front_desk, owner, manager, world):
    for user in (front_desk, world.dr_a.user, manager, owner):
        assert staff_client(user).get(WEEK).status_code == 200
    response = anon_client.get(WEEK)
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_the_day_calendar_links_to_the_week_of_each_column(staff_client, front_desk, world, monday):
    response = staff_client(front_desk).get(reverse("frontdesk:calendar"), {"date": monday.isoformat()})
    html = response.content.decode()
    assert 'id="calendar-week"' in html
    for practitioner in (world.dr_a, world.dr_b):
        assert f'{WEEK}?date={monday.isoformat()}&amp;of=practitioner-{practitioner.pk}"' in html
    rooms = staff_client(front_desk).get(reverse("frontdesk:calendar"), {"date": monday.isoformat(), "by": "resource"})
    assert f'{WEEK}?date={monday.isoformat()}&amp;of=resource-{world.laser.pk}"' in rooms.content.decode()
    # A last day the calendar could not step past is taken as today, as in the week
    last = staff_client(front_desk).get(reverse("frontdesk:calendar"), {"date": "9999-12-31"})
    assert last.status_code == 200 and last.context["day"] == local_date(timezone.now())


def test_a_full_week_of_bookings_takes_no_more_queries_than_an_empty_one(
        staff_client, front_desk, world, monday, django_assert_max_num_queries):
    # Given dr_a works every day and an empty week's page takes n queries
    hours_for(world.dr_a, world.location, days=range(7))
    client = staff_client(front_desk)
    query = {"date": monday.isoformat(), "of": f"practitioner-{world.dr_a.pk}"}
    with django_assert_max_num_queries(WEEK_PAGE_MAX_QUERIES) as empty:
        client.get(WEEK, query)
    # Given five bookings on each of the seven days, some with the laser, and leave on one day
    for n in range(7):
        day = monday + timedelta(days=n)
        for hour in (9, 11, 13, 15, 17):
            booked(world, local(day, hour), member=world.member if hour % 4 == 1 else world.member2,
                   treatment=world.laser_treatment if hour == 13 else world.botox)
    schedule_exception_create(kind=ScheduleException.Kind.LEAVE, practitioner=world.dr_a, actor=None,
                              starts_at=local(monday, 12), ends_at=local(monday, 13), overlaps_confirmed=True)
    # When the full week is shown, it takes no more queries
    with django_assert_max_num_queries(len(empty.captured_queries), info="a full week, same queries"):
        response = client.get(WEEK, query)
    assert response.context["count"] == 35
    assert all(len(d.bookings) == 5 for d in response.context["days"])
