import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from points.adjustments import points_adjust, points_adjustment_approve, points_adjustment_reject
from points.ledger import Source, account_for, ledger_debit
from points.models import Entry, Lot, PointsAdjustment
from points.rules import lot_expiry
from points.tests.factories import account_of, days, points_give

Status = PointsAdjustment.Status


def adjust(member, amount, actor, **kwargs) -> PointsAdjustment:
    return points_adjust(member=member, amount=amount, reason_code=PointsAdjustment.Reason.GOODWILL,
                         note=kwargs.pop("note", "投诉补偿"), actor=actor, **kwargs)


def test_a_small_credit_applies_at_once_with_the_clinics_expiry(member, front_desk, rules):
    adjustment = adjust(member, 200, front_desk)

    assert (adjustment.status, adjustment.decided_by) == (Status.APPLIED, None)
    entry = adjustment.entry
    assert (entry.kind, entry.amount, entry.actor, entry.source_type) == (Entry.Kind.ADJUST, 200, front_desk,
                                                                          "adjustment")
    assert "投诉补偿" in entry.reason
    assert Lot.objects.get(entry=entry).expires_at == lot_expiry(entry.effective_at, rules)
    assert account_of(member).balance == 200


def test_a_small_debit_applies_at_once(member, front_desk):
    points_give(member, 500)

    adjustment = adjust(member, -120, front_desk)

    assert adjustment.status == Status.APPLIED
    assert adjustment.entry.amount == -120
    assert account_of(member).balance == 380


def test_from_the_threshold_up_an_adjustment_waits_for_another_manager(member, front_desk, manager, rules):
    rules.adjustment_approval_threshold = 1000
    rules.save()

    adjustment = adjust(member, 1000, front_desk)

    assert (adjustment.status, adjustment.entry) == (Status.PENDING, None)
    assert account_for(member).balance == 0

    approved = points_adjustment_approve(adjustment=adjustment, actor=manager, note="核实无误")

    assert (approved.status, approved.decided_by) == (Status.APPLIED, manager)
    assert approved.decision_note == "核实无误"
    assert approved.entry.amount == 1000
    assert account_of(member).balance == 1000
    with pytest.raises(ValidationError, match="already been decided"):
        points_adjustment_approve(adjustment=adjustment, actor=manager)


def test_nobody_approves_their_own_adjustment(member, manager):
    adjustment = adjust(member, 5000, manager)

    with pytest.raises(PermissionDenied, match="your own"):
        points_adjustment_approve(adjustment=adjustment, actor=manager)

    adjustment.refresh_from_db()
    assert adjustment.status == Status.PENDING
    assert account_for(member).balance == 0


def test_front_desk_may_request_but_not_approve_and_practitioners_may_not_request(
        member, front_desk, practitioner, owner):
    adjustment = adjust(member, 5000, front_desk)

    with pytest.raises(PermissionDenied):
        points_adjustment_approve(adjustment=adjustment, actor=front_desk)
    with pytest.raises(PermissionDenied):
        adjust(member, 10, practitioner)
    assert points_adjustment_approve(adjustment=adjustment, actor=owner).status == Status.APPLIED


def test_a_pending_debit_that_no_longer_fits_is_refused_at_approval(member, front_desk, manager):
    points_give(member, 3000)
    adjustment = adjust(member, -2500, front_desk)
    with transaction.atomic():
        ledger_debit(account=account_for(member, lock=True), amount=1000, kind=Entry.Kind.REDEEM,
                     source=Source("test"), actor=None)

    with pytest.raises(ValidationError, match="2000 points available, 2500 are to be taken"):
        points_adjustment_approve(adjustment=adjustment, actor=manager)

    adjustment.refresh_from_db()
    assert adjustment.status == Status.PENDING
    assert account_of(member).balance == 2000
    rejected = points_adjustment_reject(adjustment=adjustment, actor=manager, note="余额不足")
    assert (rejected.status, rejected.entry) == (Status.REJECTED, None)


def test_a_debit_beyond_the_available_points_is_refused_at_once(member, front_desk):
    points_give(member, 100)
    points_give(member, 900, available_from=timezone.now() + days(3))

    with pytest.raises(ValidationError, match="100 available, 5000 needed"):
        adjust(member, -5000, front_desk)

    assert not PointsAdjustment.objects.exists()


def test_bad_input_is_refused_with_field_errors(member, front_desk):
    with pytest.raises(ValidationError) as zero:
        adjust(member, 0, front_desk)
    with pytest.raises(ValidationError) as blank:
        adjust(member, 10, front_desk, note="  ")
    with pytest.raises(ValidationError) as unknown:
        points_adjust(member=member, amount=10, reason_code="bribe", note="x", actor=front_desk)

    assert "amount" in zero.value.message_dict
    assert "note" in blank.value.message_dict
    assert "reason_code" in unknown.value.message_dict
    assert not PointsAdjustment.objects.exists()
