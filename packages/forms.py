"""Forms of the package pages. They check the shape of the input; the services check the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from idempotency.forms import IdempotencyKeyField
from packages.models import PackageProduct, PackageSettings
from visits.models import CatalogueItem, Category


class PackageProductForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("of a thing", "name"), max_length=120)
    sku = forms.CharField(label=_("code"), max_length=40)
    category = forms.ModelChoiceField(label=_("category"), queryset=Category.objects.order_by("name"))
    price = forms.DecimalField(label=_("price"), min_value=0, max_digits=12, decimal_places=2)
    sessions = forms.IntegerField(label=_("sessions"), min_value=1, max_value=1000)
    treatments = forms.ModelMultipleChoiceField(
        label=_("treatments covered"), widget=forms.CheckboxSelectMultiple,
        queryset=CatalogueItem.objects.filter(kind=CatalogueItem.Kind.TREATMENT, active=True).order_by("name"),
        help_text=_("One treatment, or a set: each session covers any one of them."))
    validity_months = forms.IntegerField(label=_("valid for months"), min_value=1, max_value=1200, required=False,
                                         help_text=_("Empty: the sessions never expire."))
    validity_start = forms.ChoiceField(label=_("validity counted"), choices=PackageProduct.ValidityStart.choices,
                                       widget=forms.RadioSelect, initial=PackageProduct.ValidityStart.PURCHASE)
    transferable = forms.BooleanField(label=_("transferable to another member"), required=False)


def product_initial(product: PackageProduct) -> dict:
    return {"name": product.item.name, "sku": product.item.sku, "category": product.item.category_id,
            "price": product.item.price, "sessions": product.sessions,
            "treatments": list(product.treatments.values_list("pk", flat=True)),
            "validity_months": product.validity_months, "validity_start": product.validity_start,
            "transferable": product.transferable}


class PackageSettingsForm(forms.ModelForm):
    class Meta:
        model = PackageSettings
        fields = ["refund_rule", "refund_fee_percent", "expiry_warning_days"]
        widgets = {"refund_rule": forms.RadioSelect}


class PackageRefundForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    reason = forms.CharField(label=_("Reason"), max_length=255, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    amount = forms.DecimalField(label=_("Amount to refund (¥)"), min_value=0, max_digits=12, decimal_places=2,
                                required=False, help_text=_("Empty: the amount by the clinic's rule."),
                                widget=forms.NumberInput(attrs={"step": "0.01", "class": "money"}))


class PackageTransferForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    to_member = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=255, widget=forms.TextInput(attrs={"autocomplete": "off"}))
