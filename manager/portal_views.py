"""The manager's pages about the member portal: its settings, and members' requests to erase
their data."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from accounts.page_permissions import PermissionRequired
from clinic_loyalty.form_errors import apply_validation_error
from manager import forms
from manager.views import SettingsRequired, form_saved
from portal.models import ErasureRequest
from portal.selectors import erasure_requests_pending
from portal.services import erasure_request_decide, portal_settings, portal_settings_update


class PortalSettingsView(SettingsRequired, View):
    def _render(self, request, form, status=200):
        return render(request, "manager/portal_settings.html", {"form": form}, status=status)

    def get(self, request):
        initial = forms.initial_from(portal_settings(), forms.PortalSettingsForm)
        return self._render(request, forms.PortalSettingsForm(initial=initial))

    def post(self, request):
        form = forms.PortalSettingsForm(request.POST)
        saved = form_saved(request, form, lambda: portal_settings_update(actor=request.user, **form.cleaned_data),
                           saved_message=_("Portal settings saved."), url="manager:portal_settings")
        return saved or self._render(request, form, status=400)


class ManageMembersRequired(PermissionRequired):
    permission_required = "members.manage_member"


class ErasureRequestsView(ManageMembersRequired, View):
    """Members' requests from the portal to erase their data, oldest first; each is decided here."""

    def _render(self, request, *, failed: tuple[int, object] | None = None, status=200):
        rows = [(item, failed[1] if failed and failed[0] == item.pk else forms.ErasureDecisionForm())
                for item in erasure_requests_pending()]
        return render(request, "manager/erasure_requests.html", {"rows": rows}, status=status)

    def get(self, request):
        return self._render(request)

    def post(self, request, pk: int):
        item = get_object_or_404(ErasureRequest, pk=pk)
        form = forms.ErasureDecisionForm(request.POST)
        if form.is_valid():
            try:
                erasure_request_decide(request=item, actor=request.user, erase=form.cleaned_data["decision"] == "erase",
                                       note=form.cleaned_data["note"])
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, _("Request decided."))
                return redirect("manager:erasure_requests")
        return self._render(request, failed=(item.pk, form), status=400)
