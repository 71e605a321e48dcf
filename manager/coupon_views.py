"""Issuing coupons by hand: to one member from the member page (`points.coupons.coupon_issue`),
and to every member of a saved segment or an uploaded list (phones or member numbers, as in the
import files) through `points.coupons.coupons_bulk_issue`, all or nothing within the template's
total limit."""

from django.core import signing
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from accounts.page_permissions import PermissionRequired
from clinic_loyalty.form_errors import apply_validation_error
from frontdesk.base_views import _after
from idempotency.forms import idempotency_key_new, submit_once
from imports.member_lookup import member_list_read
from imports.reading import MAX_FILE_BYTES
from manager.forms import CouponBulkIssueForm, CouponIssueForm
from members.models import Member
from points.coupons import BULK_LIMIT, coupon_issue, coupons_bulk_issue, coupons_bulk_plan
from points.models import Coupon, CouponTemplate
from segments.selectors import segment_members


class IssueCouponRequired(PermissionRequired):
    permission_required = "points.issue_coupon"


class CouponIssueView(IssueCouponRequired, View):
    """One coupon to the member of the page."""

    template = "manager/coupon_issue.html"

    def _render(self, request, member, form, status=200):
        return render(request, self.template, {"member": member, "form": form}, status=status)

    def get(self, request, pk: int):
        return self._render(request, get_object_or_404(Member, pk=pk), CouponIssueForm())

    def post(self, request, pk: int):
        member = get_object_or_404(Member, pk=pk)
        form = CouponIssueForm(request.POST)
        if form.is_valid():
            def issue() -> str:
                coupon_issue(member=member, template=form.cleaned_data["template"], source=Coupon.Source.MANUAL,
                             actor=request.user)
                return f"{reverse('frontdesk:member_detail', args=[member.pk])}#member-coupons"

            try:
                return _after(request, submit_once(request, issue), _("Coupon issued."))
            except ValidationError as exc:
                apply_validation_error(form, exc, {"member": "template"})
        return self._render(request, member, form, status=400)


class CouponBulkIssueView(IssueCouponRequired, View):
    """A coupon to every member of a saved segment or of an uploaded list, in two steps: the
    preview (how many get one, who does not and why, the list's lines that name no member; over
    the template's total limit it is refused and nothing can be issued), then the confirmation,
    which issues all of them at once or none (`points.coupons.coupons_bulk_issue`). The members
    are fixed at the preview (signed into the confirmation form); sending the confirmation again
    issues nothing twice."""

    template = "manager/coupon_bulk_issue.html"

    def _render(self, request, form, status=200, **context):
        return render(request, self.template, {"form": form, "limit": BULK_LIMIT, **context}, status=status)

    def _fresh_form(self):
        return CouponBulkIssueForm(initial={"idempotency_key": idempotency_key_new(), "source": "segment"})

    def get(self, request):
        return self._render(request, self._fresh_form())

    def post(self, request):
        if "plan" in request.POST:
            return self._confirm(request)
        form = CouponBulkIssueForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(request, form, status=400)
        list_errors = []
        if form.cleaned_data["source"] == CouponBulkIssueForm.SEGMENT:
            segment = form.cleaned_data["segment"]
            member_ids = list(segment_members(segment).order_by("id").values_list("pk", flat=True)[:BULK_LIMIT + 1])
            if not member_ids:
                form.add_error("segment", _("No member matches this segment now."))
                return self._render(request, form, status=400)
        else:
            segment = None
            listed = member_list_read(form.cleaned_data["members_file"].read(MAX_FILE_BYTES + 1))
            member_ids, list_errors = listed.member_ids, listed.errors
            if not member_ids:
                form.add_error("members_file", _("The list names no member that can receive a coupon."))
                return self._render(request, form, status=400, list_errors=list_errors)
        template = form.cleaned_data["template"]
        plan = coupons_bulk_plan(template=template, member_ids=member_ids)
        token = signing.dumps({"t": template.pk, "m": plan.member_ids, "k": form.cleaned_data["idempotency_key"],
                               "s": segment.pk if segment else None}, salt=_plan_salt(request), compress=True)
        return self._render(request, form, status=400 if plan.error else 200, plan=plan, plan_token=token,
                            list_errors=list_errors, segment=segment)

    def _confirm(self, request):
        try:
            data = signing.loads(request.POST["plan"], salt=_plan_salt(request), max_age=PLAN_MAX_AGE)
        except signing.BadSignature:
            return self._render(request, self._fresh_form(), status=400,
                                error=_("This preview has expired or is not valid; start again."))
        template = get_object_or_404(CouponTemplate, pk=data["t"])
        try:
            result = coupons_bulk_issue(template=template, member_ids=data["m"], actor=request.user,
                                        run_key=data["k"])
        except ValidationError as exc:
            return self._render(request, self._fresh_form(), status=400, error=" ".join(exc.messages))
        return self._render(request, self._fresh_form(), result=result, template_used=template,
                            issued=len(result.issued), repeated=result.repeated)


PLAN_MAX_AGE = 3600


def _plan_salt(request) -> str:
    return f"manager.coupon_bulk_issue:{request.tenant.schema_name}:{request.user.pk}"
