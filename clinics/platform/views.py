"""The platform console (public host) and the page for hosts that name no clinic."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import View

from clinic_loyalty.form_errors import apply_validation_error
from clinics.context import clinic_url
from clinics.models import Clinic
from clinics.platform.forms import ClinicCreateForm, ClinicSuspendForm
from clinics.platform.provisioning import OwnerSpec, clinic_create
from clinics.platform.selectors import clinic_list
from clinics.platform.services import clinic_reactivate, clinic_suspend
from jobs.models import JobRun
from jobs.selectors import job_run_list


class UnknownClinicView(View):
    """Any host that is neither the platform nor a clinic: a plain 404, no data."""

    def dispatch(self, request, *args, **kwargs):
        with translation.override(translation.get_language_from_request(request)):
            return render(request, "clinics/unknown.html", {"host": request.get_host()}, status=404)


class OperatorRequired(LoginRequiredMixin, UserPassesTestMixin):
    login_url = "platform:login"

    def test_func(self):
        return self.request.user.is_staff


class ClinicListView(OperatorRequired, View):
    def get(self, request):
        status = request.GET.get("status") or None
        if status not in (None, *Clinic.Status.values):
            status = None
        return render(request, "platform/clinic_list.html",
                      {"clinics": clinic_list(status=status), "status": status})


class ClinicCreateView(OperatorRequired, View):
    OWNER_FIELD_NAMES = {"username": "owner_username", "email": "owner_email", "full_name": "owner_name"}

    def get(self, request):
        return render(request, "platform/clinic_create.html", {"form": ClinicCreateForm()})

    def post(self, request):
        form = ClinicCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            owner = OwnerSpec(username=data["owner_username"], email=data["owner_email"],
                              full_name=data["owner_name"])
            try:
                clinic = clinic_create(slug=data["slug"], name=data["name"], owner=owner,
                                       time_zone=data["time_zone"], language=data["language"],
                                       currency=data["currency"], actor=request.user.username)
            except ValidationError as exc:
                apply_validation_error(form, exc, field_names=self.OWNER_FIELD_NAMES)
            else:
                messages.success(request, _("Clinic “%(name)s” created at %(url)s.")
                                 % {"name": clinic.name, "url": clinic_url(clinic)})
                return redirect("platform:clinic_detail", pk=clinic.pk)
        return render(request, "platform/clinic_create.html", {"form": form}, status=400)


class ClinicDetailView(OperatorRequired, View):
    def _render(self, request, clinic, form, status=200):
        context = {"c": clinic, "form": form, "events": clinic.events.all()[:50],
                   "url": clinic_url(clinic)}
        return render(request, "platform/clinic_detail.html", context, status=status)

    def get(self, request, pk: int):
        clinic = get_object_or_404(clinic_list(), pk=pk)
        return self._render(request, clinic, ClinicSuspendForm())

    def post(self, request, pk: int):
        clinic = get_object_or_404(clinic_list(), pk=pk)
        action = request.POST.get("action")
        form = ClinicSuspendForm(request.POST)
        try:
            if action == "suspend":
                if not form.is_valid():
                    return self._render(request, clinic, form, status=400)
                clinic_suspend(clinic=clinic, actor=request.user.username,
                               reason=form.cleaned_data["reason"])
                messages.success(request, _("Clinic suspended."))
            elif action == "reactivate":
                clinic_reactivate(clinic=clinic, actor=request.user.username,
                                  reason=request.POST.get("reason", ""))
                messages.success(request, _("Clinic reactivated."))
            else:
                form.add_error(None, _("Unknown action."))
                return self._render(request, clinic, form, status=400)
        except ValidationError as exc:
            apply_validation_error(form, exc)
            return self._render(request, clinic, form, status=400)
        return redirect("platform:clinic_detail", pk=clinic.pk)


class JobRunListView(OperatorRequired, View):
    """The latest runs of background jobs, of every clinic and of the platform."""

    LIMIT = 200

    def get(self, request):
        clinics = clinic_list().order_by("name")
        clinic_id = request.GET.get("clinic", "")
        clinic = clinics.filter(pk=clinic_id).first() if clinic_id.isdigit() else None
        status = request.GET.get("status")
        if status not in JobRun.Status.values:
            status = None
        runs = job_run_list(clinic=clinic, status=status)[:self.LIMIT]
        return render(request, "platform/job_run_list.html",
                      {"runs": runs, "clinics": clinics, "clinic": clinic, "status": status,
                       "statuses": JobRun.Status.choices})
