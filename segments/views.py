"""The manager's segment pages: the list, the editor with its live count and sample, the CSV
export. Owners and managers only. The views adapt the editor's rows (segments.forms) to the
services and selectors."""

import csv

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from clinic_loyalty.form_errors import apply_validation_error
from manager.once import FIELD as TOKEN_FIELD
from manager.once import TokenMissing, form_token_new, post_once
from manager.views import SettingsRequired
from points.rules import local_date
from segments.conditions import KINDS, conditions_clean
from segments.forms import SegmentForm, blank_row, conditions_from_post, kind_choices, rows_of
from segments.models import Segment
from segments.selectors import segment_count, segment_list, segment_members, segment_preview
from segments.services import segment_archive, segment_create, segment_update

SAMPLE = 10
MAX_ROWS = 60


class SegmentListView(SettingsRequired, View):
    def get(self, request):
        archived = request.GET.get("archived") == "1"
        return render(request, "manager/segments/list.html", {"segments": segment_list(archived=archived),
                                                      "archived": archived})


class SegmentCountView(SettingsRequired, View):
    """The count of one saved segment, loaded into the list after the page."""

    def get(self, request, pk: int):
        segment = get_object_or_404(Segment, pk=pk)
        return HttpResponse(f"{segment_count(segment):,}")


class SegmentEditView(SettingsRequired, View):
    template = "manager/segments/edit.html"

    def _render(self, request, form, segment, rows, groups, *, status=200, token=None, error=None):
        return render(request, self.template, {
            "form": form, "segment": segment, "rows": rows, "negated_groups": groups, "kinds": kind_choices(),
            "next_index": len(rows), "token_field": TOKEN_FIELD, "token": token, "conditions_error": error,
        }, status=status)

    def get(self, request, pk=None):
        if pk is None:
            return self._render(request, SegmentForm(), None, [], {}, token=form_token_new())
        segment = get_object_or_404(Segment, pk=pk)
        rows, groups = rows_of(segment.conditions)
        form = SegmentForm(initial={"name": segment.name, "description": segment.description})
        return self._render(request, form, segment, rows, groups)

    def post(self, request, pk=None):
        segment = get_object_or_404(Segment, pk=pk) if pk is not None else None
        form = SegmentForm(request.POST)
        raw = conditions_from_post(request.POST)
        rows, groups = rows_of(raw)
        token = request.POST.get(TOKEN_FIELD, "")

        def save():
            error = None
            if form.is_valid():
                data = form.cleaned_data
                try:
                    if segment is None:
                        saved = segment_create(actor=request.user, name=data["name"], conditions=raw,
                                               description=data["description"])
                    else:
                        saved = segment_update(actor=request.user, segment=segment, name=data["name"],
                                               conditions=raw, description=data["description"])
                except ValidationError as exc:
                    if hasattr(exc, "error_dict"):
                        apply_validation_error(form, exc)
                    else:
                        error = " ".join(exc.messages)
                else:
                    messages.success(request, _("Segment saved."))
                    return redirect("segments:edit", pk=saved.pk)
            return self._render(request, form, segment, rows, groups, status=400, token=token or None, error=error)

        if segment is not None:
            return save()
        try:
            return post_once(request, save)
        except TokenMissing:
            form.is_valid()
            form.add_error(None, _("This form has expired. Please check the values and send it again."))
            return self._render(request, form, None, rows, groups, status=400, token=form_token_new())


class SegmentRowView(SettingsRequired, View):
    """One empty condition row of a kind, added to the editor."""

    def get(self, request):
        kind = request.GET.get("kind", "")
        if kind not in KINDS:
            return HttpResponse(_("Choose a kind of condition."), status=400)
        try:
            index = min(max(int(request.GET.get("index", 0)), 0), MAX_ROWS)
        except ValueError:
            index = 0
        return render(request, "manager/segments/_row.html", {"row": blank_row(index, kind), "kinds": kind_choices()})


class SegmentPreviewView(SettingsRequired, View):
    """The live count and a sample of the members the editor's rows match now (one query each)."""

    def post(self, request):
        at = timezone.now()
        try:
            conditions = conditions_clean(conditions_from_post(request.POST))
        except ValidationError as exc:
            return render(request, "manager/segments/_preview.html", {"error": " ".join(exc.messages)})
        count, sample = segment_preview(conditions=conditions, at=at, limit=SAMPLE)
        return render(request, "manager/segments/_preview.html", {
            "count": count, "sample": sample, "at": at,
            "empty": not conditions["all"]})


class SegmentArchiveView(SettingsRequired, View):
    def post(self, request, pk: int):
        segment = get_object_or_404(Segment, pk=pk)
        archive = request.POST.get("archived", "1") == "1"
        try:
            segment_archive(actor=request.user, segment=segment, archived=archive)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("segments:edit", pk=pk)
        messages.success(request, _("Segment archived.") if archive else _("Segment restored."))
        return redirect(reverse("segments:list") + ("?archived=1" if not archive else ""))


class _Echo:
    def write(self, value):
        return value


class SegmentExportView(SettingsRequired, View):
    """The segment's members now, as CSV (UTF-8 with a byte-order mark, so spreadsheet programs
    read the Chinese correctly). Needs the member export permission too."""

    COLUMNS = ("member_number", "name", "phone", "gender", "birthday", "joined_on", "source", "tags",
               "lifecycle", "rfm_cell", "r", "f", "m")

    def get(self, request, pk: int):
        if not request.user.has_perm("members.export_member"):
            raise PermissionDenied
        segment = get_object_or_404(Segment, pk=pk)
        members = segment_members(segment).order_by("member_number", "id").values_list(
            "member_number", "name", "phone", "gender", "birthday", "joined_on", "source", "tags",
            "score__lifecycle", "score__cell", "score__r", "score__f", "score__m")
        writer = csv.writer(_Echo())

        def rows():
            yield "\ufeff" + writer.writerow(self.COLUMNS)
            for row in members.iterator(chunk_size=2000):
                values = list(row)
                values[7] = "|".join(values[7] or [])
                yield writer.writerow(["" if v is None else v for v in values])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        filename = f"segment-{segment.pk}-{local_date(timezone.now()):%Y%m%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

