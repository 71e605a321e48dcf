"""What the points ledger does when a member registers or is merged into another."""

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from members.models import Member
from points.ledger import Source, accounts_lock, ledger_credit, ledger_move_lot
from points.models import STORED_VALUE_ASSETS, Account, Asset, Coupon, Entry, Lot, PointsAdjustment, Redemption
from points.rules import lot_available_from, lot_expiry, loyalty_settings


def signup_bonus_grant(member: Member, actor: User | None) -> None:
    rules = loyalty_settings()
    account = accounts_lock([member])[member.pk]
    if rules.signup_bonus:
        now = timezone.now()
        ledger_credit(account=account, amount=rules.signup_bonus, kind=Entry.Kind.BONUS,
                      source=Source("signup", member.pk), actor=actor, reason=_("Sign-up bonus"),
                      dedupe_key=f"signup:{member.pk}", at=now,
                      available_from=lot_available_from(now, rules), expires_at=lot_expiry(now, rules))


def ledger_merge(survivor: Member, duplicate: Member, actor: User | None) -> None:
    """Move the duplicate's open lots to the survivor, lot by lot, keeping each lot's own
    availability and expiry; both sides are recorded as transfer entries."""
    now = timezone.now()
    reason = _("Merged %(from)s into %(to)s") % {"from": duplicate.member_number, "to": survivor.member_number}
    for asset in (Asset.POINTS, *STORED_VALUE_ASSETS):
        if asset != Asset.POINTS and not Account.objects.filter(member=duplicate, asset=asset).exists():
            continue
        accounts = accounts_lock([survivor, duplicate], asset)
        source_account, target_account = accounts[duplicate.pk], accounts[survivor.pk]
        for lot in (Lot.objects.filter(account=source_account, remaining__gt=0).select_related("account")
                    .order_by("id")):
            lot.account = source_account
            ledger_move_lot(lot=lot, target=target_account, source=Source("merge", duplicate.pk),
                            actor=actor, reason=reason, at=now)
        Account.objects.filter(pk=target_account.pk).update(
            lifetime_earned=target_account.lifetime_earned + source_account.lifetime_earned)
    Coupon.objects.filter(member=duplicate).update(member=survivor)
    Redemption.objects.filter(member=duplicate).update(member=survivor)
    PointsAdjustment.objects.filter(member=duplicate).update(member=survivor)
