"""Booking, conflicts with their nearest alternatives, the status flow and its history,
deposits and checkout."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from appointments.models import Booking, BookingEvent
from appointments.selectors import booking_checkout_prefill, member_attendance
from appointments.services import (
    SlotUnavailable,
    booking_cancel,
    booking_check_in,
    booking_checkout,
    booking_complete,
    booking_confirm,
    booking_create,
    booking_deposit_record,
    booking_no_show,
    booking_reschedule,
)
from appointments.tests.conftest import local
from checkout.services import PaymentInput
from members.services import member_merge


def book(world, start, *, treatment=None, practitioner=None, member=None, actor=None, **kwargs) -> Booking:
    return booking_create(member=member or world.member, treatment=treatment or world.botox, starts_at=start,
                          practitioner=practitioner, actor=actor, **kwargs)


def test_booking_takes_the_first_free_practitioner_and_room_and_records_who_booked(world, monday, front_desk):
    booking = book(world, local(monday, 10), actor=front_desk)

    assert booking.practitioner == world.dr_a
    assert booking.room == world.room1 and booking.device is None
    assert booking.ends_at == local(monday, 10, 30)
    assert booking.blocked_until == local(monday, 10, 40)
    assert booking.status == Booking.Status.BOOKED and booking.channel == Booking.Channel.STAFF
    event = booking.events.get()
    assert (event.kind, event.to_status, event.actor, event.channel) == ("booked", "booked", front_desk, "staff")


def test_a_taken_time_is_refused_with_the_nearest_free_alternatives(world, monday):
    book(world, local(monday, 10), practitioner=world.dr_a)

    with pytest.raises(SlotUnavailable) as refused:
        book(world, local(monday, 10, 15), practitioner=world.dr_a, member=world.member2)

    alternatives = refused.value.alternatives
    assert alternatives
    distances = [abs(slot.starts_at - local(monday, 10, 15)) for slot in alternatives]
    assert distances == sorted(distances)
    assert alternatives[0].starts_at == local(monday, 10, 15) and alternatives[0].practitioner_id == world.dr_b.pk
    assert Booking.objects.count() == 1


def test_outside_working_hours_is_unavailable(world, monday):
    with pytest.raises(SlotUnavailable) as refused:
        book(world, local(monday, 17, 45), practitioner=world.dr_a)

    assert all(slot.blocked_until <= local(monday, 18) or slot.starts_at > local(monday, 18)
               for slot in refused.value.alternatives)


def test_a_product_or_a_past_time_cannot_be_booked(world, monday):
    from visits.services import catalogue_item_create

    cream = catalogue_item_create(kind="product", name="面霜", sku="CREAM", category=world.botox.category,
                                  price=Decimal("100"))
    with pytest.raises(ValidationError):
        book(world, local(monday, 10), treatment=cream)
    with pytest.raises(ValidationError):
        book(world, local(monday - timedelta(days=30), 10))


def test_postgres_refuses_overlaps_on_practitioner_room_and_device_even_without_python_checks(world, monday):
    first = book(world, local(monday, 10), treatment=world.laser_treatment, practitioner=world.dr_a)
    overlapping = {"member": world.member2, "treatment": world.laser_treatment, "location": world.location,
                   "starts_at": local(monday, 11), "ends_at": local(monday, 11, 30),
                   "blocked_until": local(monday, 11, 30), "channel": "staff"}

    for clash, name in (({"practitioner": world.dr_a, "room": world.room2}, "booking_practitioner_no_overlap"),
                        ({"practitioner": world.dr_b, "room": first.room}, "booking_room_no_overlap"),
                        ({"practitioner": world.dr_b, "room": world.room2, "device": world.laser},
                         "booking_device_no_overlap")):
        with pytest.raises(IntegrityError) as refused, transaction.atomic():
            Booking.objects.create(**overlapping, **clash)
        assert refused.value.__cause__.diag.constraint_name == name

    Booking.objects.create(**{**overlapping, "starts_at": local(monday, 11, 15)}, practitioner=world.dr_a,
                           room=world.room2)


def test_a_cancelled_booking_no_longer_holds_anything_in_postgres(world, monday):
    first = book(world, local(monday, 10), practitioner=world.dr_a)
    booking_cancel(booking=first, actor=None, reason="生病")

    again = book(world, local(monday, 10), practitioner=world.dr_a, member=world.member2)

    assert again.room == first.room


def test_status_flow_records_each_step_with_its_actor(world, monday, front_desk, practitioner):
    booking = book(world, local(monday, 10), actor=front_desk)

    booking = booking_confirm(booking=booking, actor=front_desk)
    booking = booking_check_in(booking=booking, actor=front_desk)
    booking = booking_complete(booking=booking, actor=practitioner)

    steps = [(e.from_status, e.to_status, e.actor) for e in booking.events.filter(kind=BookingEvent.Kind.STATUS)]
    assert steps == [("booked", "confirmed", front_desk), ("confirmed", "checked_in", front_desk),
                     ("checked_in", "completed", practitioner)]


def test_impossible_transitions_are_refused_and_change_nothing(world, monday, front_desk):
    booking = book(world, local(monday, 10))

    with pytest.raises(ValidationError):
        booking_complete(booking=booking, actor=front_desk)
    booking_cancel(booking=booking, actor=front_desk, reason="不来了")
    with pytest.raises(ValidationError):
        booking_check_in(booking=booking, actor=front_desk)
    with pytest.raises(ValidationError):
        booking_reschedule(booking=booking, starts_at=local(monday, 11), actor=front_desk)

    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CANCELLED
    assert booking.events.count() == 2


def test_no_show_only_after_the_start_and_counted_per_member(world, monday, front_desk):
    booking = book(world, local(monday, 10))

    with pytest.raises(ValidationError):
        booking_no_show(booking=booking, actor=front_desk, now=local(monday, 9, 59))
    booking_no_show(booking=booking, actor=front_desk, now=local(monday, 10, 20))

    attendance = member_attendance(world.member)
    assert attendance.no_shows == 1 and attendance.upcoming == 0
    assert Booking.objects.get(pk=booking.pk).reminders.filter(status="pending").count() == 0


def test_staff_cancellation_says_who_when_and_why(world, monday, front_desk):
    booking = book(world, local(monday, 10))

    with pytest.raises(ValidationError):
        booking_cancel(booking=booking, actor=front_desk, reason=" ")
    booking = booking_cancel(booking=booking, actor=front_desk, reason="医生临时出诊", party=Booking.Party.CLINIC,
                             now=local(monday, 9))

    assert (booking.cancelled_by, booking.cancelled_at, booking.cancel_reason) == (front_desk, local(monday, 9),
                                                                                    "医生临时出诊")
    assert booking.cancelled_by_party == "clinic" and not booking.late_cancellation


def test_reschedule_moves_the_booking_and_keeps_the_old_time_in_history(world, monday, front_desk):
    booking = book(world, local(monday, 10), practitioner=world.dr_a)

    booking = booking_reschedule(booking=booking, starts_at=local(monday, 15), actor=front_desk, reason="客人要求")

    assert booking.starts_at == local(monday, 15) and booking.reschedule_count == 1
    event = booking.events.get(kind=BookingEvent.Kind.RESCHEDULED)
    assert datetime.fromisoformat(event.detail["from"]["starts_at"]) == local(monday, 10)
    assert event.reason == "客人要求"


def test_rescheduling_onto_a_taken_time_changes_nothing(world, monday, front_desk):
    book(world, local(monday, 15), practitioner=world.dr_a, member=world.member2)
    booking = book(world, local(monday, 10), practitioner=world.dr_a)

    with pytest.raises(SlotUnavailable):
        booking_reschedule(booking=booking, starts_at=local(monday, 15), actor=front_desk)

    booking.refresh_from_db()
    assert booking.starts_at == local(monday, 10) and booking.reschedule_count == 0


def test_rescheduling_a_little_later_may_overlap_its_own_old_time(world, monday, front_desk):
    booking = book(world, local(monday, 10), practitioner=world.dr_a)

    booking = booking_reschedule(booking=booking, starts_at=local(monday, 10, 15), actor=front_desk)

    assert booking.starts_at == local(monday, 10, 15)


def test_history_is_append_only_in_postgres(world, monday):
    event = book(world, local(monday, 10)).events.get()

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE appointments_bookingevent SET reason = 'x' WHERE id = %s", [event.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingEvent.objects.filter(pk=event.pk).delete()


def test_deposit_is_recorded_with_who_and_how(world, monday, front_desk):
    booking = book(world, local(monday, 10))

    with pytest.raises(ValidationError):
        booking_deposit_record(booking=booking, amount=Decimal("0"), method="cash", actor=front_desk)
    booking = booking_deposit_record(booking=booking, amount=Decimal("200.00"), method="wechat_pay", actor=front_desk)

    assert (booking.deposit_amount, booking.deposit_method, booking.deposit_recorded_by) == (
        Decimal("200.00"), "wechat_pay", front_desk)
    assert booking_checkout_prefill(booking)["deposit"] == {"amount": Decimal("200.00"), "method": "wechat_pay"}


def test_a_second_deposit_or_one_on_a_closed_booking_is_refused_and_keeps_the_first(world, monday, front_desk):
    # Given a booking with a deposit of 200 by WeChat Pay, and a cancelled booking
    booking = book(world, local(monday, 10))
    booking_deposit_record(booking=booking, amount=Decimal("200.00"), method="wechat_pay", actor=front_desk)
    cancelled = booking_cancel(booking=book(world, local(monday, 11)), actor=front_desk, reason="不来了")

    # When a second deposit is recorded, and one on the cancelled booking
    with pytest.raises(ValidationError, match="already been recorded"):
        booking_deposit_record(booking=booking, amount=Decimal("500.00"), method="cash", actor=front_desk)
    with pytest.raises(ValidationError, match="open appointment"):
        booking_deposit_record(booking=cancelled, amount=Decimal("100.00"), method="cash", actor=front_desk)

    # Then the first deposit is what the checkout counts, with one deposit event, and nothing else moved
    booking.refresh_from_db()
    cancelled.refresh_from_db()
    assert booking_checkout_prefill(booking)["deposit"] == {"amount": Decimal("200.00"), "method": "wechat_pay"}
    assert booking.events.filter(kind=BookingEvent.Kind.DEPOSIT).count() == 1
    assert cancelled.deposit_recorded_at is None


def test_completion_opens_the_checkout_and_checkout_links_the_visit(world, monday, front_desk):
    booking = book(world, local(monday, 10), practitioner=world.dr_a)
    assert not booking_checkout_prefill(booking)["open"]
    booking_check_in(booking=booking, actor=front_desk)
    booking = booking_complete(booking=booking, actor=front_desk)

    prefill = booking_checkout_prefill(booking)
    assert prefill["open"] and prefill["member_id"] == world.member.pk
    assert prefill["staff_id"] == world.dr_a.user_id
    assert prefill["lines"] == [{"item_id": world.botox.pk, "name": "肉毒素", "quantity": 1,
                                 "unit_price": Decimal("2000.00")}]

    result = booking_checkout(booking=booking, actor=front_desk,
                              payments=[PaymentInput(method="cash", amount=Decimal("2000.00"))])

    booking.refresh_from_db()
    assert booking.visit == result.visit and booking.status == Booking.Status.COMPLETED
    assert result.visit.member == world.member and result.visit.lines.get().item == world.botox
    assert not booking_checkout_prefill(booking)["open"]
    with pytest.raises(ValidationError):
        booking_checkout(booking=booking, actor=front_desk,
                         payments=[PaymentInput(method="cash", amount=Decimal("2000.00"))])


def test_a_refused_checkout_leaves_the_appointment_open(world, monday, front_desk):
    booking = book(world, local(monday, 10))
    booking_check_in(booking=booking, actor=front_desk)

    with pytest.raises(ValidationError):
        booking_checkout(booking=booking, actor=front_desk, payments=[PaymentInput(method="cash", amount=Decimal("1"))])

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CHECKED_IN and booking.visit is None


def test_merging_members_moves_their_bookings(world, monday, manager):
    booking = book(world, local(monday, 10), member=world.member2)

    member_merge(survivor=world.member, duplicate=world.member2, actor=manager)

    assert Booking.objects.get(pk=booking.pk).member == world.member


def test_erasing_a_member_clears_their_booking_notes_and_keeps_the_bookings(world, monday, manager):
    from members.services import member_erase

    booking = book(world, local(monday, 10), notes="对酒精过敏，手机 13812345678")

    member_erase(member=world.member, actor=manager, reason="本人要求")

    booking.refresh_from_db()
    assert booking.notes == "" and booking.member_id == world.member.pk
