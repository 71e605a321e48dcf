from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

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
