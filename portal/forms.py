from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from members.models import Member
from members.naming import phone_normalize


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("Mobile number"), max_length=20,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel",
                                                          "inputmode": "tel", "autofocus": True}))

    def clean_phone(self) -> str:
        try:
            return phone_normalize(self.cleaned_data["phone"])
        except ValidationError as exc:
            raise ValidationError(_("Enter a valid mobile number.")) from exc


class CodeForm(forms.Form):
    code = forms.RegexField(label=_("6-digit code"), regex=r"^\s*\d{6}\s*$", max_length=8,
                            error_messages={"invalid": _("The code has 6 digits.")},
                            widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code",
                                                          "autofocus": True, "pattern": "[0-9]*"}))


DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class StatementFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Show"), required=False, choices=[
        ("", _("Everything")), ("earned", _("Earned")), ("spent", _("Spent")), ("expired", _("Expired")),
        ("other", _("Other changes"))])
    date_from = forms.DateField(label=_("From"), required=False, widget=DATE_INPUT)
    date_until = forms.DateField(label=_("Until"), required=False, widget=DATE_INPUT)
    page = forms.IntegerField(min_value=1, max_value=100_000, required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_until") and data["date_from"] > data["date_until"]:
            raise ValidationError(_("The first day comes after the last day."))
        return data


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    gender = forms.ChoiceField(label=_("Gender"), choices=[])
    birthday = forms.DateField(label=_("Birthday"), required=False, widget=DATE_INPUT)
    email = forms.EmailField(label=_("Email"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gender"].choices = Member.Gender.choices


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = settings.LANGUAGES


class ConsentChangeForm(forms.Form):
    purpose = forms.ChoiceField(choices=[])
    granted = forms.TypedChoiceField(choices=[("1", "1"), ("0", "0")], coerce=lambda value: value == "1")

    def __init__(self, *args, purposes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = [(purpose, purpose) for purpose in purposes]


class ErasureRequestForm(forms.Form):
    reason = forms.CharField(label=_("Anything the clinic should know (optional)"), required=False,
                             max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    confirm = forms.BooleanField(label=_("I understand that my name, contact details and history with the "
                                         "clinic will be erased, and my points and coupons will be lost."))


class JoinForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    phone = forms.CharField(label=_("Mobile number"), max_length=20,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}))
    birthday = forms.DateField(label=_("Birthday (optional)"), required=False, widget=DATE_INPUT)
    email = forms.EmailField(label=_("Email (optional)"), required=False)
    referral_code = forms.CharField(label=_("Referral code (optional)"), max_length=12, required=False)
    data_processing = forms.BooleanField(
        label=_("I agree that the clinic keeps and processes my personal data for my membership."),
        required=False)
    marketing_sms = forms.BooleanField(label=_("Send me offers by SMS."), required=False)

    def clean_phone(self) -> str:
        try:
            return phone_normalize(self.cleaned_data["phone"])
        except ValidationError as exc:
            raise ValidationError(_("Enter a valid mobile number.")) from exc

    def clean_data_processing(self) -> bool:
        if not self.cleaned_data.get("data_processing"):
            raise ValidationError(_("To be a member, agree to the processing of your data."))
        return True
