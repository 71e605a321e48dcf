"""The manager's pages for messages to members: the templates, the messaging rules, the message
log, and the birthday offer. Like every settings page they are for owners and managers only;
the views adapt forms to the services in messaging and campaigns."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from campaigns.services import birthday_offer, birthday_offer_update
from clinic_loyalty.form_errors import apply_validation_error
from clinics.context import current_clinic
from manager import forms
from manager.views import SettingsRequired, form_saved
from messaging.defaults import default_template_text
from messaging.models import MARKETING_PURPOSES, PURPOSE_VARIABLES, VARIABLE_LABELS, MessageTemplate, Purpose
from messaging.rendering import template_preview
from messaging.selectors import message_get, message_list, message_templates_by_purpose
from messaging.services import (
    message_template_restore_default,
    message_template_update,
    messaging_settings,
    messaging_settings_update,
)
from points.rules import clinic_zone

LOG_PAGE_SIZE = 50


def _preview(template: MessageTemplate, texts: dict) -> dict:
    subject, body = template_preview(purpose=template.purpose, language=template.language, body=texts["body"],
                                     subject=texts.get("subject") or "")
    return {"subject": subject, "body": body, "length": len(body)}


class MessageTemplateListView(SettingsRequired, View):
    def get(self, request):
        clinic = current_clinic()
        groups = [(Purpose(purpose).label, purpose in MARKETING_PURPOSES, templates)
                  for purpose, templates in message_templates_by_purpose()]
        return render(request, "manager/message_templates.html",
                      {"groups": groups, "clinic_language": clinic.language if clinic else settings.LANGUAGE_CODE})


class MessageTemplateEditView(SettingsRequired, View):
    """A template's subject (email only) and text, with the variables its purpose offers and a
    preview filled in with invented values. "Preview" shows it without saving."""

    def _render(self, request, template, form, preview=None, status=200):
        variables = [(name, VARIABLE_LABELS[name]) for name in PURPOSE_VARIABLES[template.purpose]]
        has_default = default_template_text(purpose=template.purpose, channel=template.channel,
                                            language=template.language) is not None
        return render(request, "manager/message_template.html",
                      {"template": template, "form": form, "preview": preview, "variables": variables,
                       "marketing": template.purpose in MARKETING_PURPOSES, "has_default": has_default},
                      status=status)

    def get(self, request, pk):
        template = get_object_or_404(MessageTemplate, pk=pk)
        form = forms.MessageTemplateForm(initial={"subject": template.subject, "body": template.body},
                                         channel=template.channel)
        try:
            preview = _preview(template, {"subject": template.subject, "body": template.body})
        except ValidationError:
            preview = None
        return self._render(request, template, form, preview)

    def post(self, request, pk):
        template = get_object_or_404(MessageTemplate, pk=pk)
        form = forms.MessageTemplateForm(request.POST, channel=template.channel)
        if form.is_valid():
            try:
                if request.POST.get("action") == "preview":
                    return self._render(request, template, form, _preview(template, form.texts()))
                message_template_update(template=template, actor=request.user, **form.texts())
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, _("Template saved."))
                return redirect("manager:message_templates")
        return self._render(request, template, form, status=400)


class MessageTemplatePreviewView(SettingsRequired, View):
    """The preview panel of the template page, redrawn by HTMX as the text is typed. It always
    answers 200 (HTMX swaps nothing else), with the problem in the panel if the text is wrong."""

    def post(self, request, pk):
        template = get_object_or_404(MessageTemplate, pk=pk)
        form = forms.MessageTemplateForm(request.POST, channel=template.channel)
        preview, problems = None, []
        if form.is_valid():
            try:
                preview = _preview(template, form.texts())
            except ValidationError as exc:
                problems = exc.messages
        else:
            problems = [error for errors in form.errors.values() for error in errors]
        return render(request, "manager/_message_preview.html",
                      {"template": template, "preview": preview, "problems": problems})


class MessageTemplateRestoreView(SettingsRequired, View):
    """POST: the template's default text again. Sending it twice changes nothing more."""

    def post(self, request, pk):
        template = get_object_or_404(MessageTemplate, pk=pk)
        try:
            message_template_restore_default(template=template, actor=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("The default text is restored."))
        return redirect("manager:message_template_edit", pk=template.pk)


class MessagingSettingsView(SettingsRequired, View):
    """Default channel, quiet hours, the weekly cap of marketing messages, service messages on or
    off."""

    def _render(self, request, form, status=200):
        return render(request, "manager/messaging_settings.html", {"form": form}, status=status)

    def get(self, request):
        initial = forms.initial_from(messaging_settings(), forms.MessagingSettingsForm)
        return self._render(request, forms.MessagingSettingsForm(initial=initial))

    def post(self, request):
        form = forms.MessagingSettingsForm(request.POST)
        saved = form_saved(request, form, lambda: messaging_settings_update(actor=request.user, **form.cleaned_data),
                          saved_message=_("Messaging settings saved."), url="manager:messaging_settings")
        return saved or self._render(request, form, status=400)


class MessageLogView(SettingsRequired, View):
    """Every message to a member, newest first, filtered by status, purpose, member and days."""

    def get(self, request):
        form = forms.MessageLogFilterForm(request.GET)
        context = {"form": form, "tz": clinic_zone(), "page": None}
        if not form.is_valid():
            return render(request, "manager/message_log.html", context, status=400)
        page = Paginator(message_list(**form.filters()), LOG_PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        return render(request, "manager/message_log.html", {**context, "page": page, "query": query.urlencode()})


class MessageDetailView(SettingsRequired, View):
    def get(self, request, pk):
        message = message_get(pk=pk)
        if message is None:
            raise Http404
        return render(request, "manager/message_detail.html", {"message": message, "tz": clinic_zone()})


class BirthdayOfferView(SettingsRequired, View):
    """The birthday offer, which is the clinic's birthday campaign: whether and when members get
    it, and what it is (bonus points, the tier's birthday gift, a coupon, the birthday message).
    The campaign's page has the rest: its history, what it gave, its control group and results."""

    def _render(self, request, form, offer, status=200):
        coupon = offer.coupon_template
        return render(request, "manager/birthday_offer.html",
                      {"form": form, "inactive_coupon": coupon if coupon and not coupon.active else None,
                       "campaign": offer.campaign}, status=status)

    def get(self, request):
        offer = birthday_offer()
        form = forms.BirthdayOfferForm(initial=forms.birthday_offer_initial(offer),
                                       current_coupon_id=offer.coupon_template_id)
        return self._render(request, form, offer)

    def post(self, request):
        offer = birthday_offer()
        form = forms.BirthdayOfferForm(request.POST, current_coupon_id=offer.coupon_template_id)
        saved = form_saved(request, form, lambda: birthday_offer_update(actor=request.user, **form.cleaned_data),
                          saved_message=_("Birthday offer saved."), url="manager:birthday_offer")
        return saved or self._render(request, form, offer, status=400)
