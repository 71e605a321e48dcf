"""The manager's settings pages. Every page needs the settings permission (owners and
managers); the views only adapt forms to the services in tiers, points and visits."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from accounts.page_permissions import PermissionRequired
from appointments.schedule import appointment_policy, appointment_policy_update
from campaigns.campaign_services import campaign_settings_update
from campaigns.selectors import campaign_settings
from clinic_loyalty.form_errors import apply_validation_error
from insights.selectors import insights_settings
from insights.services import insights_settings_update
from manager import forms
from manager.once import FIELD as TOKEN_FIELD
from manager.once import TokenMissing, form_token_new, post_once
from points.coupons import coupon_template_create, coupon_template_update
from points.models import CouponTemplate, Reward
from points.rewards import reward_create, reward_update
from points.rules import category_multipliers, loyalty_settings, loyalty_settings_update
from points.selectors import coupon_template_list, reward_list
from tiers.models import Tier
from tiers.selectors import programme_get, tiers_list
from tiers.services import programme_update, tier_create, tier_delete, tier_update
from visits.models import CatalogueItem, Category
from visits.selectors import catalogue_list, category_list
from visits.services import (
    catalogue_item_create,
    catalogue_item_update,
    category_create,
    category_delete,
    category_update,
)


class SettingsRequired(PermissionRequired):
    """Owners and managers only: anyone else signed in gets 403, a visitor the login page."""

    permission_required = "accounts.manage_settings"


def form_saved(request, form, save, *, saved_message, url):
    """Validate `form` and call `save()`, which calls the service; on success the page's message
    and a redirect to `url`. None when the form or the service refused it: the errors are then on
    the form, next to their fields."""
    if not form.is_valid():
        return None
    try:
        save()
    except ValidationError as exc:
        apply_validation_error(form, exc)
        return None
    messages.success(request, saved_message)
    return redirect(url)


class IndexView(SettingsRequired, View):
    def get(self, request):
        return render(request, "manager/index.html")


class TierProgrammeView(SettingsRequired, View):
    """The tier programme (how members qualify) and the list of tiers."""

    def _render(self, request, form, status=200):
        return render(request, "manager/tiers.html", {"form": form, "tiers": tiers_list()}, status=status)

    def get(self, request):
        programme = programme_get()
        return self._render(request, forms.ProgrammeForm(initial=forms.initial_from(programme, forms.ProgrammeForm)))

    def post(self, request):
        form = forms.ProgrammeForm(request.POST)
        saved = form_saved(request, form, lambda: programme_update(actor=request.user, **form.cleaned_data),
                          saved_message=_("Tier programme saved."), url="manager:tiers")
        return saved or self._render(request, form, status=400)


class _FormPage(SettingsRequired, View):
    """A page with one form: create (`pk` absent) or edit an object through its services.
    Subclasses set the form, model and texts and define `create(request, form)` and
    `update(request, obj, form)`, which call the services; a creating POST goes through
    `post_once`."""

    form_class: type
    model: type
    template_name = "manager/form_page.html"
    list_url: str
    create_heading = ""
    edit_heading = ""
    saved_message = gettext_lazy("Saved.")

    def get_object(self, pk):
        return get_object_or_404(self.model, pk=pk)

    def form_kwargs(self) -> dict:
        return {}

    def initial(self, obj) -> dict:
        return forms.initial_from(obj, self.form_class)

    def extra_context(self, obj) -> dict:
        return {}

    def _render(self, request, form, obj, status=200, token=None):
        context = {"form": form, "object": obj, "list_url": reverse(self.list_url),
                   "heading": self.edit_heading if obj else self.create_heading,
                   "token_field": TOKEN_FIELD, "token": token, **self.extra_context(obj)}
        return render(request, self.template_name, context, status=status)

    def get(self, request, pk=None):
        if pk is None:
            return self._render(request, self.form_class(**self.form_kwargs()), None, token=form_token_new())
        obj = self.get_object(pk)
        form = self.form_class(initial=self.initial(obj), **self.form_kwargs())
        return self._render(request, form, obj)

    def _save(self, request, form, obj):
        def save():
            if obj is None:
                self.create(request, form)
            else:
                self.update(request, obj, form)
        return form_saved(request, form, save, saved_message=self.saved_message, url=self.list_url)

    def post(self, request, pk=None):
        obj = self.get_object(pk) if pk is not None else None
        form = self.form_class(request.POST, **self.form_kwargs())
        if obj is not None:
            return self._save(request, form, obj) or self._render(request, form, obj, status=400)
        token = request.POST.get(TOKEN_FIELD, "")

        def handle():
            return self._save(request, form, None) or self._render(request, form, None, status=400,
                                                                   token=token)
        try:
            return post_once(request, handle)
        except TokenMissing:
            form.is_valid()
            form.add_error(None, _("This form has expired. Please check the values and send it again."))
            return self._render(request, form, None, status=400, token=form_token_new())


class _ActiveView(SettingsRequired, View):
    """POST `active=1` or `active=0`: activate or deactivate, through the subclass's
    `set_active(request, obj, active)`. Sending it twice changes nothing more."""

    model: type
    list_url: str

    def post(self, request, pk):
        obj = get_object_or_404(self.model, pk=pk)
        active = request.POST.get("active")
        if active not in ("0", "1"):
            raise Http404
        try:
            self.set_active(request, obj, active == "1")
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("“%(name)s” is now active.") % {"name": obj} if active == "1"
                             else _("“%(name)s” is now inactive.") % {"name": obj})
        return redirect(self.list_url)


class _DeleteView(SettingsRequired, View):
    """POST: remove, through the subclass's `delete(request, obj)`, if the service allows it."""

    model: type
    list_url: str

    def post(self, request, pk):
        obj = self.model.objects.filter(pk=pk).first()
        if obj is None:
            messages.info(request, _("It had already been removed."))
            return redirect(self.list_url)
        try:
            self.delete(request, obj)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("“%(name)s” removed.") % {"name": obj})
        return redirect(self.list_url)


# Tiers


class TierFormView(_FormPage):
    form_class = forms.TierForm
    model = Tier
    list_url = "manager:tiers"
    create_heading = gettext_lazy("New tier")
    edit_heading = gettext_lazy("Edit tier")
    saved_message = gettext_lazy("Tier saved.")

    def create(self, request, form):
        tier_create(actor=request.user, **form.cleaned_data)

    def update(self, request, obj, form):
        tier_update(tier=obj, actor=request.user, **form.cleaned_data)

    def extra_context(self, obj):
        return {"delete_url": reverse("manager:tier_delete", args=[obj.pk]) if obj and obj.rank else None}


class TierDeleteView(_DeleteView):
    model = Tier
    list_url = "manager:tiers"

    def delete(self, request, obj):
        tier_delete(tier=obj, actor=request.user)


# Earning rules and expiry


class LoyaltySettingsView(SettingsRequired, View):
    """Earning rules, bonuses, category multipliers, expiry policy, the adjustment-approval
    threshold and points as cash, on one form."""

    def _render(self, request, form, status=200):
        return render(request, "manager/points.html", {"form": form}, status=status)

    def get(self, request):
        categories = list(category_list())
        initial = forms.initial_from(loyalty_settings(), forms.LoyaltySettingsForm)
        multipliers = category_multipliers()
        initial.update({f"{forms.MULTIPLIER_PREFIX}{pk}": value for pk, value in multipliers.items()})
        return self._render(request, forms.LoyaltySettingsForm(initial=initial, categories=categories))

    def post(self, request):
        form = forms.LoyaltySettingsForm(request.POST, categories=list(category_list()))

        def save():
            loyalty_settings_update(actor=request.user, category_multipliers=form.category_multipliers(),
                                    **form.settings_changes())
        saved = form_saved(request, form, save, saved_message=_("Points rules saved."), url="manager:points")
        return saved or self._render(request, form, status=400)


class InsightsSettingsView(SettingsRequired, View):
    """The lifecycle thresholds (active, dormant, lapsed by days since the last visit) and the
    RFM window the Insights dashboard uses."""

    def _render(self, request, form, status=200):
        return render(request, "manager/insights_settings.html", {"form": form}, status=status)

    def get(self, request):
        return self._render(request, forms.InsightsSettingsForm(
            initial=forms.initial_from(insights_settings(), forms.InsightsSettingsForm)))

    def post(self, request):
        form = forms.InsightsSettingsForm(request.POST)
        saved = form_saved(request, form, lambda: insights_settings_update(actor=request.user, **form.cleaned_data),
                           saved_message=_("KPI settings saved."), url="manager:insights_settings")
        return saved or self._render(request, form, status=400)


class CampaignSettingsView(SettingsRequired, View):
    """What campaign results are measured with (gross margin rate, the price of a message per
    channel, the cost of a point, the days after the window) and the default control group."""

    def _render(self, request, form, status=200):
        return render(request, "manager/campaign_settings.html", {"form": form}, status=status)

    def get(self, request):
        return self._render(request, forms.CampaignSettingsForm(
            initial=forms.initial_from(campaign_settings(), forms.CampaignSettingsForm)))

    def post(self, request):
        form = forms.CampaignSettingsForm(request.POST)
        saved = form_saved(request, form, lambda: campaign_settings_update(actor=request.user, **form.cleaned_data),
                           saved_message=_("Campaign settings saved."), url="manager:campaign_settings")
        return saved or self._render(request, form, status=400)


# Rewards


class RewardListView(SettingsRequired, View):
    def get(self, request):
        rewards = reward_list(include_inactive=True).order_by("-active", "points_cost", "name")
        return render(request, "manager/rewards.html", {"rewards": rewards})


class RewardFormView(_FormPage):
    form_class = forms.RewardForm
    model = Reward
    list_url = "manager:rewards"
    create_heading = gettext_lazy("New reward")
    edit_heading = gettext_lazy("Edit reward")
    saved_message = gettext_lazy("Reward saved.")

    def create(self, request, form):
        reward_create(actor=request.user, allowed_tiers=form.cleaned_data["allowed_tiers"], **form.changes())

    def update(self, request, obj, form):
        reward_update(reward=obj, actor=request.user, allowed_tiers=form.cleaned_data["allowed_tiers"],
                      **form.changes())


class RewardActiveView(_ActiveView):
    model = Reward
    list_url = "manager:rewards"

    def set_active(self, request, obj, active):
        reward_update(reward=obj, actor=request.user, active=active)


# Coupon templates


class CouponTemplateListView(SettingsRequired, View):
    def get(self, request):
        templates = coupon_template_list(include_inactive=True).order_by("-active", "name")
        return render(request, "manager/coupons.html", {"templates": templates})


class CouponTemplateFormView(_FormPage):
    form_class = forms.CouponTemplateForm
    model = CouponTemplate
    list_url = "manager:coupons"
    create_heading = gettext_lazy("New coupon template")
    edit_heading = gettext_lazy("Edit coupon template")
    saved_message = gettext_lazy("Coupon template saved.")

    def create(self, request, form):
        coupon_template_create(actor=request.user, categories=form.cleaned_data["categories"], **form.changes())

    def update(self, request, obj, form):
        coupon_template_update(template=obj, actor=request.user, categories=form.cleaned_data["categories"],
                               **form.changes())


class CouponTemplateActiveView(_ActiveView):
    model = CouponTemplate
    list_url = "manager:coupons"

    def set_active(self, request, obj, active):
        coupon_template_update(template=obj, actor=request.user, active=active)


# Catalogue


class CatalogueView(SettingsRequired, View):
    def get(self, request):
        return render(request, "manager/catalogue.html",
                      {"items": catalogue_list(active_only=False).order_by("-active", "kind", "name"),
                       "categories": category_list()})


class CatalogueItemFormView(_FormPage):
    form_class = forms.CatalogueItemForm
    model = CatalogueItem
    list_url = "manager:catalogue"
    create_heading = gettext_lazy("New treatment or product")
    edit_heading = gettext_lazy("Edit treatment or product")
    saved_message = gettext_lazy("Catalogue item saved.")

    def create(self, request, form):
        catalogue_item_create(actor=request.user, **form.cleaned_data)

    def update(self, request, obj, form):
        catalogue_item_update(item=obj, actor=request.user, **form.cleaned_data)


class CatalogueItemActiveView(_ActiveView):
    model = CatalogueItem
    list_url = "manager:catalogue"

    def set_active(self, request, obj, active):
        catalogue_item_update(item=obj, actor=request.user, active=active)


class CategoryFormView(_FormPage):
    form_class = forms.CategoryForm
    model = Category
    list_url = "manager:catalogue"
    create_heading = gettext_lazy("New category")
    edit_heading = gettext_lazy("Edit category")
    saved_message = gettext_lazy("Category saved.")

    def create(self, request, form):
        category_create(actor=request.user, **form.cleaned_data)

    def update(self, request, obj, form):
        category_update(category=obj, actor=request.user, **form.cleaned_data)

    def extra_context(self, obj):
        return {"delete_url": reverse("manager:category_delete", args=[obj.pk]) if obj else None}


class CategoryDeleteView(_DeleteView):
    model = Category
    list_url = "manager:catalogue"

    def delete(self, request, obj):
        category_delete(category=obj, actor=request.user)


class OnlineBookingView(SettingsRequired, View):
    """Whether members book online, and the policy that holds them: notice, horizon, the
    cancellation and reschedule windows, no-shows before online booking is blocked, the deposit.
    Which treatments can be booked online is set per treatment in the catalogue."""

    def _render(self, request, form, status=200):
        return render(request, "manager/online_booking.html", {"form": form}, status=status)

    def get(self, request):
        initial = forms.initial_from(appointment_policy(), forms.OnlineBookingForm)
        return self._render(request, forms.OnlineBookingForm(initial=initial))

    def post(self, request):
        form = forms.OnlineBookingForm(request.POST)
        saved = form_saved(request, form, lambda: appointment_policy_update(actor=request.user, **form.cleaned_data),
                           saved_message=_("Online booking settings saved."), url="manager:online_booking")
        return saved or self._render(request, form, status=400)
