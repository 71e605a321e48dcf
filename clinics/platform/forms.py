import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from clinics.models import CURRENCIES, Clinic
from clinics.platform.slugs import validate_clinic_slug

COMMON_ZONES = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo",
                "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles", "UTC"]


class ClinicCreateForm(forms.Form):
    name = forms.CharField(label=_("Clinic name"), max_length=120)
    slug = forms.CharField(
        label=_("Web address"), max_length=40, validators=[validate_clinic_slug],
        help_text=_("Lower-case letters and digits; the clinic is served at <address>.<domain>."))
    time_zone = forms.ChoiceField(
        label=_("Time zone"), initial="Asia/Shanghai",
        choices=[(zone, zone) for zone in COMMON_ZONES]
        + [(zone, zone) for zone in sorted(zoneinfo.available_timezones()) if zone not in COMMON_ZONES])
    language = forms.ChoiceField(label=_("Language"), choices=Clinic.Language.choices,
                                 initial=Clinic.Language.ZH_HANS)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCIES, initial="CNY")
    owner_name = forms.CharField(label=_("Owner's full name"), max_length=150)
    owner_username = forms.CharField(label=_("Owner's username"), max_length=150)
    owner_email = forms.EmailField(label=_("Owner's email"),
                                   help_text=_("The owner is emailed a link to set a password."))

    def clean_slug(self):
        return self.cleaned_data["slug"].strip().lower()


class ClinicSuspendForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255)
