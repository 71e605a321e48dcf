from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.shortcuts import render
from django.views import View
from django.views.generic import TemplateView

from clinics.context import current_clinic
from jobs.models import JobRun
from jobs.selectors import job_run_list


class HomeView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """The front desk's start page."""

    permission_required = "accounts.use_frontdesk"
    template_name = "frontdesk/home.html"


class JobRunListView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The latest runs of this clinic's background jobs."""

    permission_required = "accounts.manage_settings"
    LIMIT = 100

    def get(self, request):
        status = request.GET.get("status")
        if status not in JobRun.Status.values:
            status = None
        runs = job_run_list(clinic=current_clinic(), status=status)[:self.LIMIT]
        return render(request, "frontdesk/job_runs.html",
                      {"runs": runs, "status": status, "statuses": JobRun.Status.choices})
