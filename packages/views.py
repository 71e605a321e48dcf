"""Package pages: the managers' package products and refund rule (under Settings), the refund of a
purchase's unused sessions at the front desk (owners and managers), and the transfer of a
transferable package to another member (any desk staff)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from clinic_loyalty.form_errors import apply_validation_error
from frontdesk.base_views import StaffPermissionRequired, _after
from idempotency.forms import submit_once
from manager.views import SettingsRequired, _FormPage, form_saved
from members.models import Member
from members.selectors import member_search
from packages.forms import (
    PackageProductForm,
    PackageRefundForm,
    PackageSettingsForm,
    PackageTransferForm,
    product_initial,
)
from packages.models import PackageProduct, PackagePurchase
from packages.selectors import member_packages, package_products
from packages.services import (
    REFUND_PERMISSION,
    package_product_create,
    package_product_update,
    package_refund,
    package_refund_quote,
    package_settings,
    package_settings_update,
    package_transfer,
)


class PackageProductListView(SettingsRequired, View):
    def get(self, request):
        form = PackageSettingsForm(instance=package_settings())
        return render(request, "manager/packages.html", {"products": package_products(), "settings_form": form})


class PackageSettingsView(SettingsRequired, View):
    def post(self, request):
        form = PackageSettingsForm(request.POST, instance=package_settings())

        def save():
            package_settings_update(actor=request.user, **{name: form.cleaned_data[name] for name in form.fields})
        return form_saved(request, form, save, saved_message=_("Package settings saved."), url="manager:packages") \
            or render(request, "manager/packages.html", {"products": package_products(), "settings_form": form},
                      status=400)


class PackageProductFormView(_FormPage):
    form_class = PackageProductForm
    model = PackageProduct
    list_url = "manager:packages"
    create_heading = gettext_lazy("New treatment package")
    edit_heading = gettext_lazy("Edit treatment package")
    saved_message = gettext_lazy("Treatment package saved.")

    def get(self, request, pk=None):
        if pk is None:
            return super().get(request)
        product = self.get_object(pk)
        return self._render(request, self.form_class(initial=product_initial(product)), product)

    def create(self, request, form):
        data = dict(form.cleaned_data)
        package_product_create(actor=request.user, treatments=list(data.pop("treatments")), **data)

    def update(self, request, obj, form):
        data = dict(form.cleaned_data)
        package_product_update(product=obj, actor=request.user, treatments=list(data.pop("treatments")), **data)


class PackageRefundView(StaffPermissionRequired, View):
    """The refund of a purchase's unused sessions: the calculation by the clinic's rule first,
    then the manager confirms it (or sets a smaller amount) with the reason."""

    permission_required = REFUND_PERMISSION

    def _render(self, request, purchase, form, *, status=200):
        quote, problem = None, None
        try:
            quote = package_refund_quote(purchase=purchase)
        except ValidationError as exc:
            problem = " ".join(exc.messages)
        holding = next((h for h in member_packages(purchase.member) if h.purchase.pk == purchase.pk), None)
        return render(request, "frontdesk/package_refund.html",
                      {"purchase": purchase, "holding": holding, "quote": quote, "problem": problem, "form": form},
                      status=status)

    def _purchase(self, pk: int) -> PackagePurchase:
        return get_object_or_404(PackagePurchase.objects.select_related("member", "product__item"), pk=pk)

    def get(self, request, pk: int):
        return self._render(request, self._purchase(pk), PackageRefundForm())

    def post(self, request, pk: int):
        purchase = self._purchase(pk)
        form = PackageRefundForm(request.POST)
        if form.is_valid():
            def refund() -> str:
                package_refund(purchase=purchase, actor=request.user, reason=form.cleaned_data["reason"],
                               amount=form.cleaned_data["amount"])
                return reverse("frontdesk:member_detail", args=[purchase.member_id])
            try:
                return _after(request, submit_once(request, refund), _("The unused sessions were refunded."))
            except ValidationError as exc:
                apply_validation_error(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
        return self._render(request, purchase, form, status=400)



class PackageTransferView(StaffPermissionRequired, View):
    """Give a transferable package to another member: find the member, then confirm with the
    reason what moves (the sessions left and their last day). Other packages are refused."""

    SEARCH_LIMIT = 20

    def _purchase(self, pk: int) -> PackagePurchase:
        return get_object_or_404(PackagePurchase.objects.select_related("member", "product__item"), pk=pk)

    def _render(self, request, purchase, *, form=None, status=200):
        holding = next((h for h in member_packages(purchase.member) if h.purchase.pk == purchase.pk), None)
        problem = None
        if not purchase.product.transferable:
            problem = _("“%(name)s” cannot be transferred to another member.") % {"name": purchase.product.item.name}
        elif holding is None or not holding.usable:
            problem = _("This package has no usable sessions to transfer.")
        query = request.GET.get("q", "").strip()[:100]
        results = ([m for m in member_search(query=query, limit=self.SEARCH_LIMIT + 1) if m.pk != purchase.member_id]
                   [:self.SEARCH_LIMIT] if query and not problem else [])
        to_member_id = form["to_member"].value() if form is not None else request.GET.get("to")
        to_member = (Member.objects.filter(pk=to_member_id, status=Member.Status.ACTIVE)
                     .exclude(pk=purchase.member_id).first()
                     if str(to_member_id or "").isdigit() and not problem else None)
        if to_member is not None and form is None:
            form = PackageTransferForm(initial={"to_member": to_member.pk})
        return render(request, "frontdesk/package_transfer.html",
                      {"purchase": purchase, "holding": holding, "problem": problem, "query": query,
                       "results": results, "to_member": to_member, "form": form}, status=status)

    def get(self, request, pk: int):
        return self._render(request, self._purchase(pk))

    def post(self, request, pk: int):
        purchase = self._purchase(pk)
        form = PackageTransferForm(request.POST)
        if form.is_valid():
            to_member = Member.objects.filter(pk=form.cleaned_data["to_member"]).first()

            def transfer() -> str:
                if to_member is None:
                    raise ValidationError({"to_member": _("Choose another, active member.")})
                package_transfer(purchase=purchase, to_member=to_member, actor=request.user,
                                 reason=form.cleaned_data["reason"])
                return reverse("frontdesk:member_detail", args=[purchase.member_id])
            try:
                return _after(request, submit_once(request, transfer), _("The package was transferred to %(name)s.")
                              % {"name": to_member.name if to_member else ""})
            except ValidationError as exc:
                apply_validation_error(form, exc)
        return self._render(request, purchase, form=form, status=400)
