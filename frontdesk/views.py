"""The front desk's pages. Each view checks the role, validates the form, calls one service or
selector and renders; value-moving forms go through `submit_once` so a double click moves
nothing twice."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from appointments.models import Booking
from appointments.selectors import booking_checkout_prefill
from appointments.services import booking_checkout
from campaigns.selectors import member_campaign_offers
from checkout.services import LineInput, PaymentInput, checkout_complete, checkout_quote, visit_refund
from clinic_loyalty.form_errors import apply_validation_error
from clinics.context import current_clinic
from feedback.selectors import followup_list, member_answers
from frontdesk.forms import (
    REGISTRATION_CONSENTS,
    AdjustmentForm,
    ArchiveForm,
    CheckoutForm,
    ConfirmForm,
    ConsentForm,
    DecisionForm,
    LineFormSet,
    MedicalProfileForm,
    MemberEditForm,
    MemberRegisterForm,
    PaymentFormSet,
    RedeemForm,
    RefundForm,
)
from frontdesk.selectors import member_figures, member_overview, today_overview, visit_for_refund, visit_receipt
from idempotency.forms import idempotency_key_new, submit_once
from jobs.models import JobRun
from jobs.selectors import job_run_list
from members.models import NOTICE_PURPOSES, ConsentRecord, Member
from members.naming import phone_normalize
from members.selectors import (
    medical_profile_read,
    member_merge_candidates,
    member_search,
    member_with_phone,
    members_with_allergy_flag,
)
from members.services import (
    ConsentInput,
    DuplicateMemberError,
    consent_record,
    medical_profile_update,
    member_archive,
    member_merge,
    member_register,
    member_restore,
    member_update,
)
from messaging.selectors import message_list
from packages.selectors import member_package_options, member_packages, visit_package_notes
from packages.services import REFUND_PERMISSION as PACKAGE_REFUND_PERMISSION
from points.adjustments import points_adjust, points_adjustment_approve, points_adjustment_reject
from points.models import PointsAdjustment, Reward
from points.rewards import reward_redeem
from points.rules import clinic_zone
from points.selectors import adjustment_list, points_balance, reward_list, reward_offers
from recommendations.selectors import member_recommendations
from storedvalue.selectors import card_balance
from visits.models import Visit
from visits.selectors import catalogue_list

SEARCH_LIMIT = 20


class StaffPermissionRequired(LoginRequiredMixin, PermissionRequiredMixin):
    """Anonymous visitors go to the login page; staff without the permission get a 403."""

    permission_required = "accounts.use_frontdesk"

    def handle_no_permission(self):
        if self.request.user.is_authenticated:
            raise PermissionDenied
        return super().handle_no_permission()


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _member(pk: int) -> Member:
    return get_object_or_404(Member, pk=pk)


def _after(request, submission, success: str | None = None):
    if submission.replayed:
        messages.info(request, _("This form had already been sent; nothing was done twice."))
    elif success:
        messages.success(request, success)
    return redirect(submission.location)


class HomeView(StaffPermissionRequired, TemplateView):
    """Today: birthdays, points about to expire and, for managers, adjustments to decide."""

    template_name = "frontdesk/home.html"

    def get_context_data(self, **kwargs):
        today = today_overview(user=self.request.user)
        appointments = [(booking, idempotency_key_new()) for booking in today.appointments]
        return {**super().get_context_data(**kwargs), "today": today, "appointment_rows": appointments,
                "tz": clinic_zone()}


class MemberSearchView(StaffPermissionRequired, View):
    """Type-ahead search. HTMX asks for the results list only; Enter (a plain GET) opens the
    member at once when exactly one matches."""

    def get(self, request):
        query = request.GET.get("q", "").strip()[:100]
        results = member_search(query=query, limit=SEARCH_LIMIT) if query else []
        context = {"query": query, "results": results}
        if _is_htmx(request):
            return render(request, "frontdesk/_search_results.html", context)
        if request.GET.get("go") and len(results) == 1:
            return redirect("frontdesk:member_detail", pk=results[0].pk)
        return render(request, "frontdesk/member_search.html", context)


class PhoneCheckView(StaffPermissionRequired, View):
    """While registering: does this phone belong to a member already?"""

    def get(self, request):
        existing = None
        try:
            phone = phone_normalize(request.GET.get("phone", ""))
        except ValidationError:
            phone = None
        if phone:
            existing = member_with_phone(phone, exclude_pk=_int_or_none(request.GET.get("member")))
        return render(request, "frontdesk/_phone_check.html", {"existing": existing})


def _int_or_none(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


class MemberRegisterView(StaffPermissionRequired, View):
    template = "frontdesk/member_register.html"

    def get(self, request):
        return render(request, self.template, {"form": MemberRegisterForm()})

    def post(self, request):
        form = MemberRegisterForm(request.POST)
        existing = None
        if form.is_valid():
            data = form.cleaned_data

            def register() -> str:
                member = member_register(
                    name=data["name"], phone=data["phone"], actor=request.user, gender=data["gender"],
                    birthday=data["birthday"], celebrates_lunar_birthday=data["celebrates_lunar_birthday"],
                    email=data["email"], source=data["source"], referral_code=data["referral_code"],
                    tags=data["tags"].split(","), notes=data["notes"],
                    consents=[ConsentInput(purpose=purpose, granted=data[f"consent_{purpose}"])
                              for purpose, _label in REGISTRATION_CONSENTS])
                return reverse("frontdesk:member_detail", args=[member.pk])

            try:
                submission = submit_once(request, register)
            except DuplicateMemberError as exc:
                existing = exc.existing
                apply_validation_error(form, exc)
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                return _after(request, submission, _("Member registered."))
        return render(request, self.template, {"form": form, "existing": existing}, status=400)


def _member_page(request, pk: int, *, page_error: str | None = None, consent_error: str | None = None,
                 status: int = 200):
    member = get_object_or_404(members_with_allergy_flag(Member.objects.select_related("referred_by")), pk=pk)
    overview = member_overview(member=member)
    groups = [(_("Upcoming"), overview.upcoming_appointments, "upcoming"),
              (_("Past"), overview.past_appointments, "past")]
    consents = [(purpose, label, overview.consents[purpose], idempotency_key_new())
                for purpose, label in ConsentRecord.Purpose.choices]
    return render(request, "frontdesk/member_detail.html",
                  {"o": overview, "appointment_groups": groups, "consent_rows": consents, "tz": clinic_zone(),
                   "notice_purposes": NOTICE_PURPOSES,
                   "survey_answers": member_answers(member=member, limit=5),
                   "followups": followup_list(member_id=member.pk)[:10],
                   "tag_history": member.tag_events.select_related("actor")[:10],
                   "suggestions": member_recommendations(member=member),
                   "campaign_offers": member_campaign_offers(member=member),
                   "page_error": page_error, "consent_error": consent_error,
                   "restore_form": ConfirmForm(), "card": card_balance(member), "packages": member_packages(member),
                   "can_refund_packages": request.user.has_perm(PACKAGE_REFUND_PERMISSION)}, status=status)


def _refusal(exc: ValidationError | PermissionDenied) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


class MemberDetailView(StaffPermissionRequired, View):
    def get(self, request, pk: int):
        return _member_page(request, pk)


class MemberEditView(StaffPermissionRequired, View):
    """The profile: name, phone, gender, birthday, email, interests, source and notes, through
    `member_update`, which refuses a phone another member has and members no longer active."""

    template = "frontdesk/member_edit.html"

    def get(self, request, pk: int):
        member = _member(pk)
        return render(request, self.template, {"member": member, "form": MemberEditForm(member=member)})

    def post(self, request, pk: int):
        member = _member(pk)
        form = MemberEditForm(request.POST, member=member)
        existing = None
        if form.is_valid():
            def update() -> str:
                member_update(member=member, actor=request.user, **form.changes())
                return reverse("frontdesk:member_detail", args=[member.pk])

            try:
                return _after(request, submit_once(request, update), _("Profile saved."))
            except DuplicateMemberError as exc:
                existing = exc.existing
                apply_validation_error(form, exc)
            except ValidationError as exc:
                apply_validation_error(form, exc)
            member.refresh_from_db()
        return render(request, self.template, {"member": member, "form": form, "existing": existing}, status=400)


class ConsentRecordView(StaffPermissionRequired, View):
    """A grant or a withdrawal for one purpose, appended to the member's consent history with
    the front desk as channel."""

    def post(self, request, pk: int):
        member = _member(pk)
        form = ConsentForm(request.POST)
        if not form.is_valid():
            return _member_page(request, pk, consent_error=_("Choose a purpose and whether it is granted."),
                                status=400)
        data = form.cleaned_data

        def record() -> str:
            consent_record(member=member, purpose=data["purpose"], granted=data["granted"],
                           channel=ConsentRecord.Channel.FRONT_DESK, actor=request.user)
            return reverse("frontdesk:member_detail", args=[member.pk]) + "#member-consents"

        label = ConsentRecord.Purpose(data["purpose"]).label
        text = (_("Consent recorded: %(purpose)s granted.") if data["granted"]
                else _("Consent recorded: %(purpose)s withdrawn.")) % {"purpose": label}
        try:
            return _after(request, submit_once(request, record), text)
        except ValidationError as exc:
            return _member_page(request, pk, consent_error=_refusal(exc), status=400)


class MemberMessagesView(StaffPermissionRequired, View):
    """The messages to one member (sent, failed, skipped and why), with their text, newest
    first. The whole clinic's log is a settings page."""

    PAGE_SIZE = 50

    def get(self, request, pk: int):
        member = _member(pk)
        page = Paginator(message_list(member=member), self.PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "frontdesk/member_messages.html", {"member": member, "page": page,
                                                                  "tz": clinic_zone()})


class MedicalDetailsView(StaffPermissionRequired, View):
    """Allergies and medical notes, for practitioners and managers; every read is logged."""

    permission_required = "accounts.view_medical"

    def get(self, request, pk: int):
        member = _member(pk)
        profile = medical_profile_read(member=member, actor=request.user)
        return render(request, "frontdesk/_medical.html", {"profile": profile, "member": member})


class MedicalEditView(StaffPermissionRequired, View):
    """Allergies, contraindications and medical notes, for practitioners and managers. Opening
    the form reads the profile (logged as a read); saving is logged as an update."""

    permission_required = "accounts.view_medical"
    template = "frontdesk/medical_edit.html"

    def get(self, request, pk: int):
        member = _member(pk)
        profile = medical_profile_read(member=member, actor=request.user)
        initial = {} if profile is None else {"allergies": profile.allergies,
                                              "contraindications": profile.contraindications,
                                              "medical_notes": profile.medical_notes}
        return render(request, self.template, {"member": member, "form": MedicalProfileForm(initial=initial)})

    def post(self, request, pk: int):
        member = _member(pk)
        form = MedicalProfileForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data

            def update() -> str:
                medical_profile_update(member=member, actor=request.user, allergies=data["allergies"],
                                       contraindications=data["contraindications"],
                                       medical_notes=data["medical_notes"])
                return reverse("frontdesk:member_detail", args=[member.pk])

            try:
                return _after(request, submit_once(request, update), _("Medical details saved."))
            except (ValidationError, PermissionDenied) as exc:
                form.add_error(None, _refusal(exc))
        return render(request, self.template, {"member": member, "form": form}, status=400)


class ManageMemberRequired(StaffPermissionRequired):
    permission_required = "members.manage_member"


class MemberArchiveView(ManageMemberRequired, View):
    template = "frontdesk/member_archive.html"

    def get(self, request, pk: int):
        return render(request, self.template, {"member": _member(pk), "form": ArchiveForm()})

    def post(self, request, pk: int):
        member = _member(pk)
        form = ArchiveForm(request.POST)
        if form.is_valid():
            def archive() -> str:
                member_archive(member=member, actor=request.user, reason=form.cleaned_data["reason"].strip())
                return reverse("frontdesk:member_detail", args=[member.pk])

            try:
                return _after(request, submit_once(request, archive), _("Member archived."))
            except ValidationError as exc:
                apply_validation_error(form, exc)
        return render(request, self.template, {"member": member, "form": form}, status=400)


class MemberRestoreView(ManageMemberRequired, View):
    def post(self, request, pk: int):
        member = _member(pk)

        def restore() -> str:
            member_restore(member=member, actor=request.user)
            return reverse("frontdesk:member_detail", args=[member.pk])

        try:
            return _after(request, submit_once(request, restore), _("Member restored."))
        except ValidationError as exc:
            return _member_page(request, pk, page_error=_refusal(exc), status=400)


class MemberMergeSearchView(ManageMemberRequired, View):
    """Find the duplicate registration to fold into this member."""

    def get(self, request, pk: int):
        survivor = _member(pk)
        query = request.GET.get("q", "").strip()[:100]
        results = member_merge_candidates(survivor=survivor, query=query, limit=SEARCH_LIMIT) if query else []
        return render(request, "frontdesk/member_merge_search.html",
                      {"survivor": survivor, "query": query, "results": results})


class MemberMergeView(ManageMemberRequired, View):
    """Both members' key figures side by side, then `member_merge`; the survivor's page next."""

    template = "frontdesk/member_merge_confirm.html"

    def _render(self, request, survivor: Member, duplicate: Member, *, form=None, status: int = 200):
        return render(request, self.template, {
            "survivor": member_figures(member=survivor), "duplicate": member_figures(member=duplicate),
            "form": form or ConfirmForm()}, status=status)

    def get(self, request, pk: int, duplicate_pk: int):
        return self._render(request, _member(pk), _member(duplicate_pk))

    def post(self, request, pk: int, duplicate_pk: int):
        survivor, duplicate = _member(pk), _member(duplicate_pk)
        form = ConfirmForm(request.POST)

        def merge() -> str:
            member_merge(survivor=survivor, duplicate=duplicate, actor=request.user)
            return reverse("frontdesk:member_detail", args=[survivor.pk])

        text = _("%(duplicate)s (%(number)s) was merged into this member.") % {
            "duplicate": duplicate.name, "number": duplicate.member_number}
        try:
            return _after(request, submit_once(request, merge), text)
        except ValidationError as exc:
            form.add_error(None, _refusal(exc))
        return self._render(request, survivor, duplicate, form=form, status=400)


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
        return render(request, "frontdesk/_checkout_totals.html", {"quote": quote, "problems": problems})


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

            try:
                return _after(request, submit_once(request, refund))
            except ValidationError as exc:
                apply_validation_error(form, exc, {"lines": None})
        return render(request, self.template, {"visit": visit, "form": form}, status=400)


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

            try:
                return _after(request, submit_once(request, adjust))
            except ValidationError as exc:
                apply_validation_error(form, exc)
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


class JobRunListView(StaffPermissionRequired, View):
    """The latest runs of this clinic's background jobs."""

    permission_required = "accounts.manage_settings"
    LIMIT = 100

    def get(self, request):
        status = request.GET.get("status")
        if status not in JobRun.Status.values:
            status = None
        runs = job_run_list(clinic=current_clinic(), status=status)[:self.LIMIT]
        return render(request, "frontdesk/job_runs.html",
                      {"runs": runs, "status": status, "statuses": JobRun.Status.choices})
