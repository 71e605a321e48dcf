"""The recall list: members due for their next session of a treatment, from its recall
interval and their last visit with it."""

from datetime import timedelta

from django.utils import timezone

from appointments.selectors import recall_list
from appointments.services import booking_create
from appointments.tests.conftest import local
from checkout.services import LineInput, PaymentInput, checkout_complete, visit_refund
from members.services import member_archive, member_register


def visit(member, item, days_ago: int, actor):
    return checkout_complete(member=member, actor=actor, lines=[LineInput(item_id=item.pk)],
                             payments=[PaymentInput(method="cash", amount=item.price)],
                             at=timezone.now() - timedelta(days=days_ago)).visit


def due(**kwargs):
    return {(entry.member.pk, entry.treatment.pk): entry for entry in recall_list(**kwargs)}


def test_members_whose_interval_has_passed_since_their_last_visit_are_due(world, front_desk):
    visit(world.member, world.botox, 130, front_desk)
    visit(world.member2, world.botox, 100, front_desk)

    entries = due()

    assert set(entries) == {(world.member.pk, world.botox.pk)}
    entry = entries[(world.member.pk, world.botox.pk)]
    assert entry.days_overdue == 10
    assert entry.due_on == timezone.localdate() - timedelta(days=10)


def test_looking_ahead_includes_members_due_soon(world, front_desk):
    visit(world.member2, world.botox, 100, front_desk)

    assert (world.member2.pk, world.botox.pk) in due(within_days=20)
    assert due(within_days=19) == {}


def test_only_the_last_visit_of_the_treatment_counts(world, front_desk):
    visit(world.member, world.botox, 250, front_desk)
    visit(world.member, world.botox, 20, front_desk)

    assert due() == {}


def test_each_treatment_has_its_own_interval_and_items_without_one_never_recall(world, front_desk):
    visit(world.member, world.laser_treatment, 40, front_desk)
    visit(world.member, world.facial, 400, front_desk)

    assert set(due()) == {(world.member.pk, world.laser_treatment.pk)}
    assert due(treatment_id=world.botox.pk) == {}


def test_members_already_booked_for_it_archived_members_and_refunded_visits_are_left_out(world, front_desk, monday):
    visit(world.member, world.botox, 130, front_desk)
    booking_create(member=world.member, treatment=world.botox, starts_at=local(monday, 10), actor=front_desk)
    visit(world.member2, world.botox, 130, front_desk)
    member_archive(member=world.member2, actor=front_desk, reason="搬家")
    third = member_register(name="陈静", phone="13712345678", actor=None)
    refunded = visit(third, world.botox, 130, front_desk)
    visit_refund(visit=refunded, actor=front_desk, reason="过敏", lines=[(refunded.lines.get().pk, 1)])
    fourth = member_register(name="赵敏", phone="13612345678", actor=None)
    visit(fourth, world.botox, 130, front_desk)

    assert set(due()) == {(fourth.pk, world.botox.pk)}
