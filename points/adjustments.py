"""Manual point adjustments: small ones apply at once, large ones wait for a manager's approval.
Each carries a reason code, a note, who asked and who decided."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from members.models import Member
from points.ledger import (
    InsufficientBalance,
    Source,
    account_for,
    available_balance,
    ledger_credit,
    ledger_debit,
)
from points.models import Account, Entry, PointsAdjustment
from points.rules import lot_expiry, loyalty_settings

REQUEST_PERMISSION = "points.adjust_points"
APPROVE_PERMISSION = "points.approve_adjustment"


def _apply(adjustment: PointsAdjustment, account: Account, *, at: datetime) -> Entry:
    source = Source("adjustment", adjustment.pk)
    reason = f"{adjustment.get_reason_code_display()}: {adjustment.note}"[:255]
    key = f"adjustment:{adjustment.pk}"
    if adjustment.amount > 0:
        return ledger_credit(account=account, amount=adjustment.amount, kind=Entry.Kind.ADJUST, source=source,
                             actor=adjustment.requested_by, reason=reason, dedupe_key=key, at=at,
                             expires_at=lot_expiry(at, loyalty_settings()))
    return ledger_debit(account=account, amount=-adjustment.amount, kind=Entry.Kind.ADJUST, source=source,
                        actor=adjustment.requested_by, reason=reason, dedupe_key=key, at=at)


@transaction.atomic
def points_adjust(*, member: Member, amount: int, reason_code: str, note: str,
                  actor: User) -> PointsAdjustment:
    """Add (positive `amount`) or take away (negative) points by hand. Below the clinic's approval
    threshold it applies at once; from the threshold up it waits for a manager. A deduction must
    fit the member's available points."""
    if not actor.has_perm(REQUEST_PERMISSION):
        raise PermissionDenied(_("You may not adjust points."))
    if not amount:
        raise ValidationError({"amount": _("Enter a number of points other than zero.")})
    if not member.is_active:
        raise ValidationError(_("Only an active member's points can be adjusted."))
    adjustment = PointsAdjustment(member=member, amount=amount, reason_code=reason_code, note=note.strip(),
                                  status=PointsAdjustment.Status.PENDING, requested_by=actor)
    adjustment.full_clean(exclude=["member", "requested_by"])
    account = account_for(member, lock=True)
    now = timezone.now()
    available = available_balance(account, at=now)
    if amount < 0 and available < -amount:
        raise InsufficientBalance(available=available, wanted=-amount)
    adjustment.save()
    if abs(amount) < loyalty_settings().adjustment_approval_threshold:
        adjustment.entry = _apply(adjustment, account, at=now)
        adjustment.status = PointsAdjustment.Status.APPLIED
        adjustment.decided_at = now
        adjustment.save(update_fields=["entry", "status", "decided_at"])
    return adjustment


def _decide_start(adjustment: PointsAdjustment, actor: User) -> tuple[PointsAdjustment, Account]:
    if not actor.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied(_("Only a manager or the owner may decide on adjustments."))
    account = account_for(adjustment.member, lock=True)
    adjustment = (PointsAdjustment.objects.select_for_update().select_related("requested_by")
                  .get(pk=adjustment.pk))
    if adjustment.status != PointsAdjustment.Status.PENDING:
        raise ValidationError(_("This adjustment has already been decided."))
    return adjustment, account


@transaction.atomic
def points_adjustment_approve(*, adjustment: PointsAdjustment, actor: User,
                              note: str = "") -> PointsAdjustment:
    """Apply a pending adjustment. Nobody approves their own request; a deduction that no longer
    fits the member's available points is refused and stays pending."""
    adjustment, account = _decide_start(adjustment, actor)
    if adjustment.requested_by_id == actor.pk:
        raise PermissionDenied(_("You cannot approve your own adjustment; another manager must."))
    now = timezone.now()
    try:
        adjustment.entry = _apply(adjustment, account, at=now)
    except InsufficientBalance as exc:
        raise ValidationError(
            _("This deduction no longer fits: the member has %(available)s points available, "
              "%(wanted)s are to be taken. Reject it, or ask for a smaller one."),
            params={"available": exc.available, "wanted": exc.wanted}, code="insufficient_points") from None
    adjustment.status = PointsAdjustment.Status.APPLIED
    adjustment.decided_by, adjustment.decided_at, adjustment.decision_note = actor, now, note.strip()[:255]
    adjustment.save(update_fields=["entry", "status", "decided_by", "decided_at", "decision_note"])
    return adjustment


@transaction.atomic
def points_adjustment_reject(*, adjustment: PointsAdjustment, actor: User,
                             note: str = "") -> PointsAdjustment:
    """Refuse a pending adjustment (or withdraw one's own); no points move."""
    adjustment, _account = _decide_start(adjustment, actor)
    adjustment.status = PointsAdjustment.Status.REJECTED
    adjustment.decided_by, adjustment.decided_at = actor, timezone.now()
    adjustment.decision_note = note.strip()[:255]
    adjustment.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return adjustment
