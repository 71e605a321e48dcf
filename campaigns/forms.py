"""The campaign editor's form: the campaign's fields (labels from the model) and its texts per
channel. The services check the rules."""

from django import forms
from django.forms.models import fields_for_model
from django.utils.translation import gettext_lazy as _

from campaigns.models import BirthdayTiming, Campaign
from points.models import CouponTemplate
from segments.models import Segment

FIELDS = ["name", "segment", "schedule", "starts_on", "ends_on", "send_time", "month", "day", "trigger_days",
          "birthday_timing", "tier_gift", "template_message", "validity_days", "bonus_points", "coupon_template",
          "points_multiplier", "min_tier", "holdout_percent",
          "max_grants_per_member", "budget_points", "budget_coupons"]
CHANNEL_FIELDS = {"sms": ("sms_body",), "email": ("email_subject", "email_body"), "wechat": ("wechat_body",)}


class CampaignForm(forms.Form):
    kind = forms.CharField(required=False, widget=forms.HiddenInput)
    sms_body = forms.CharField(label=_("SMS text"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                               help_text=_("Variables: {name} {clinic} {campaign} {points} {coupon} "
                                           "{coupon_valid_until} {multiplier} {valid_until}. "
                                           "“回复TD退订” is added."))
    email_subject = forms.CharField(label=_("Email subject"), required=False, max_length=200)
    email_body = forms.CharField(label=_("Email text"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                                 help_text=_("An unsubscribe link is added."))
    wechat_body = forms.CharField(label=_("WeChat text"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        model_fields = fields_for_model(Campaign, fields=FIELDS)
        for name in reversed(FIELDS):
            self.fields = {name: model_fields[name], **self.fields}
        self.fields["segment"].queryset = Segment.objects.filter(archived=False).order_by("name")
        self.fields["segment"].empty_label = _("All active members")
        self.fields["coupon_template"].queryset = CouponTemplate.objects.order_by("name")
        for name in ("starts_on", "ends_on"):
            self.fields[name].widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        self.fields["send_time"].widget = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
        self.fields["birthday_timing"].required = False  # birthday campaigns only (on the birthday by default)

    def values(self) -> dict:
        data = {name: self.cleaned_data[name] for name in FIELDS}
        data["kind"] = self.cleaned_data.get("kind", "")
        data["birthday_timing"] = data["birthday_timing"] or BirthdayTiming.DAY
        data["messages"] = {
            "sms": {"body": self.cleaned_data["sms_body"]},
            "email": {"subject": self.cleaned_data["email_subject"], "body": self.cleaned_data["email_body"]},
            "wechat": {"body": self.cleaned_data["wechat_body"]}}
        return data


def initial_from(campaign: Campaign) -> dict:
    initial = {name: getattr(campaign, name if not name.endswith(("segment", "template", "tier")) else
                             f"{name}_id") for name in FIELDS}
    initial["kind"] = campaign.kind
    for message in campaign.messages.all():
        initial[f"{message.channel}_body"] = message.body
        if message.channel == "email":
            initial["email_subject"] = message.subject
    return initial


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)
