"""The settings forms. They check the shape of the input (types, required fields, ranges) and
show it in the user's language; the services check the rules and do the writing. Fields and
labels come from the models."""

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.forms.models import fields_for_model, model_to_dict
from django.utils.translation import gettext_lazy as _

from appointments.models import AppointmentPolicy
from campaigns.campaign_services import SETTINGS_FIELDS as CAMPAIGN_SETTINGS_FIELDS
from campaigns.models import BirthdayTiming, CampaignSettings
from idempotency.forms import IdempotencyKeyField
from imports.models import ImportRun
from insights.models import InsightsSettings
from messaging.models import Channel, Message, MessageTemplate, MessagingSettings, Purpose
from messaging.selectors import message_log_days_errors
from messaging.services import MAX_WEEKLY_CAP
from messaging.services import SETTINGS_FIELDS as MESSAGING_FIELDS
from points.coupons import TEMPLATE_FIELDS
from points.models import CouponTemplate, LoyaltySettings, Reward
from points.rewards import REWARD_FIELDS
from points.selectors import coupon_template_list
from portal.models import PortalSettings
from segments.models import Segment
from segments.selectors import segment_list
from tiers.models import Tier, TierProgramme
from tiers.services import TIER_FIELDS
from visits.models import CatalogueItem, Category
from visits.selectors import category_list
from visits.services import CATEGORY_FIELDS, ITEM_FIELDS

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def _model_form(name: str, model, field_names, *, widgets=None, extra=None) -> type[forms.Form]:
    """A plain form with the model's fields (labels, help texts, choices, required-ness); it
    never saves anything itself."""
    attrs = dict(fields_for_model(model, fields=field_names, widgets=widgets or {}))
    for field in attrs.values():
        if type(field.widget) is forms.RadioSelect and not isinstance(field, forms.ModelChoiceField):
            field.choices = [choice for choice in field.choices if choice[0] != ""]
    attrs.update(extra or {})
    return type(name, (forms.Form,), attrs)


def initial_from(instance, form_class: type[forms.Form]) -> dict:
    return model_to_dict(instance, fields=list(form_class.base_fields))


InsightsSettingsForm = _model_form("InsightsSettingsForm", InsightsSettings,
                                  ["new_days", "active_days", "lapsed_days", "rfm_months"])

CampaignSettingsForm = _model_form("CampaignSettingsForm", CampaignSettings, list(CAMPAIGN_SETTINGS_FIELDS))

ProgrammeForm = _model_form(
    "ProgrammeForm", TierProgramme, ["basis", "window_months", "grace_days", "downgrade_mode"],
    widgets={"basis": forms.RadioSelect, "downgrade_mode": forms.RadioSelect})

TierForm = _model_form("TierForm", Tier, list(TIER_FIELDS),
                       widgets={"perks": forms.Textarea(attrs={"rows": 3})})



EARNING_SECTIONS = (
    (_("Earning"), ("points_per_currency_unit", "rounding", "max_points_per_visit", "pending_days")),
    (_("Bonuses"), ("signup_bonus", "first_visit_bonus", "birthday_month_multiplier",
                    "referral_bonus_referrer", "referral_bonus_referee")),
    (_("Expiry"), ("expiry_policy", "expiry_months", "year_end_carry_years", "expiry_warning_days")),
    (_("Manual adjustments"), ("adjustment_approval_threshold",)),
    (_("Points as cash at checkout"), ("points_per_cash_unit", "max_points_share_percent")),
)
EARNING_FIELDS = [name for _title, names in EARNING_SECTIONS for name in names]
MULTIPLIER_PREFIX = "category_"

_LoyaltyBase = _model_form("LoyaltyBase", LoyaltySettings, EARNING_FIELDS,
                           widgets={"expiry_policy": forms.RadioSelect})


class LoyaltySettingsForm(_LoyaltyBase):
    """The earning rules, expiry policy, approval threshold and points-as-cash limits, and one
    optional points multiplier per category (empty: the category earns at the base rate)."""

    def __init__(self, *args, categories: list[Category], **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = categories
        for name, validator in (("points_per_currency_unit", MinValueValidator(Decimal(0))),
                                ("birthday_month_multiplier", MinValueValidator(Decimal(1))),
                                ("points_per_cash_unit", MinValueValidator(1)),
                                ("max_points_share_percent", MaxValueValidator(100))):
            self.fields[name].validators.append(validator)
        for category in categories:
            self.fields[f"{MULTIPLIER_PREFIX}{category.pk}"] = forms.DecimalField(
                label=category.name, required=False, min_value=Decimal(0), max_digits=5, decimal_places=2,
                help_text=_("Empty: the base rate."))

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("expiry_policy") == LoyaltySettings.ExpiryPolicy.ROLLING
                and cleaned.get("expiry_months") is not None and cleaned["expiry_months"] < 1):
            self.add_error("expiry_months", _("Points that expire after N months need N of at least 1."))
        return cleaned

    def sections(self):
        grouped = [(title, [self[name] for name in names]) for title, names in EARNING_SECTIONS]
        if self.categories:
            grouped.insert(2, (_("Category multipliers"),
                               [self[f"{MULTIPLIER_PREFIX}{c.pk}"] for c in self.categories]))
        return grouped

    def settings_changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in EARNING_FIELDS}

    def category_multipliers(self) -> dict[int, Decimal]:
        return {category.pk: self.cleaned_data[f"{MULTIPLIER_PREFIX}{category.pk}"]
                for category in self.categories
                if self.cleaned_data.get(f"{MULTIPLIER_PREFIX}{category.pk}") is not None}



class RewardForm(_model_form("RewardBase", Reward, [*REWARD_FIELDS, "allowed_tiers"],
                             widgets={"kind": forms.RadioSelect, "allowed_tiers": forms.CheckboxSelectMultiple,
                                      "description": forms.Textarea(attrs={"rows": 3})})):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = CatalogueItem.objects.select_related("category").order_by("kind", "name")
        self.fields["coupon_template"].queryset = CouponTemplate.objects.order_by("name")
        self.fields["points_cost"].validators.append(MinValueValidator(1))
        self.fields["item"].help_text = _("For a treatment or product reward.")
        self.fields["coupon_template"].help_text = _("For a coupon reward: the coupon the member receives.")

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in REWARD_FIELDS}



class CouponTemplateForm(_model_form(
        "CouponTemplateBase", CouponTemplate, [*TEMPLATE_FIELDS, "categories"],
        widgets={"kind": forms.RadioSelect, "categories": forms.CheckboxSelectMultiple,
                 "valid_from": DATE, "valid_until": DATE})):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["free_item"].queryset = CatalogueItem.objects.order_by("kind", "name")
        self.fields["categories"].queryset = category_list()
        self.fields["amount"].help_text = _("For a fixed-amount coupon.")
        self.fields["percent"].help_text = _("For a percentage coupon, from 1 to 100.")
        self.fields["cap"].help_text = _("For a percentage coupon; empty: no cap.")
        self.fields["free_item"].help_text = _("For a free-item coupon.")
        self.fields["per_member_limit"].help_text = _("Empty: no limit.")
        self.fields["total_limit"].validators.append(MinValueValidator(1))

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in TEMPLATE_FIELDS}



class CatalogueItemForm(_model_form("CatalogueItemBase", CatalogueItem, list(ITEM_FIELDS),
                                    widgets={"kind": forms.RadioSelect})):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = category_list()
        self.fields["duration_minutes"].help_text = _("Treatments only.")
        self.fields["recall_days"].help_text = _(
            "When to invite the member back; empty: the interval learned from members' repeat visits, if any.")



CategoryForm = _model_form("CategoryForm", Category, list(CATEGORY_FIELDS))

ONLINE_BOOKING_FIELDS = ("online_booking_enabled", "online_min_notice_minutes", "online_max_days_ahead",
                         "cancel_window_hours", "reschedule_window_hours", "max_no_shows_online",
                         "deposit_amount")

OnlineBookingForm = _model_form("OnlineBookingForm", AppointmentPolicy, list(ONLINE_BOOKING_FIELDS))



class MessageTemplateForm(_model_form("MessageTemplateBase", MessageTemplate, ["subject", "body"],
                                      widgets={"body": forms.Textarea(attrs={"rows": 6})})):
    """A template's texts; only email templates have a subject."""

    def __init__(self, *args, channel: str, **kwargs):
        super().__init__(*args, **kwargs)
        if channel != Channel.EMAIL:
            del self.fields["subject"]
        else:
            self.fields["subject"].help_text = ""
        self.fields["body"].help_text = ""
        next(iter(self.fields.values())).widget.attrs["autofocus"] = True

    def texts(self) -> dict:
        return {"body": self.cleaned_data["body"], "subject": self.cleaned_data.get("subject")}


class MessagingSettingsForm(_model_form(
        "MessagingSettingsBase", MessagingSettings, list(MESSAGING_FIELDS),
        widgets={"default_channel": forms.RadioSelect, "quiet_hours_start": TIME, "quiet_hours_end": TIME})):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quiet_hours_end"].help_text = _("…until this time, in the clinic's time zone. The same "
                                                     "time twice: no quiet hours.")
        self.fields["marketing_weekly_cap"].validators.append(MaxValueValidator(MAX_WEEKLY_CAP))
        self.fields["marketing_weekly_cap"].help_text = _("At most this many marketing messages to one member "
                                                          "in any 7 days (0: none at all).")


class BirthdayOfferForm(forms.Form):
    """The birthday offer: the settings of the clinic's birthday campaign. The coupon is chosen
    among the active templates (and the one chosen before, if it has been deactivated since)."""

    enabled = forms.BooleanField(label=_("give birthday offers"), required=False)
    timing = forms.ChoiceField(label=_("when"), choices=BirthdayTiming.choices, widget=forms.RadioSelect)
    coupon_template = forms.ModelChoiceField(label=_("coupon"), queryset=CouponTemplate.objects.none(),
                                             required=False)
    bonus_points = forms.IntegerField(label=_("bonus points"), min_value=0, max_value=1_000_000)
    tier_gift = forms.BooleanField(label=_("add the tier's birthday gift"), required=False,
                                   help_text=_("The birthday gift points of the member's tier."))
    send_message = forms.BooleanField(label=_("send a birthday message"), required=False)

    def __init__(self, *args, current_coupon_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        coupons = self.fields["coupon_template"]
        active = Q(active=True) | Q(pk=current_coupon_id) if current_coupon_id else Q(active=True)
        coupons.queryset = CouponTemplate.objects.filter(active).order_by("-active", "name")
        coupons.empty_label = _("No coupon")
        coupons.help_text = _("The coupon the member receives; its validity starts on the day it is given.")
        self.fields["bonus_points"].help_text = _("Points given on top of the tier's birthday gift.")
        self.fields["send_message"].help_text = _("The “Birthday offer” message, with the member's consent.")


def birthday_offer_initial(offer) -> dict:
    return {name: getattr(offer, "coupon_template_id" if name == "coupon_template" else name)
            for name in BirthdayOfferForm.base_fields}


class MessageLogFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status")), *Message.Status.choices])
    purpose = forms.ChoiceField(label=_("Purpose"), required=False,
                                choices=[("", _("Any purpose")), *Purpose.choices])
    member = forms.CharField(label=_("Member"), required=False, max_length=100, widget=forms.TextInput(
        attrs={"type": "search", "placeholder": _("Phone, last 4 digits or name")}))
    created_from = forms.DateField(label=_("From"), required=False, widget=DATE)
    created_until = forms.DateField(label=_("Until"), required=False, widget=DATE)

    def clean(self):
        cleaned = super().clean()
        errors = message_log_days_errors(created_from=cleaned.get("created_from"),
                                         created_until=cleaned.get("created_until"))
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name, message)
        return cleaned

    def filters(self) -> dict:
        data = self.cleaned_data
        return {"status": data["status"], "purpose": data["purpose"], "member_query": data["member"],
                "created_from": data["created_from"], "created_until": data["created_until"]}


PortalSettingsForm = _model_form("PortalSettingsForm", PortalSettings, ["join_enabled", "profile_edit_enabled"])


class ErasureDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("erase", _("Erase the member's data")), ("decline", _("Decline"))],
                                 widget=forms.RadioSelect, label=_("Decision"))
    note = forms.CharField(label=_("Note"), max_length=500,
                           help_text=_("Recorded with the decision; the member sees it when you decline."))


class CouponIssueForm(forms.Form):
    idempotency_key = IdempotencyKeyField()
    template = forms.ModelChoiceField(label=_("Coupon"), queryset=CouponTemplate.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = coupon_template_list()


class CouponBulkIssueForm(CouponIssueForm):
    """Step one of a bulk issue: the coupon and whom to (a saved segment or an uploaded list)."""

    SEGMENT, LIST = "segment", "list"
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)
    source = forms.ChoiceField(label=_("To whom"), initial="segment", widget=forms.RadioSelect,
                               choices=[("segment", _("The members of a segment")),
                                        ("list", _("An uploaded list of members"))])
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=Segment.objects.none(), required=False)
    members_file = forms.FileField(
        label=_("List of members (CSV)"), required=False,
        help_text=_("A CSV file with a header row and a “phone” or “member_number” column (or both), one member "
                    "per line; UTF-8, as Excel saves it."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = segment_list()
        if self.data.get("source") is None and (self.files or {}).get("members_file") is not None:
            # A form sent without the choice but with a file (an older page): the list.
            self.data = self.data.copy()
            self.data["source"] = self.LIST

    def clean(self):
        data = super().clean()
        if data.get("source") == self.SEGMENT and not data.get("segment"):
            self.add_error("segment", _("Choose a segment."))
        if data.get("source") == self.LIST and not data.get("members_file"):
            self.add_error("members_file", _("Upload the list of members."))
        return data


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportRun.Kind.choices, widget=forms.RadioSelect)
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8 with a header row; the columns of each kind are "
                                                            "described in the import guide."),
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))


class ImportStartForm(forms.Form):
    skip_errors = forms.BooleanField(
        label=_("Import the valid rows and skip those with errors"), required=False,
        help_text=_("Without it, a file with any error imports nothing and every error is listed."))
