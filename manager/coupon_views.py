"""Issuing coupons by hand: to one member from the member page, and to every member of an
uploaded list (phones or member numbers, as in the import files). Both call
`points.coupons.coupon_issue` (the batch through `coupon_issue_many`), so the per-member and the
total limit of the template hold as everywhere else."""

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
from points.coupons import coupon_issue, coupon_issue_many
from points.models import Coupon

LIST_LIMIT = 5000


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
    """A coupon to every member of an uploaded list; the page then shows, member by member, who
    received one and why the others did not."""

    template = "manager/coupon_bulk_issue.html"

    def _render(self, request, form, status=200, **context):
        return render(request, self.template, {"form": form, "limit": LIST_LIMIT, **context}, status=status)

    def get(self, request):
        return self._render(request, CouponBulkIssueForm(initial={"idempotency_key": idempotency_key_new()}))

    def post(self, request):
        form = CouponBulkIssueForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(request, form, status=400)
        upload = form.cleaned_data["members_file"]
        listed = member_list_read(upload.read(MAX_FILE_BYTES + 1))
        if not listed.member_ids:
            form.add_error("members_file", _("The list names no member that can receive a coupon."))
            return self._render(request, form, status=400, list_errors=listed.errors)
        if len(listed.member_ids) > LIST_LIMIT:
            form.add_error("members_file", _("At most %(limit)s members at once; this list has %(count)s.")
                           % {"limit": LIST_LIMIT, "count": len(listed.member_ids)})
            return self._render(request, form, status=400)
        members = Member.objects.in_bulk(listed.member_ids)
        outcomes = coupon_issue_many(members=[members[pk] for pk in listed.member_ids],
                                     template=form.cleaned_data["template"], actor=request.user,
                                     batch_key=f"{request.user.pk}:{form.cleaned_data['idempotency_key']}")
        issued = [o for o in outcomes if o.coupon is not None and not o.repeated]
        return self._render(request, CouponBulkIssueForm(initial={"idempotency_key": idempotency_key_new()}),
                            outcomes=outcomes, issued=len(issued),
                            repeated=sum(1 for o in outcomes if o.repeated),
                            refused=[o for o in outcomes if o.error], list_errors=listed.errors,
                            template_used=form.cleaned_data["template"])
