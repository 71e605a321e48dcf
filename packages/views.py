"""Package pages: the managers' package products and refund rule (under Settings), and the
refund of a purchase's unused sessions at the front desk (owners and managers)."""

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
from packages.forms import PackageProductForm, PackageRefundForm, PackageSettingsForm, product_initial
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

