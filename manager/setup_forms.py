"""Forms of the clinic setup pages: plain forms that never save; the views pass their data to the
appointments schedule services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from appointments.models import Location, Practitioner, Resource, ResourceType
from manager.forms import _model_form
from visits.models import CatalogueItem

LocationForm = _model_form("LocationForm", Location, ["name", "address", "active"])
ResourceTypeForm = _model_form("ResourceTypeForm", ResourceType, ["name", "kind"], widgets={"kind": forms.RadioSelect})
ResourceEditForm = _model_form("ResourceEditForm", Resource, ["name", "active"])
WEEKDAYS = [(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")), (4, _("Friday")),
            (5, _("Saturday")), (6, _("Sunday"))]


class ResourceForm(_model_form("ResourceBase", Resource, ["location", "resource_type", "name", "active"])):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(active=True)
        self.fields["resource_type"].queryset = ResourceType.objects.all()


def _treatments_field() -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        label=_("Treatments performed"), required=False, widget=forms.CheckboxSelectMultiple,
        queryset=CatalogueItem.objects.filter(kind=CatalogueItem.Kind.TREATMENT, active=True).order_by("name"))


class PractitionerCreateForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Staff account"), queryset=User.objects.none(),
                                  help_text=_("Invite the person as staff first; any role can be bookable."))
    display_name = forms.CharField(label=_("Display name"), max_length=120, required=False,
                                   help_text=_("Shown to members; empty: the account's name."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(is_active=True, practitioner__isnull=True).order_by(
            "full_name", "username")
        self.fields["treatments"] = _treatments_field()


class PractitionerEditForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=120, required=False)
    active = forms.BooleanField(label=_("Bookable"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["treatments"] = _treatments_field()


class HoursRowForm(forms.Form):
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=[("", "—"), *WEEKDAYS], coerce=int,
                                     required=False, empty_value=None)
    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.none(), required=False,
                                      empty_label="—")
    starts = forms.TimeField(label=_("From"), required=False, widget=forms.TimeInput(attrs={"type": "time"},
                                                                                    format="%H:%M"))
    ends = forms.TimeField(label=_("Until"), required=False, widget=forms.TimeInput(attrs={"type": "time"},
                                                                                   format="%H:%M"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(active=True)

    def clean(self):
        cleaned = super().clean()
        given = [name for name in ("weekday", "location", "starts", "ends") if cleaned.get(name) not in (None, "")]
        if given and len(given) < 4:
            for name in ("weekday", "location", "starts", "ends"):
                if name not in given and name not in self.errors:
                    self.add_error(name, _("Fill in the day, location, start and end, or leave the row empty."))
        return cleaned

    @property
    def filled(self) -> bool:
        return self.is_valid() and self.cleaned_data.get("weekday") is not None


HoursFormSet = forms.formset_factory(HoursRowForm, extra=0, max_num=28, absolute_max=28, validate_max=True)


class RequirementsForm(forms.Form):
    room_type = forms.ModelChoiceField(label=_("Room type"), required=False, empty_label=_("No room needed"),
                                       queryset=ResourceType.objects.filter(kind=ResourceType.Kind.ROOM))
    device_type = forms.ModelChoiceField(label=_("Device type"), required=False, empty_label=_("No device needed"),
                                         queryset=ResourceType.objects.filter(kind=ResourceType.Kind.DEVICE))


def practitioner_initial(practitioner: Practitioner) -> dict:
    return {"display_name": practitioner.display_name, "active": practitioner.active,
            "treatments": list(practitioner.treatments.values_list("pk", flat=True))}
