"""The rewards catalogue and redeeming points for rewards."""

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import settings_change, settings_update
from members.models import Member
from points.coupons import coupon_issue, coupon_void
from points.ledger import Source, account_for, available_balance, ledger_debit, ledger_restore
from points.models import Coupon, CouponTemplate, Entry, Redemption, Reward
from points.rules import lot_expiry, loyalty_settings
from points.selectors import reward_refusal
from tiers.models import Tier
from tiers.selectors import member_current_tier
from visits.models import CatalogueItem

REWARD_FIELDS = ("name", "kind", "points_cost", "item", "coupon_template", "stock", "per_member_limit",
                 "active", "description")


def _check_kind(reward: Reward) -> None:
    if reward.points_cost is not None and reward.points_cost <= 0:
        raise ValidationError({"points_cost": _("A reward costs at least 1 point.")})
    if reward.kind == Reward.Kind.COUPON:
        if reward.coupon_template is None:
            raise ValidationError({"coupon_template": _("Choose the coupon this reward gives.")})
        reward.item = None
    else:
        if reward.item is None:
            raise ValidationError({"item": _("Choose the treatment or product this reward gives.")})
        reward.coupon_template = None


@transaction.atomic
def reward_create(*, name: str, kind: str, points_cost: int, item: CatalogueItem | None = None,
                  coupon_template: CouponTemplate | None = None, stock: int | None = None,
                  per_member_limit: int | None = None, active: bool = True, description: str = "",
                  allowed_tiers: Iterable[Tier] = (), actor: User | None = None) -> Reward:
    reward = Reward(name=name.strip(), kind=kind, points_cost=points_cost, item=item,
                    coupon_template=coupon_template, stock=stock, per_member_limit=per_member_limit,
                    active=active, description=description)
    return settings_update(actor=actor, obj=reward, changes={}, fields=REWARD_FIELDS, validate=_check_kind,
                           related={"allowed_tiers": allowed_tiers})


@transaction.atomic
def reward_update(*, reward: Reward, allowed_tiers: Iterable[Tier] | None = None, actor: User | None = None,
                  **changes) -> Reward:
    reward = Reward.objects.select_for_update().get(pk=reward.pk)
    return settings_update(actor=actor, obj=reward, changes=changes, fields=REWARD_FIELDS, validate=_check_kind,
                           related={"allowed_tiers": allowed_tiers})


@transaction.atomic
def reward_delete(*, reward: Reward, actor: User | None = None) -> None:
    """Delete a reward nobody has redeemed; one with redemptions can only be deactivated."""
    reward = Reward.objects.select_for_update().get(pk=reward.pk)
    with settings_change(actor=actor, obj=reward, fields=(*REWARD_FIELDS, "allowed_tiers")):
        if Redemption.objects.filter(reward=reward).exists():
            raise ValidationError(_("Members have redeemed this reward, so it cannot be deleted; "
                                    "deactivate it instead."))
        reward.allowed_tiers.clear()
        reward.delete()


@transaction.atomic
def reward_redeem(*, member: Member, reward: Reward, actor: User | None, by_member: bool = False,
                  at: datetime | None = None) -> Redemption:
    """Spend a member's points on a reward, soonest-expiring points first. Refused, with nothing
    moved, when the reward is inactive, not for the member's tier, at its per-member limit, out of
    stock, or costs more than the member's available points. A coupon reward issues the coupon.
    A member redeeming online (`by_member`, no staff actor) is recorded as the portal and can
    take only coupon rewards."""
    at = at or timezone.now()
    if not member.is_active:
        raise ValidationError(_("Only an active member can redeem rewards."))
    account = account_for(member, lock=True)
    reward = Reward.objects.select_related("coupon_template").get(pk=reward.pk)
    used = Redemption.objects.filter(member=member, reward=reward, status=Redemption.Status.COMPLETED).count()
    refusal = reward_refusal(reward=reward, tier=member_current_tier(member),
                             allowed_tier_ids={tier.pk for tier in reward.allowed_tiers.all()},
                             used=used, available=available_balance(account, at=at), by_member=by_member)
    if refusal:
        raise ValidationError(refusal, code="reward_refused")
    if reward.stock is not None and not Reward.objects.filter(pk=reward.pk, stock__gt=0).update(
            stock=F("stock") - 1):
        raise ValidationError(_("This reward is out of stock."), code="out_of_stock")
    entry = ledger_debit(account=account, amount=reward.points_cost, kind=Entry.Kind.REDEEM,
                         source=Source("reward", reward.pk), actor=actor, reason=reward.name, at=at)
    coupon = None
    if reward.kind == Reward.Kind.COUPON:
        coupon = coupon_issue(member=member, template=reward.coupon_template, source=Coupon.Source.REWARD,
                              actor=actor, at=at)
    return Redemption.objects.create(member=member, reward=reward, points=reward.points_cost, entry=entry,
                                     coupon=coupon, actor=actor,
                                     channel=Redemption.Channel.PORTAL if by_member else Redemption.Channel.STAFF)


@transaction.atomic
def redemption_cancel(*, redemption: Redemption, actor: User, reason: str) -> Redemption:
    """Undo a redemption: the points go back into the lots they came from (or, for lots that have
    expired since, into a new lot), the stock goes back, an unused coupon is cancelled. A
    redemption whose coupon has been used cannot be cancelled."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the redemption is cancelled.")})
    now = timezone.now()
    holder = Member.objects.get(redemptions__pk=redemption.pk)  # as it is now: a merge moves redemptions
    account = account_for(holder, lock=True)
    redemption = (Redemption.objects.select_for_update(of=("self",))
                  .select_related("reward", "entry", "coupon").get(pk=redemption.pk))
    if redemption.status != Redemption.Status.COMPLETED:
        raise ValidationError(_("This redemption has already been cancelled."))
    coupon = redemption.coupon
    if coupon is not None and coupon.status == Coupon.Status.REDEEMED:
        raise ValidationError(_("The coupon from this redemption has been used, so it cannot be cancelled."))
    if coupon is not None and coupon.status == Coupon.Status.ISSUED:
        coupon_void(coupon=coupon, actor=actor, reason=reason, at=now)
    ledger_restore(account=account, debit=redemption.entry, amount=redemption.points,
                   source=Source("redemption", redemption.pk), actor=actor,
                   reason=_("Redemption cancelled: %(reason)s") % {"reason": reason.strip()}, at=now,
                   fresh_expiry=lot_expiry(now, loyalty_settings()))
    if redemption.reward.stock is not None:
        Reward.objects.filter(pk=redemption.reward_id).update(stock=F("stock") + 1)
    redemption.status = Redemption.Status.CANCELLED
    redemption.cancelled_at, redemption.cancelled_by = now, actor
    redemption.cancel_reason = reason.strip()[:255]
    redemption.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
    return redemption
