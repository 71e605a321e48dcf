"""The recall list page: who is due for the next session of a treatment (overdue or soon), with
the recall follow-up of the queue and whether anyone has contacted them yet. It reads
`feedback.selectors.recall_board`, which is the appointments recall list joined to the recall
follow-ups; contacting is recorded on the follow-up's own page."""

from django.shortcuts import render
from django.views import View

from feedback.forms import RecallFilterForm
from feedback.selectors import recall_board
from frontdesk.base_views import StaffPermissionRequired
from points.rules import clinic_zone

RECALL_PAGE_LIMIT = 300


class RecallListView(StaffPermissionRequired, View):
    def get(self, request):
        form = RecallFilterForm(request.GET or None)
        status = 200
        if form.is_bound and not form.is_valid():
            rows, status = [], 400
        else:
            rows = recall_board(**(form.filters() if form.is_bound else RecallFilterForm.DEFAULTS))
        return render(request, "feedback/recalls.html", {
            "form": form, "rows": rows[:RECALL_PAGE_LIMIT], "count": len(rows), "limit": RECALL_PAGE_LIMIT,
            "tz": clinic_zone()}, status=status)
