"""The "Audit log" page: changes to the clinic's settings, filtered, and their CSV export. Owners
and managers only, as every settings page."""

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from audit.forms import AuditFilterForm
from audit.selectors import change_fields, object_type_label, settings_change_list, settings_changes_csv
from clinics.context import clinic_zone
from manager.views import SettingsRequired

PAGE_SIZE = 50


class AuditLogView(SettingsRequired, View):
    def get(self, request):
        form = AuditFilterForm(request.GET)
        context = {"form": form, "tz": clinic_zone(), "page": None}
        if not form.is_valid():
            return render(request, "audit/audit_log.html", context, status=400)
        changes = settings_change_list(**form.filters())
        if request.GET.get("format") == "csv":
            response = HttpResponse(settings_changes_csv(changes), content_type="text/csv; charset=utf-8")
            day = timezone.localdate(timezone.now(), clinic_zone())
            response["Content-Disposition"] = f'attachment; filename="audit-log-{day:%Y-%m-%d}.csv"'
            return response
        page = Paginator(changes, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [{"change": change, "type": object_type_label(change.object_type), "fields": change_fields(change)}
                for change in page]
        query = request.GET.copy()
        query.pop("page", None)
        query.pop("format", None)
        return render(request, "audit/audit_log.html",
                      {**context, "page": page, "rows": rows, "query": query.urlencode()})
