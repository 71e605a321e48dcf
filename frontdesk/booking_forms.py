"""Forms of the appointment pages. They check the shape of the input; the appointment services
check the rules (working hours, conflicts, status flow, policy)."""

from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import Booking, Location, Practitioner, Resource, ScheduleException
from idempotency.forms import IdempotencyKeyField
from points.rules import clinic_zone
from visits.models import CatalogueItem, Payment

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

    confirmed_bookings = forms.CharField(required=False, widget=forms.HiddenInput)

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


class DepositForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    amount = forms.DecimalField(label=_("Deposit"), max_digits=12, decimal_places=2,
                                widget=forms.NumberInput(attrs={"step": "0.01", "class": "money"}))
    method = forms.ChoiceField(label=_("Payment method"), choices=Payment.Method.choices)


class ClinicDateTimeField(forms.DateTimeField):
    """A date and time typed on the clinic's clock (a datetime-local input), read in the clinic's
    time zone whatever the server's; a time a daylight-saving change skips or repeats is refused."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value):
        with timezone.override(clinic_zone()):
            return super().to_python(value)

    def prepare_value(self, value):
        with timezone.override(clinic_zone()):
            return super().prepare_value(value)


class ScheduleExceptionForm(forms.Form):
    """What is blocked (by kind: a practitioner, a room or device, a location or the whole
    clinic), from when until when, and why. Only the target of the chosen kind is kept."""

    TARGETS = {ScheduleException.Kind.LEAVE: "practitioner", ScheduleException.Kind.MAINTENANCE: "resource",
               ScheduleException.Kind.HOLIDAY: "location", ScheduleException.Kind.CLOSURE: "location"}

    idempotency_key = IdempotencyKeyField()
    kind = forms.ChoiceField(label=_("Kind"), choices=ScheduleException.Kind.choices,
                             widget=forms.Select(attrs={"autofocus": True}))
    practitioner = forms.ModelChoiceField(label=_("Practitioner"), queryset=Practitioner.objects.none(),
                                          required=False, empty_label="—", help_text=_("Whose leave it is."))
    resource = forms.ModelChoiceField(label=_("Room or device"), queryset=Resource.objects.none(), required=False,
                                      empty_label="—", help_text=_("Which room or device is out of service."))
    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.none(), required=False,
                                      empty_label=_("The whole clinic"),
                                      help_text=_("Where a holiday or closure applies."))
    starts_at = ClinicDateTimeField(label=_("From"))
    ends_at = ClinicDateTimeField(label=_("Until"))
    reason = forms.CharField(label=_("Reason"), max_length=255,
                             widget=forms.TextInput(attrs={"autocomplete": "off"}))
    overlaps_confirmed = forms.BooleanField(
        label=_("Record it anyway: the appointments stay booked and the front desk moves them"), required=False)

    confirmed_bookings = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = Practitioner.objects.filter(active=True).select_related("user")
        self.fields["resource"].queryset = (Resource.objects.filter(active=True).select_related("location")
                                            .order_by("location__name", "resource_type__kind", "name", "id"))
        self.fields["resource"].label_from_instance = lambda resource: f"{resource.name} · {resource.location.name}"
        self.fields["location"].queryset = Location.objects.filter(active=True).order_by("name")

    def clean_confirmed_bookings(self) -> list[int] | None:
        """The appointments listed when the overlap was shown: confirming covers those only."""
        raw = self.cleaned_data["confirmed_bookings"]
        ids = [int(part) for part in raw.split(",") if part.strip().isdigit()]
        return ids if raw.strip() else None

    def clean(self):
        cleaned = super().clean()
        target = self.TARGETS.get(cleaned.get("kind"))
        for name in ("practitioner", "resource", "location"):
            if name != target:
                cleaned[name] = None
        return cleaned

    def target_fields(self):
        kinds = {}
        for kind, name in self.TARGETS.items():
            kinds.setdefault(name, []).append(kind)
        return [(self[name], " ".join(kinds[name])) for name in ("practitioner", "resource", "location")]
