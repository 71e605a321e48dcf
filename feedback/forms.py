"""Feedback forms. They check the shape of the input; the services check the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from appointments.models import Booking, Practitioner
from clinics.formatting import moment_text
from feedback.models import FollowUpOutcome, FollowUpTask, SurveyAnswer, SurveySettings
from idempotency.forms import IdempotencyKeyField
from visits.models import CatalogueItem, Category


class BookingChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Booking) -> str:
        return f"{moment_text(obj.starts_at)} {obj.treatment}"


NPS_CHOICES = [(n, str(n)) for n in range(11)]
RATING_CHOICES = [(n, str(n)) for n in range(1, 6)]


class SurveyAnswerForm(forms.Form):
    nps_score = forms.TypedChoiceField(choices=NPS_CHOICES, coerce=int, widget=forms.RadioSelect,
                                       error_messages={"required": _("Choose a score from 0 to 10."),
                                                       "invalid_choice": _("Choose a score from 0 to 10.")})
    practitioner_rating = forms.TypedChoiceField(
        choices=RATING_CHOICES, coerce=int, widget=forms.RadioSelect, required=False, empty_value=None,
        error_messages={"invalid_choice": _("Choose a rating from 1 to 5.")})
    tags = forms.MultipleChoiceField(label=_("What stood out? (optional)"), choices=SurveyAnswer.Tag.choices,
                                     required=False, widget=forms.CheckboxSelectMultiple)
    comment = forms.CharField(label=_("Anything else you would like to tell us? (optional)"), required=False,
                              max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, rate_practitioner: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if rate_practitioner:
            self.fields["practitioner_rating"].required = True
            self.fields["practitioner_rating"].error_messages["required"] = _("Choose a rating from 1 to 5.")
        else:
            del self.fields["practitioner_rating"]


def _staff_choices():
    return User.objects.filter(is_active=True, groups__permissions__codename="use_frontdesk").distinct().order_by(
        "full_name", "username")


class QueueFilterForm(forms.Form):
    when = forms.ChoiceField(label=_("Due"), required=False, choices=[
        ("", _("All open")), ("overdue", _("Overdue")), ("today", _("Due today")), ("upcoming", _("Upcoming"))])
    kind = forms.ChoiceField(label=_("Type"), required=False, choices=[("", _("Any type")),
                                                                       *FollowUpTask.Kind.choices])
    practitioner = forms.ModelChoiceField(label=_("Practitioner"), required=False,
                                          queryset=Practitioner.objects.select_related("user"),
                                          empty_label=_("Any practitioner"))
    assigned_to = forms.ModelChoiceField(label=_("Assigned to"), required=False, queryset=User.objects.none(),
                                         empty_label=_("Anyone"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = _staff_choices()

    def filters(self) -> dict:
        data = self.cleaned_data
        return {"when": data["when"], "kind": data["kind"],
                "practitioner_id": data["practitioner"].pk if data["practitioner"] else None,
                "assigned_to_id": data["assigned_to"].pk if data["assigned_to"] else None}


class OutcomeForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    kind = forms.ChoiceField(label=_("What happened"), choices=FollowUpOutcome.Kind.choices, widget=forms.RadioSelect,
                             error_messages={"required": _("Choose what happened."),
                                             "invalid_choice": _("Choose what happened.")})
    call_back_at = forms.DateTimeField(label=_("Call back at"), required=False,
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                  format="%Y-%m-%dT%H:%M"),
                                       help_text=_("For “call back later”."))
    booking = BookingChoiceField(label=_("Appointment booked"), required=False, queryset=Booking.objects.none(),
                                     help_text=_("For “booked”: book it first, then choose it here."))
    notes = forms.CharField(label=_("Notes"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 3}),
                            help_text=_("Required for a complaint."))

    def __init__(self, *args, member=None, **kwargs):
        super().__init__(*args, **kwargs)
        if member is not None:
            self.fields["booking"].queryset = (Booking.objects.filter(member=member)
                                               .select_related("treatment").order_by("-starts_at"))


class AssignForm(forms.Form):
    assigned_to = forms.ModelChoiceField(label=_("Assigned to"), required=False, queryset=User.objects.none(),
                                         empty_label=_("Nobody"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = _staff_choices()


class FollowUpCreateForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    due_on = forms.DateField(label=_("Due on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    note = forms.CharField(label=_("What to do"), max_length=300,
                           error_messages={"required": _("Say what the follow-up is for.")})
    assigned_to = forms.ModelChoiceField(label=_("Assigned to"), required=False, queryset=User.objects.none(),
                                         empty_label=_("Nobody"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = _staff_choices()


class ComplaintCloseForm(forms.Form):
    resolution = forms.CharField(label=_("Resolution"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                                 error_messages={"required": _("Write down how the complaint was resolved.")})


class SurveySettingsForm(forms.ModelForm):
    treatments = forms.ModelMultipleChoiceField(
        label=_("Treatments that trigger a survey"), required=False, widget=forms.CheckboxSelectMultiple,
        queryset=CatalogueItem.objects.filter(kind=CatalogueItem.Kind.TREATMENT, active=True).order_by("name"))

    class Meta:
        model = SurveySettings
        fields = ["enabled", "delay_hours", "all_treatments", "treatments", "nps_question_zh", "nps_question_en",
                  "practitioner_question_zh", "practitioner_question_en"]


class FollowUpRuleForm(forms.Form):
    treatment = forms.ModelChoiceField(label=_("Treatment"), required=False, empty_label="—",
                                       queryset=CatalogueItem.objects.filter(kind=CatalogueItem.Kind.TREATMENT,
                                                                             active=True).order_by("name"))
    category = forms.ModelChoiceField(label=_("or category"), required=False, empty_label="—",
                                      queryset=Category.objects.order_by("name"))
    days_after = forms.IntegerField(label=_("Days after the visit"), min_value=1, max_value=365)


class RecallFilterForm(forms.Form):
    DEFAULTS = {"within_days": 7, "treatment_id": None, "contacted": None}

    within_days = forms.IntegerField(label=_("Due within (days)"), min_value=0, max_value=365, required=False,
                                     initial=7, help_text=_("0: overdue and due today only."))
    treatment = forms.ModelChoiceField(label=_("Treatment"), required=False, empty_label=_("Any treatment"),
                                       queryset=CatalogueItem.objects.none())
    contacted = forms.ChoiceField(label=_("Contacted"), required=False, choices=[
        ("", _("Contacted or not")), ("no", _("Not contacted yet")), ("yes", _("Contacted"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["treatment"].queryset = CatalogueItem.objects.filter(
            kind=CatalogueItem.Kind.TREATMENT, recall_days__isnull=False).order_by("name")

    def filters(self) -> dict:
        data = self.cleaned_data
        return {"within_days": 7 if data["within_days"] is None else data["within_days"],
                "treatment_id": data["treatment"].pk if data["treatment"] else None,
                "contacted": {"yes": True, "no": False}.get(data["contacted"])}
