"""Stored-value pages: a member's card with the top-up form, the top-up receipt, the cash-out
(calculation first, then a manager confirms), the plans and rules (managers), and the prepaid
liability report."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from clinic_loyalty.form_errors import apply_validation_error
from frontdesk.base_views import StaffPermissionRequired
from idempotency.forms import submit_once
from members.models import Member
from points.rules import local_date
from storedvalue.forms import CashOutForm, LiabilityForm, PlanForm, SettingsForm, TopUpForm
from storedvalue.models import TopUp, TopUpPlan
from storedvalue.rules import stored_value_settings
from storedvalue.selectors import card_balance, card_statement, cash_outs_of, liability_report, top_up_plans
from storedvalue.services import (
    cash_out_quote,
    stored_value_cash_out,
    stored_value_settings_update,
    stored_value_top_up,
    top_up_plan_create,
    top_up_plan_update,
)


def _after(request, submission, success: str):
    if submission.replayed:
        messages.info(request, _("This form had already been sent; nothing was done twice."))
    else:
        messages.success(request, success)
    return redirect(submission.location)


class CardView(StaffPermissionRequired, View):
    """The member's card: balances, bonus expiry, movements, and the top-up form."""

    template = "storedvalue/card.html"

    def _render(self, request, member: Member, form: TopUpForm, status: int = 200):
        return render(request, self.template, {
            "member": member, "form": form, "card": card_balance(member), "statement": card_statement(member),
            "plans": top_up_plans(), "cash_outs": cash_outs_of(member)}, status=status)

    def get(self, request, pk: int):
        return self._render(request, get_object_or_404(Member, pk=pk), TopUpForm())

    def post(self, request, pk: int):
        member = get_object_or_404(Member, pk=pk)
        form = TopUpForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data

            def top_up() -> str:
                done = stored_value_top_up(member=member, actor=request.user, plan=data["plan"],
                                           paid=None if data["plan"] else data["paid"], method=data["method"],
                                           reference=data["reference"])
                return reverse("storedvalue:receipt", args=[done.pk])

            try:
                return _after(request, submit_once(request, top_up), _("Topped up."))
            except ValidationError as exc:
                apply_validation_error(form, exc)
        return self._render(request, member, form, status=400)


class ReceiptView(StaffPermissionRequired, View):
    def get(self, request, pk: int):
        top_up = get_object_or_404(TopUp.objects.select_related("member", "plan", "actor"), pk=pk)
        return render(request, "storedvalue/receipt.html", {"top_up": top_up, "card": card_balance(top_up.member)})


class CashOutView(StaffPermissionRequired, View):
    """The calculation, then the manager's confirmation with the reason and how the money goes back."""

    permission_required = "storedvalue.cash_out_card"
    template = "storedvalue/cash_out.html"

    def _render(self, request, member, form, status=200):
        quote = cash_out_quote(member)
        if not form.is_bound:
            form.initial["expected_refund"] = quote.refund
        return render(request, self.template, {"member": member, "quote": quote, "form": form}, status=status)

    def get(self, request, pk: int):
        return self._render(request, get_object_or_404(Member, pk=pk), CashOutForm())

    def post(self, request, pk: int):
        member = get_object_or_404(Member, pk=pk)
        form = CashOutForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data

            def cash_out() -> str:
                stored_value_cash_out(member=member, actor=request.user, reason=data["reason"],
                                      method=data["method"], reference=data["reference"],
                                      expected_refund=data["expected_refund"])
                return reverse("storedvalue:card", args=[member.pk])

            try:
                return _after(request, submit_once(request, cash_out), _("The card is cashed out."))
            except ValidationError as exc:
                # Show the figures as they are now, to be confirmed again.
                form = CashOutForm(data={**request.POST.dict(), "expected_refund": cash_out_quote(member).refund})
                form.is_valid()
                apply_validation_error(form, exc)
        return self._render(request, member, form, status=400)


class PlansView(StaffPermissionRequired, View):
    """Managers: the top-up plans (add one, stop or restart offering one) and the card rules."""

    permission_required = "accounts.manage_settings"
    template = "storedvalue/plans.html"

    def _render(self, request, plan_form, settings_form, status=200):
        return render(request, self.template, {"plans": top_up_plans(active_only=False), "plan_form": plan_form,
                                               "settings_form": settings_form}, status=status)

    def get(self, request):
        return self._render(request, PlanForm(), SettingsForm(instance=stored_value_settings()))

    def post(self, request):
        plan_form, settings_form = PlanForm(), SettingsForm(instance=stored_value_settings())
        try:
            if "toggle" in request.POST:
                plan = get_object_or_404(TopUpPlan, pk=request.POST.get("toggle"))
                top_up_plan_update(plan=plan, actor=request.user, active=not plan.active)
                return redirect("storedvalue:plans")
            if "settings" in request.POST:
                settings_form = SettingsForm(request.POST, instance=stored_value_settings())
                if settings_form.is_valid():
                    stored_value_settings_update(actor=request.user, **{
                        name: settings_form.cleaned_data[name] for name in SettingsForm.Meta.fields})
                    messages.success(request, _("Settings saved."))
                    return redirect("storedvalue:plans")
            else:
                plan_form = PlanForm(request.POST)
                if plan_form.is_valid():
                    top_up_plan_create(actor=request.user, **plan_form.cleaned_data)
                    messages.success(request, _("Plan added."))
                    return redirect("storedvalue:plans")
        except ValidationError as exc:
            apply_validation_error(settings_form if "settings" in request.POST else plan_form, exc)
        return self._render(request, plan_form, settings_form, status=400)


class LiabilityView(StaffPermissionRequired, View):
    permission_required = "accounts.view_reports"

    def get(self, request):
        form = LiabilityForm(request.GET or None)
        today = local_date(timezone.now())
        as_of, since, status = today, None, 200
        if form.is_bound and form.is_valid():
            as_of = form.cleaned_data["as_of"] or today
            since = form.cleaned_data["since"]
            if as_of > today:
                form.add_error("as_of", _("The report cannot be for a day in the future."))
            elif since and since > as_of:
                form.add_error("since", _("The first day must be on or before the report's day."))
        if form.is_bound and form.errors:
            as_of, since, status = today, None, 400
        return render(request, "storedvalue/liability.html",
                      {"form": form, "report": liability_report(as_of=as_of, since=since)}, status=status)
