"""The front desk's checkout pages: the bill and its live quote, the receipt and the refund. The
checkout service does the sums (the quote, the rest to pay); these views only adapt the forms."""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views import View

from appointments.models import Booking
from appointments.selectors import booking_checkout_prefill
from appointments.services import booking_checkout
from checkout.services import LineInput, PaymentInput, checkout_complete, checkout_quote, visit_refund
from clinic_loyalty.database import statements_prepared
from frontdesk.base_views import StaffPermissionRequired, _after, _member, form_submitted
from frontdesk.forms import CheckoutForm, LineFormSet, PaymentFormSet, RefundForm
from frontdesk.selectors import quote_points_lines, visit_for_refund, visit_receipt
from idempotency.forms import submit_once
from members.models import Member
from packages.selectors import member_package_options, visit_package_notes
from points.selectors import points_balance
from recommendations.selectors import member_recommendations
from storedvalue.selectors import card_balance
from visits.models import Visit
from visits.selectors import catalogue_list

LINE_FORMS = 10


def _added_items(request) -> list[int]:
    """Items put on the bill by the link of a suggestion (`?add=<item id>`, repeatable)."""
    return [int(raw) for raw in request.GET.getlist("add")[:LINE_FORMS] if raw.isdigit()]


def _checkout_forms(request, member: Member, prefill: dict | None = None, added: list[int] = ()):
    items = list(catalogue_list())
    choices = [(item.pk, f"{item.name} · ¥{item.price}") for item in items]
    data = request.POST if request.method == "POST" else None
    line_initial = payment_initial = None
    if data is None and prefill and prefill["open"]:
        line_initial = [{"item": line["item_id"], "quantity": line["quantity"]} for line in prefill["lines"]]
        if prefill["deposit"]:
            payment_initial = [{"method": prefill["deposit"]["method"], "amount": prefill["deposit"]["amount"]}]
    if data is None and added:
        known = {item.pk for item in items}
        line_initial = (line_initial or []) + [{"item": pk, "quantity": 1} for pk in added if pk in known]
    form = CheckoutForm(data)
    package_choices = [(option.product_id, _("%(name)s (%(left)s left)") % {"name": option.name, "left": option.left})
                       for option in member_package_options(member)]
    lines = LineFormSet(data, prefix="lines", initial=line_initial,
                        form_kwargs={"item_choices": choices, "package_choices": package_choices})
    lines.package_choices = package_choices
    payments = PaymentFormSet(data, prefix="payments", initial=payment_initial)
    return form, lines, payments, items


def _checkout_booking(request, member: Member) -> Booking | None:
    """The appointment this checkout is for (`?booking=`, then the form's hidden `booking`),
    which must be the member's."""
    raw = request.POST.get("booking") if request.method == "POST" else request.GET.get("booking")
    if not raw:
        return None
    try:
        return Booking.objects.select_related("treatment", "practitioner").get(pk=int(raw), member=member)
    except (Booking.DoesNotExist, ValueError):
        raise Http404 from None


def _line_inputs(lines) -> list[LineInput]:
    return [LineInput(item_id=row["item"], quantity=row.get("quantity") or 1,
                      discount=row.get("discount") or Decimal("0.00"), package_id=row.get("package"))
            for row in lines.cleaned_data if row.get("item")]


class CheckoutView(StaffPermissionRequired, View):
    template = "frontdesk/checkout.html"

    def _render(self, request, member, form, lines, payments, items, *, booking=None, prefill=None, quote=None,
                status=200):
        context = {"member": member, "form": form, "lines": lines, "payments": payments, "items": items,
                   "quote": quote, "balance": points_balance(member), "card": card_balance(member),
                   "booking": booking, "prefill": prefill, "suggestions": member_recommendations(member=member)}
        return render(request, self.template, context, status=status)

    def get(self, request, pk: int):
        member = _member(pk)
        booking = _checkout_booking(request, member)
        prefill = booking_checkout_prefill(booking) if booking else None
        return self._render(request, member, *_checkout_forms(request, member, prefill, _added_items(request)),
                            booking=booking, prefill=prefill)

    def post(self, request, pk: int):
        member = _member(pk)
        booking = _checkout_booking(request, member)
        prefill = booking_checkout_prefill(booking) if booking else None
        form, lines, payments, items = _checkout_forms(request, member)
        if form.is_valid() and lines.is_valid() and payments.is_valid():
            data = form.cleaned_data
            bill = {"member": member, "lines": _line_inputs(lines), "actor": request.user,
                    "coupon_code": data["coupon_code"], "points_to_use": data["points_to_use"]}

            @statements_prepared()
            def complete() -> str:
                # A payment without an amount pays the rest: checkout works it out from the total it charges.
                paid = [PaymentInput(method=row["method"], amount=row.get("amount"))
                        for row in payments.cleaned_data if row.get("method")
                        and (row.get("amount") or row.get("amount") is None)]
                if booking is not None:
                    result = booking_checkout(booking=booking, actor=request.user, payments=paid,
                                              lines=bill["lines"], coupon_code=bill["coupon_code"],
                                              points_to_use=bill["points_to_use"])
                else:
                    result = checkout_complete(payments=paid, **bill)
                query = {"tier_change": result.tier_change.pk} if result.tier_change else {}
                url = reverse("frontdesk:receipt", args=[result.visit.pk])
                return f"{url}?{urlencode(query)}" if query else url

            try:
                return _after(request, submit_once(request, complete))
            except ValidationError as exc:
                _checkout_errors(form, lines, payments, exc)
        return self._render(request, member, form, lines, payments, items, booking=booking, prefill=prefill,
                            status=400)


def _checkout_errors(form, lines, payments, exc: ValidationError) -> None:
    """Service errors next to their part of the form: lines and payments above their tables."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            if name == "lines":
                lines.service_errors = errors
            elif name == "payments":
                payments.service_errors = errors
            else:
                form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class CheckoutQuoteView(StaffPermissionRequired, View):
    """The totals panel of the checkout page, recomputed by HTMX as the bill changes."""

    def post(self, request, pk: int):
        member = _member(pk)
        form, lines, _payments, _items = _checkout_forms(request, member)
        quote, problems = None, []
        if form.is_valid() and lines.is_valid():
            line_inputs = _line_inputs(lines)
            if line_inputs:
                try:
                    quote = checkout_quote(member=member, lines=line_inputs, actor=request.user,
                                           coupon_code=form.cleaned_data["coupon_code"],
                                           points_to_use=form.cleaned_data["points_to_use"])
                except ValidationError as exc:
                    problems = exc.messages
        else:
            problems = [error for errors in form.errors.values() for error in errors]
        return render(request, "frontdesk/_checkout_totals.html", {
            "quote": quote, "problems": problems, "points_lines": quote_points_lines(quote) if quote else ()})


class ReceiptView(StaffPermissionRequired, View):
    def get(self, request, pk: int):
        try:
            change_id = int(request.GET["tier_change"]) if "tier_change" in request.GET else None
        except ValueError:
            change_id = None
        try:
            receipt = visit_receipt(visit_id=pk, tier_change_id=change_id)
        except Visit.DoesNotExist:
            raise Http404 from None
        return render(request, "frontdesk/receipt.html", {"receipt": receipt, "visit": receipt.visit,
                                                          "balance": points_balance(receipt.visit.member),
                                                          "package_notes": visit_package_notes(receipt.visit)})


class RefundView(StaffPermissionRequired, View):
    template = "frontdesk/refund.html"

    def _visit(self, pk: int) -> Visit:
        try:
            return visit_for_refund(visit_id=pk)
        except Visit.DoesNotExist:
            raise Http404 from None

    def get(self, request, pk: int):
        visit = self._visit(pk)
        return render(request, self.template, {"visit": visit, "form": RefundForm(lines=visit.lines.all())})

    def post(self, request, pk: int):
        visit = self._visit(pk)
        form = RefundForm(request.POST, lines=visit.lines.all())
        if form.is_valid():
            def refund() -> str:
                done = visit_refund(visit=visit, lines=form.refund_lines(), reason=form.cleaned_data["reason"],
                                    actor=request.user)
                messages.success(request, _("Refunded ¥%(amount)s.") % {"amount": done.amount})
                return reverse("frontdesk:member_detail", args=[visit.member_id])

            if response := form_submitted(request, form, refund, field_names={"lines": None}):
                return response
        return render(request, self.template, {"visit": visit, "form": form}, status=400)
