"""Forms of the appointment pages. They check the shape of the input; the appointment services
check the rules (working hours, conflicts, status flow, policy)."""

from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from appointments.models import Booking, Location, Practitioner
from idempotency.forms import IdempotencyKeyField
from visits.models import CatalogueItem

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def slot_value(starts_at: datetime, practitioner_id: int) -> str:
    """The value of one slot button: its start (ISO, with offset) and the practitioner."""
    return f"{starts_at.astimezone(UTC).isoformat()}|{practitioner_id}"


class SlotField(forms.CharField):
    """A chosen slot: a start time and a practitioner id, as `slot_value` writes them."""

    default_error_messages = {"invalid": _("Choose one of the free times.")}

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        start, _sep, practitioner = value.partition("|")
        try:
            starts_at = datetime.fromisoformat(start)
            practitioner_id = int(practitioner)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if starts_at.tzinfo is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return starts_at, practitioner_id


class SlotSearchForm(forms.Form):
    """What the slot picker looks for: a treatment on a day, optionally with one practitioner or
    at one location."""

    treatment = forms.ModelChoiceField(label=_("Treatment"), queryset=CatalogueItem.objects.none(),
                                       widget=forms.Select(attrs={"autofocus": True}))
    practitioner = forms.ModelChoiceField(label=_("Practitioner"), queryset=Practitioner.objects.none(),
                                          required=False, empty_label=_("Anyone free"))
    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.none(), required=False,
                                      empty_label=_("Any location"))
    day = forms.DateField(label=_("Date"), widget=DATE_INPUT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["treatment"].queryset = CatalogueItem.objects.filter(
            kind=CatalogueItem.Kind.TREATMENT, active=True, duration_minutes__isnull=False).order_by("name")
        self.fields["practitioner"].queryset = Practitioner.objects.filter(active=True).select_related("user")
        self.fields["location"].queryset = Location.objects.filter(active=True).order_by("name")


class BookingForm(SlotSearchForm):
    idempotency_key = IdempotencyKeyField()
    slot = SlotField(label=_("Time"), required=True, error_messages={"required": _("Choose one of the free times.")})
    notes = forms.CharField(label=_("Notes"), required=False, max_length=1000,
                            widget=forms.Textarea(attrs={"rows": 2}))


class RescheduleForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    practitioner = forms.ModelChoiceField(label=_("Practitioner"), queryset=Practitioner.objects.none(),
                                          required=False, empty_label=_("Anyone free"))
    day = forms.DateField(label=_("Date"), widget=DATE_INPUT)
    slot = SlotField(label=_("Time"), required=True, error_messages={"required": _("Choose one of the free times.")})
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = Practitioner.objects.filter(active=True).select_related("user")


class CancelForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    party = forms.ChoiceField(label=_("Who cancels"), choices=Booking.Party.choices, initial=Booking.Party.MEMBER,
                              widget=forms.RadioSelect)
    reason = forms.CharField(label=_("Reason"), max_length=255,
                             widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}))


class BookingActionForm(forms.Form):
    ACTIONS = [("confirm", _("Confirm")), ("check_in", _("Check in")), ("complete", _("Complete")),
               ("no_show", _("No-show"))]

    idempotency_key = IdempotencyKeyField()
    action = forms.ChoiceField(choices=ACTIONS)
    next = forms.CharField(required=False, max_length=300)
