"""The manager's campaign pages: list, editor (also from a ready-made template), the campaign's
page with its launch preview, launch and cancel, events and stored results with a chart, and the
annual calendar. Thin: forms in, services and selectors out."""

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from campaigns.calendar import TEMPLATES, holidays_in, template_get, template_initial
from campaigns.campaign_services import campaign_cancel, campaign_create, campaign_launch, campaign_update
from campaigns.forms import CampaignForm, CancelForm, initial_from
from campaigns.models import Campaign, CampaignResult
from campaigns.schedules import PER_MEMBER, occurrences_between
from campaigns.selectors import campaign_given, campaign_grants_list, campaign_preview
from clinic_loyalty.form_errors import apply_validation_error
from clinics.context import current_clinic
from manager.once import FIELD as TOKEN_FIELD
from manager.once import form_token_new, post_once
from manager.views import SettingsRequired
from points.rules import local_date


def _language() -> str:
    clinic = current_clinic()
    return clinic.language if clinic else "zh-hans"


class CampaignListView(SettingsRequired, View):
    def get(self, request):
        campaigns = Campaign.objects.select_related("segment").order_by("-starts_on", "-id")[:300]
        return render(request, "campaigns/list.html", {"campaigns": campaigns, "templates": TEMPLATES})


class CampaignFormView(SettingsRequired, View):
    """A new draft (empty, or from a template with ?template=key), or a draft changed."""

    def _render(self, request, form, campaign=None, status=200):
        return render(request, "campaigns/form.html", {
            "form": form, "campaign": campaign, "token": form_token_new(), "token_field": TOKEN_FIELD}, status=status)

    def get(self, request, pk: int | None = None):
        if pk is not None:
            campaign = get_object_or_404(Campaign, pk=pk)
            return self._render(request, CampaignForm(initial=initial_from(campaign)), campaign)
        template = template_get(request.GET.get("template", ""))
        initial = template_initial(template, today=local_date(timezone.now()), language=_language()) if template \
            else {"starts_on": local_date(timezone.now())}
        return self._render(request, CampaignForm(initial=initial))

    def post(self, request, pk: int | None = None):
        campaign = get_object_or_404(Campaign, pk=pk) if pk is not None else None
        form = CampaignForm(request.POST)

        def save():
            if not form.is_valid():
                return self._render(request, form, campaign, status=400)
            try:
                if campaign is None:
                    saved = campaign_create(actor=request.user, **form.values())
                else:
                    saved = campaign_update(campaign=campaign, actor=request.user, **form.values())
            except ValidationError as exc:
                apply_validation_error(form, exc, field_names={
                    "messages.sms.body": "sms_body", "messages.email.body": "email_body",
                    "messages.email.subject": "email_subject", "messages.wechat.body": "wechat_body"})
                return self._render(request, form, campaign, status=400)
            messages.success(request, _("The campaign is saved."))
            return redirect("campaigns:detail", pk=saved.pk)

        return post_once(request, save)


class CampaignDetailView(SettingsRequired, View):
    """The campaign: its settings, the launch preview (a draft), launch and cancel, what it has
    given, its history, and its stored results."""

    def get(self, request, pk: int, cancel_form=None, status=200):
        campaign = get_object_or_404(Campaign.objects.select_related("segment", "coupon_template", "min_tier"),
                                     pk=pk)
        preview = campaign_preview(campaign) if campaign.status == Campaign.Status.DRAFT else None
        result = CampaignResult.objects.filter(campaign=campaign).first()
        chart = None
        if result:
            groups = result.figures["groups"]
            chart = {"labels": [_("Treated"), _("Control")],
                     "revenue_per_member": [groups["treated"]["revenue_per_member"],
                                            groups["control"]["revenue_per_member"]],
                     "visit_rate": [groups["treated"]["visit_rate"], groups["control"]["visit_rate"]],
                     "title": _("Revenue per member"), "visit_title": _("Visit rate")}
        return render(request, "campaigns/detail.html", {
            "campaign": campaign, "preview": preview, "result": result, "chart": chart,
            "given": campaign_given(campaign), "grants": campaign_grants_list(campaign, limit=50),
            "events": campaign.events.select_related("actor").order_by("at", "id"),
            "occurrences": campaign.occurrences.order_by("on"),
            "cancel_form": cancel_form or CancelForm(), "token": form_token_new(), "token_field": TOKEN_FIELD,
            "can_cancel": campaign.status in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED,
                                              Campaign.Status.RUNNING)}, status=status)


class CampaignLaunchView(SettingsRequired, View):
    def post(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)

        def launch():
            try:
                campaign_launch(campaign=campaign, actor=request.user)
            except ValidationError as exc:
                for text in exc.messages:
                    messages.error(request, text)
                return redirect("campaigns:detail", pk=pk)
            messages.success(request, _("The campaign is launched."))
            return redirect("campaigns:detail", pk=pk)

        return post_once(request, launch)


class CampaignCancelView(SettingsRequired, View):
    def post(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        form = CancelForm(request.POST)

        def cancel():
            if not form.is_valid():
                return CampaignDetailView().get(request, pk, cancel_form=form, status=400)
            try:
                campaign_cancel(campaign=campaign, actor=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                for text in exc.messages:
                    messages.error(request, text)
                return redirect("campaigns:detail", pk=pk)
            messages.success(request, _("The campaign is cancelled; what was already given stays."))
            return redirect("campaigns:detail", pk=pk)

        return post_once(request, cancel)


class CampaignCalendarView(SettingsRequired, View):
    """The year's campaigns on a calendar, the holidays marked, and the templates to start from."""

    def get(self, request):
        today = local_date(timezone.now())
        try:
            year = int(request.GET.get("year", today.year))
        except ValueError:
            year = today.year
        year = min(max(year, 2000), 2098)
        first, last = date(year, 1, 1), date(year, 12, 31)
        days: dict[date, dict] = {}
        for day, holiday in holidays_in(year, _language()):
            days.setdefault(day, {"holidays": [], "campaigns": []})["holidays"].append(holiday.name)
        campaigns = Campaign.objects.exclude(status=Campaign.Status.CANCELLED)
        for campaign in campaigns:
            if campaign.schedule in PER_MEMBER:
                continue
            for day in occurrences_between(campaign, first, last):
                days.setdefault(day, {"holidays": [], "campaigns": []})["campaigns"].append(campaign)
        months = []
        for month in range(1, 13):
            entries = sorted((d, v) for d, v in days.items() if d.month == month)
            months.append({"month": date(year, month, 1), "entries": entries})
        triggered = [c for c in campaigns if c.schedule in PER_MEMBER]
        return render(request, "campaigns/calendar.html", {
            "year": year, "months": months, "triggered": triggered, "templates": TEMPLATES})
