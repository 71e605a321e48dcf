from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from idempotency.forms import IdempotencyKeyField
from storedvalue.models import PaymentMethod, StoredValueSettings, TopUpPlan
from storedvalue.rules import MAX_AMOUNT

MONEY = {"max_digits": 12, "decimal_places": 2}


class TopUpForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("Top-up plan"), queryset=TopUpPlan.objects.none(), required=False,
                                  empty_label=_("No plan (any amount, no bonus)"))
    paid = forms.DecimalField(label=_("Amount paid in"), required=False, min_value=Decimal("0.01"),
                              max_value=MAX_AMOUNT, **MONEY,
                              help_text=_("Needed without a plan; a plan tops up its own amount."))
    method = forms.ChoiceField(label=_("Paid by"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("Payment reference"), max_length=64, required=False)
    idempotency_key = IdempotencyKeyField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = TopUpPlan.objects.filter(active=True)

    def clean(self):
        data = super().clean()
        if not data.get("plan") and not data.get("paid") and not self.errors:
            self.add_error("paid", _("Choose a plan or enter the amount paid in."))
        return data


class CashOutForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255)
    method = forms.ChoiceField(label=_("Paid back by"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("Payment reference"), max_length=64, required=False)
    expected_refund = forms.DecimalField(widget=forms.HiddenInput, **MONEY)
    idempotency_key = IdempotencyKeyField()


class PlanForm(forms.ModelForm):
    class Meta:
        model = TopUpPlan
        fields = ["name", "pay_amount", "bonus_amount", "bonus_valid_days", "bonus_points", "tier", "active"]


class SettingsForm(forms.ModelForm):
    class Meta:
        model = StoredValueSettings
        fields = ["split_rule", "top_up_earns_points", "spend_earns_points", "spend_counts_toward_tiers",
                  "cash_out_charge_back_percent", "renewal_threshold", "renewal_days"]


class LiabilityForm(forms.Form):
    as_of = forms.DateField(label=_("As of the end of"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    since = forms.DateField(label=_("Movements from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
