"""Reminder rows: one per booking and kind of the clinic's plan, following reschedules and
cancelled with the booking; the due ones are found by `reminders_due(now)`."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import IntegrityError, transaction

from appointments.models import Reminder
from appointments.reminders import reminder_mark_sent
from appointments.schedule import appointment_policy_update
from appointments.selectors import reminders_due
from appointments.services import (
    booking_cancel,
    booking_check_in,
    booking_confirm,
    booking_create,
    booking_reschedule,
)
from appointments.tests.conftest import local, next_dst_change


def plan(booking) -> dict[str, tuple[datetime, str]]:
    return {r.kind: (r.due_at, r.status) for r in Reminder.objects.filter(booking=booking)}


def book(world, start, **kwargs):
    return booking_create(member=world.member, treatment=world.facial, starts_at=start, actor=None, **kwargs)


def test_a_booking_gets_its_24h_and_2h_reminders(world, monday):
    booking = book(world, local(monday, 10))

    assert plan(booking) == {"24h": (local(monday, 10) - timedelta(hours=24), "pending"),
                             "2h": (local(monday, 8), "pending")}


def test_a_reminder_whose_time_has_passed_at_booking_is_skipped_not_sent_late(world, monday):
    booking = book(world, local(monday, 10), now=local(monday, 7))

    assert plan(booking) == {"24h": (local(monday, 10) - timedelta(hours=24), "skipped"),
                             "2h": (local(monday, 8), "pending")}


def test_reschedule_moves_pending_and_sent_reminders_to_the_new_time(world, monday):
    booking = book(world, local(monday, 10))
    sent = Reminder.objects.get(booking=booking, kind="24h")
    assert reminder_mark_sent(reminder=sent, at=local(monday - timedelta(days=1), 10))

    booking_reschedule(booking=booking, starts_at=local(monday + timedelta(days=2), 15), actor=None,
                       now=local(monday, 9))

    new_start = local(monday + timedelta(days=2), 15)
    assert plan(booking) == {"24h": (new_start - timedelta(hours=24), "pending"),
                             "2h": (new_start - timedelta(hours=2), "pending")}
    assert Reminder.objects.filter(booking=booking).count() == 2


def test_cancelling_cancels_the_reminders_not_yet_sent(world, monday):
    booking = book(world, local(monday, 10))
    reminder_mark_sent(reminder=Reminder.objects.get(booking=booking, kind="24h"))

    booking_cancel(booking=booking, actor=None, reason="出差")

    assert {kind: status for kind, (_due, status) in plan(booking).items()} == {"24h": "sent", "2h": "cancelled"}


def test_confirming_keeps_reminders_and_checking_in_stops_them(world, monday, front_desk):
    booking = book(world, local(monday, 10))

    booking_confirm(booking=booking, actor=front_desk)
    assert {status for _due, status in plan(booking).values()} == {"pending"}
    booking_check_in(booking=booking, actor=front_desk)
    assert {status for _due, status in plan(booking).values()} == {"cancelled"}


def test_reminders_due_lists_pending_ones_whose_time_has_come(world, monday):
    soon = book(world, local(monday, 10))
    later = booking_create(member=world.member2, treatment=world.facial, starts_at=local(monday, 16), actor=None)
    cancelled = booking_create(member=world.member2, treatment=world.facial, starts_at=local(monday, 10, 15),
                               actor=None, practitioner=world.dr_b)
    booking_cancel(booking=cancelled, actor=None, reason="不来了")

    due = list(reminders_due(local(monday, 8, 30)))

    assert [(r.booking_id, r.kind) for r in due] == [(soon.pk, "24h"), (later.pk, "24h"), (soon.pk, "2h")]
    assert reminders_due(local(monday, 10, 1)).filter(booking=soon).count() == 0


def test_marking_sent_happens_once_only(world, monday):
    reminder = Reminder.objects.get(booking=book(world, local(monday, 10)), kind="2h")

    assert reminder_mark_sent(reminder=reminder) is True
    assert reminder_mark_sent(reminder=reminder) is False
    assert reminders_due(local(monday, 9)).filter(pk=reminder.pk).count() == 0


def test_postgres_allows_one_reminder_per_booking_and_kind(world, monday):
    booking = book(world, local(monday, 10))

    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(booking=booking, kind="2h", minutes_before=120, due_at=local(monday, 8))


def test_the_clinics_plan_decides_the_kinds(world, monday):
    appointment_policy_update(actor=None, reminder_minutes=[2880, 30])

    booking = book(world, local(monday, 10))

    assert set(plan(booking)) == {"2d", "30m"}


def test_a_24h_reminder_across_the_berlin_autumn_change_is_24_real_hours_before(world, berlin):
    monday_after = next_dst_change(10) + timedelta(days=1)

    booking = book(world, local(monday_after, 9))

    assert booking.starts_at.astimezone(UTC).time() == time(8)
    due_24h = plan(booking)["24h"][0]
    assert booking.starts_at - due_24h == timedelta(hours=24)
    assert due_24h.astimezone(berlin.zone).time() == time(9)
    assert due_24h.astimezone(berlin.zone).utcoffset() == timedelta(hours=1)
