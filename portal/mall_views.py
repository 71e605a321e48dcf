"""The points mall: the rewards a member can redeem online, a confirmation page, and the
redemption itself through the same service the front desk uses (`reward_redeem`, as the member,
once per form key)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clinics.context import current_clinic
from idempotency.forms import FIELD_NAME, idempotency_key_new, submit_once
from points.rewards import reward_redeem
from points.selectors import coupon_conditions, points_balance, reward_list, reward_offers
from portal.auth import member_required


def member_form_scope(request) -> str:
    """The double-submit guard's scope for a member's portal forms."""
    return f"form:member:{request.member.pk}"


@member_required
def mall(request):
    offers = reward_offers(member=request.member, rewards=reward_list(), by_member=True)
    return render(request, "portal/mall.html", {
        "offers": offers, "balance": points_balance(request.member)})


def _offer(request, pk: int):
    found = reward_offers(member=request.member, by_member=True,
                          rewards=reward_list().filter(pk=pk).prefetch_related("coupon_template__categories"))
    if not found:
        raise Http404
    return found[0]


@member_required
@require_http_methods(["GET", "POST"])
def mall_confirm(request, pk: int):
    offer = _offer(request, pk)
    error, status = "", 200
    if request.method == "POST":
        def perform() -> str:
            redemption = reward_redeem(member=request.member, reward=offer.reward, actor=None, by_member=True)
            return reverse("portal:wallet_coupon", args=[redemption.coupon_id])
        try:
            submission = submit_once(request, perform, scope=member_form_scope(request))
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 400
            offer = _offer(request, pk)
        else:
            if submission.replayed:
                messages.info(request, _("This reward had already been redeemed; it was redeemed once."))
            else:
                messages.success(request, _("Redeemed. Your coupon is in your wallet."))
            return redirect(submission.location)
    balance = points_balance(request.member)
    template = offer.reward.coupon_template
    currency = current_clinic().currency
    return render(request, "portal/mall_confirm.html", {
        "offer": offer, "balance": balance, "after": balance.available - offer.reward.points_cost,
        "conditions": coupon_conditions(template, currency=currency) if template else [],
        "error": error, "key_name": FIELD_NAME, "key": idempotency_key_new()}, status=status)
