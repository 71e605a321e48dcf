"""The front desk's Today page and the clinic's job runs. The pages of each area live in their own
module (`member_views`, `checkout_views`, `points_views`, `booking_views`, …). Each view checks the
role, validates the form, calls one service or selector and renders; value-moving forms go
through `submit_once` so a double click moves nothing twice."""


from django.shortcuts import render
from django.views import View
from django.views.generic import TemplateView

from clinics.context import current_clinic
from frontdesk.base_views import StaffPermissionRequired
from frontdesk.selectors import today_overview
from idempotency.forms import idempotency_key_new
from jobs.models import JobRun
from jobs.selectors import job_run_list
from points.rules import clinic_zone


class HomeView(StaffPermissionRequired, TemplateView):
    """Today: birthdays, points about to expire and, for managers, adjustments to decide."""

    template_name = "frontdesk/home.html"

    def get_context_data(self, **kwargs):
        today = today_overview(user=self.request.user)
        appointments = [(booking, idempotency_key_new()) for booking in today.appointments]
        return {**super().get_context_data(**kwargs), "today": today, "appointment_rows": appointments,
                "tz": clinic_zone()}
class JobRunListView(StaffPermissionRequired, View):
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
