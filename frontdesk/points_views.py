"""The front desk's points pages: rewards, manual adjustments and the managers' approval queue."""


from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from frontdesk.base_views import StaffPermissionRequired, _after, _member, form_submitted
from frontdesk.forms import AdjustmentForm, DecisionForm, RedeemForm
from idempotency.forms import idempotency_key_new, submit_once
from points.adjustments import points_adjust, points_adjustment_approve, points_adjustment_reject
from points.models import PointsAdjustment, Reward
from points.rewards import reward_redeem
from points.selectors import adjustment_list, points_balance, reward_list, reward_offers


class RewardsView(StaffPermissionRequired, View):
    template = "frontdesk/rewards.html"

    def _render(self, request, member, *, error: str | None = None, status: int = 200):
        rows = [(offer, idempotency_key_new()) for offer in reward_offers(member=member, rewards=reward_list())]
        return render(request, self.template, {"member": member, "rows": rows, "error": error,
                                               "balance": points_balance(member)}, status=status)

    def get(self, request, pk: int):
        return self._render(request, _member(pk))

    def post(self, request, pk: int):
        member = _member(pk)
        form = RedeemForm(request.POST)
        if not form.is_valid():
            return self._render(request, member, error=_("Choose a reward."), status=400)
        reward = Reward.objects.filter(pk=form.cleaned_data["reward"]).first()
        if reward is None:
            return self._render(request, member, error=_("This reward does not exist."), status=400)

        def redeem() -> str:
            redemption = reward_redeem(member=member, reward=reward, actor=request.user)
            text = _("Redeemed “%(reward)s” for %(points)s points.") % {"reward": reward.name,
                                                                         "points": redemption.points}
            if redemption.coupon is not None:
                text += " " + _("Coupon code: %(code)s.") % {"code": redemption.coupon.code}
            messages.success(request, text)
            return reverse("frontdesk:member_detail", args=[member.pk])

        try:
            return _after(request, submit_once(request, redeem))
        except ValidationError as exc:
            return self._render(request, member, error=" ".join(exc.messages), status=400)


class AdjustmentView(StaffPermissionRequired, View):
    permission_required = "points.adjust_points"
    template = "frontdesk/adjust.html"

    def get(self, request, pk: int):
        member = _member(pk)
        return render(request, self.template, {"member": member, "form": AdjustmentForm(),
                                               "balance": points_balance(member)})

    def post(self, request, pk: int):
        member = _member(pk)
        form = AdjustmentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data

            def adjust() -> str:
                adjustment = points_adjust(member=member, amount=data["amount"], reason_code=data["reason_code"],
                                           note=data["note"], actor=request.user)
                if adjustment.status == PointsAdjustment.Status.PENDING:
                    messages.info(request, _("The adjustment waits for a manager's approval."))
                else:
                    messages.success(request, _("Points adjusted."))
                return reverse("frontdesk:member_detail", args=[member.pk])

            if response := form_submitted(request, form, adjust):
                return response
        return render(request, self.template, {"member": member, "form": form,
                                               "balance": points_balance(member)}, status=400)


class ApprovalQueueView(StaffPermissionRequired, View):
    """Managers decide on the adjustments that wait for approval."""

    permission_required = "points.approve_adjustment"
    template = "frontdesk/approvals.html"

    def _render(self, request, *, errors: dict | None = None, status: int = 200):
        pending = adjustment_list(status=PointsAdjustment.Status.PENDING).order_by("requested_at", "id")
        rows = [(adjustment, idempotency_key_new()) for adjustment in pending]
        return render(request, self.template, {"rows": rows, "errors": errors or {}}, status=status)

    def get(self, request, pk: int | None = None):
        return self._render(request)

    def post(self, request, pk: int | None = None):
        if pk is None:
            raise Http404
        adjustment = get_object_or_404(PointsAdjustment, pk=pk)
        form = DecisionForm(request.POST)
        if not form.is_valid():
            return self._render(request, errors={pk: _("Choose approve or reject.")}, status=400)
        data = form.cleaned_data

        def decide() -> str:
            if data["decision"] == "approve":
                points_adjustment_approve(adjustment=adjustment, actor=request.user, note=data["note"])
                messages.success(request, _("Adjustment approved and applied."))
            else:
                points_adjustment_reject(adjustment=adjustment, actor=request.user, note=data["note"])
                messages.success(request, _("Adjustment rejected."))
            return reverse("frontdesk:approvals")

        try:
            return _after(request, submit_once(request, decide))
        except (ValidationError, PermissionDenied) as exc:
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            return self._render(request, errors={pk: message}, status=400)
