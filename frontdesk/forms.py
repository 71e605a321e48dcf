"""Front-desk forms. They check the shape of the input; the services check the rules."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from idempotency.forms import IdempotencyKeyField
from members.models import NOTICE_PURPOSES, ConsentRecord, Member
from members.naming import phone_normalize
from points.models import PointsAdjustment
from visits.models import Payment

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
SOURCE_CHOICES = [(value, label) for value, label in Member.Source.choices
                  if value not in (Member.Source.IMPORT, Member.Source.REFERRAL)]


# Asked at registration: every purpose but the service notices, which are on until the member
# turns them off (in the portal, or recorded on the member page).
REGISTRATION_CONSENTS = [(purpose, label) for purpose, label in ConsentRecord.Purpose.choices
                         if purpose not in NOTICE_PURPOSES]

class MemberRegisterForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    name = forms.CharField(label=_("Name"), max_length=100,
                           widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}))
    phone = forms.CharField(label=_("Mobile phone"), max_length=32,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    gender = forms.ChoiceField(label=_("Gender"), choices=Member.Gender.choices, initial=Member.Gender.UNKNOWN)
    birthday = forms.DateField(label=_("Birthday"), required=False, widget=DATE_INPUT)
    celebrates_lunar_birthday = forms.BooleanField(label=_("Celebrates the lunar birthday"), required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    source = forms.ChoiceField(label=_("How they found us"), choices=SOURCE_CHOICES, initial=Member.Source.WALK_IN)
    referral_code = forms.CharField(label=_("Referral code"), max_length=12, required=False,
                                    help_text=_("The referring member's code, if someone sent them."))
    tags = forms.CharField(label=_("Interests"), max_length=300, required=False,
                           help_text=_("Separate with commas, e.g. skincare, anti-ageing."))
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for purpose, label in REGISTRATION_CONSENTS:
            self.fields[f"consent_{purpose}"] = forms.BooleanField(label=label, required=False)

    def clean_phone(self) -> str:
        return phone_normalize(self.cleaned_data["phone"])

    def consent_fields(self):
        return [self[f"consent_{purpose}"] for purpose, _label in REGISTRATION_CONSENTS]

    def profile_fields(self):
        return [field for field in self if not field.name.startswith("consent_") and not field.is_hidden]


class LineForm(forms.Form):
    item = forms.TypedChoiceField(label=_("Treatment or product"), coerce=int, required=False, empty_value=None)
    quantity = forms.IntegerField(label=_("Qty"), min_value=1, max_value=999, initial=1, required=False,
                                  widget=forms.NumberInput(attrs={"class": "qty"}))
    discount = forms.DecimalField(label=_("Discount"), min_value=0, max_digits=12, decimal_places=2,
                                  required=False, widget=forms.NumberInput(attrs={"step": "0.01", "class": "money"}))

    package = forms.TypedChoiceField(label=_("Package session"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, item_choices=(), package_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", "—"), *item_choices]
        self.fields["package"].choices = [("", "—"), *package_choices]


class PaymentForm(forms.Form):
    method = forms.ChoiceField(label=_("Payment method"), choices=[("", "—"), *Payment.Method.choices],
                               required=False)
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=12, decimal_places=2, required=False,
                                help_text=_("Empty: the rest of the bill."),
                                widget=forms.NumberInput(attrs={"step": "0.01", "class": "money"}))


LineFormSet = forms.formset_factory(LineForm, extra=4, max_num=30, absolute_max=30)
PaymentFormSet = forms.formset_factory(PaymentForm, extra=3, max_num=5, absolute_max=5)


class CheckoutForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    coupon_code = forms.CharField(label=_("Coupon code"), max_length=20, required=False,
                                  widget=forms.TextInput(attrs={"autocomplete": "off"}))
    points_to_use = forms.IntegerField(label=_("Points used as cash"), min_value=0, initial=0, required=False)

    def clean_points_to_use(self) -> int:
        return self.cleaned_data["points_to_use"] or 0


class RefundForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    reason = forms.CharField(label=_("Reason"), max_length=255,
                             widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            left = line.quantity - line.refunded_quantity
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                label=line.name, min_value=0, max_value=left, initial=0, required=False,
                widget=forms.NumberInput(attrs={"class": "qty"}))

    def line_fields(self):
        return [(line, self[f"line_{line.pk}"]) for line in self.lines]

    def refund_lines(self) -> list[tuple[int, int]]:
        return [(line.pk, self.cleaned_data.get(f"line_{line.pk}") or 0) for line in self.lines
                if self.cleaned_data.get(f"line_{line.pk}")]

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.refund_lines():
            raise ValidationError(_("Enter how many of at least one line to refund."))
        return cleaned


class RedeemForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    reward = forms.IntegerField(widget=forms.HiddenInput)


class AdjustmentForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    amount = forms.IntegerField(label=_("Points"),
                                help_text=_("Positive to add, negative to take away, e.g. 200 or -150."),
                                widget=forms.NumberInput(attrs={"autofocus": True}))
    reason_code = forms.ChoiceField(label=_("Reason"), choices=PointsAdjustment.Reason.choices)
    note = forms.CharField(label=_("Note"), max_length=255,
                           help_text=_("What happened, for whoever reads the statement later."))


class DecisionForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(label=_("Note"), max_length=255, required=False)


class MemberEditForm(forms.Form):
    """A member's profile as the front desk corrects it; the fields `member_update` accepts."""

    idempotency_key = IdempotencyKeyField()
    name = forms.CharField(label=_("Name"), max_length=100,
                           widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}))
    phone = forms.CharField(label=_("Mobile phone"), max_length=32,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    gender = forms.ChoiceField(label=_("Gender"), choices=Member.Gender.choices)
    birthday = forms.DateField(label=_("Birthday"), required=False, widget=DATE_INPUT)
    celebrates_lunar_birthday = forms.BooleanField(label=_("Celebrates the lunar birthday"), required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    source = forms.ChoiceField(label=_("How they found us"))
    tags = forms.CharField(label=_("Interests"), max_length=300, required=False,
                           help_text=_("Separate with commas, e.g. skincare, anti-ageing."))
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, member: Member, **kwargs):
        initial = {"name": member.name, "phone": member.phone or "", "gender": member.gender,
                   "birthday": member.birthday, "celebrates_lunar_birthday": member.celebrates_lunar_birthday,
                   "email": member.email, "source": member.source, "tags": ", ".join(member.tags),
                   "notes": member.notes}
        super().__init__(*args, initial=initial, **kwargs)
        # A member who came by referral or import keeps that source; it is not offered to others.
        choices = list(SOURCE_CHOICES)
        if member.source not in dict(choices):
            choices.append((member.source, member.get_source_display()))
        self.fields["source"].choices = choices

    def clean_phone(self) -> str:
        return phone_normalize(self.cleaned_data["phone"])

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("idempotency_key", None)
        data["tags"] = data["tags"].split(",")
        return data

    def profile_fields(self):
        return [field for field in self if not field.is_hidden]


class ConsentForm(forms.Form):
    """One purpose's grant or withdrawal, recorded at the front desk."""

    idempotency_key = IdempotencyKeyField()
    purpose = forms.ChoiceField(choices=ConsentRecord.Purpose.choices)
    granted = forms.TypedChoiceField(choices=[("1", _("Granted")), ("0", _("Withdrawn"))],
                                     coerce=lambda value: value == "1")


class MedicalProfileForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    allergies = forms.CharField(label=_("Allergies"), max_length=4000, required=False,
                                help_text=_("Leave empty when the member has none; the allergy badge follows."),
                                widget=forms.Textarea(attrs={"rows": 3, "autofocus": True}))
    contraindications = forms.CharField(label=_("Contraindications"), max_length=4000, required=False,
                                        widget=forms.Textarea(attrs={"rows": 3}))
    medical_notes = forms.CharField(label=_("Medical notes"), max_length=8000, required=False,
                                    widget=forms.Textarea(attrs={"rows": 5}))


class ArchiveForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    reason = forms.CharField(label=_("Reason"), max_length=255,
                             help_text=_("Why the member is archived, for whoever restores them later."),
                             widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}))


class ConfirmForm(forms.Form):
    """A button that does one thing to the record in the address (restore, merge)."""

    idempotency_key = IdempotencyKeyField()


class EraseForm(forms.Form):
    """The erasure's confirmation: the member number typed again, and why."""

    idempotency_key = IdempotencyKeyField()
    reason = forms.CharField(label=_("Reason"), max_length=255,
                             help_text=_("For example: the member asked in writing on 5 December."),
                             widget=forms.TextInput(attrs={"autocomplete": "off"}))
    confirm_number = forms.CharField(label=_("Member number, to confirm"), max_length=20,
                                     widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def __init__(self, *args, member, **kwargs):
        super().__init__(*args, **kwargs)
        self.member = member

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Say why the member's data is erased."))
        return reason

    def clean_confirm_number(self) -> str:
        typed = self.cleaned_data["confirm_number"].strip().upper()
        if typed != (self.member.member_number or "").upper():
            raise forms.ValidationError(_("Type the member number %(number)s to confirm.")
                                        % {"number": self.member.member_number})
        return typed
