from django import forms
from django.utils.translation import gettext_lazy as _

from audit.selectors import actor_choices, object_type_choices, settings_change_days_errors

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    actor = forms.TypedChoiceField(label=_("By"), required=False, coerce=int, empty_value=None)
    object_type = forms.ChoiceField(label=_("Setting"), required=False)
    since = forms.DateField(label=_("From"), required=False, widget=DATE)
    until = forms.DateField(label=_("Until"), required=False, widget=DATE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", _("Anyone")), *actor_choices()]
        self.fields["object_type"].choices = [("", _("Any setting")), *object_type_choices()]

    def clean(self):
        cleaned = super().clean()
        for name, messages in settings_change_days_errors(since=cleaned.get("since"),
                                                          until=cleaned.get("until")).items():
            for message in messages:
                self.add_error(name, message)
        return cleaned

    def filters(self) -> dict:
        data = self.cleaned_data
        return {"actor_id": data["actor"], "object_type": data["object_type"], "since": data["since"],
                "until": data["until"]}
