"""The imports pages for owners and managers: upload a CSV file of members, visit history or
opening balances, look at its first rows, start the import, watch its progress and read the
result with the errors row by row. The work is done by `imports.uploads` (which calls
`imports.services.csv_import`, as the API and the command line do) and a Celery task."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from clinic_loyalty.form_errors import apply_validation_error
from imports.models import ImportUpload
from imports.selectors import import_run_get, import_runs_list
from imports.uploads import import_upload_create, import_upload_progress, import_upload_start
from manager.forms import ImportStartForm, ImportUploadForm
from manager.views import SettingsRequired

HISTORY_LIMIT = 30
STAGES = ("queued", "checking", "writing", "finished")


class ImportListView(SettingsRequired, View):
    template = "manager/imports.html"

    def _render(self, request, form, status=200):
        return render(request, self.template, {"form": form, "runs": import_runs_list()[:HISTORY_LIMIT]},
                      status=status)

    def get(self, request):
        return self._render(request, ImportUploadForm())

    def post(self, request):
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                upload = import_upload_create(kind=form.cleaned_data["kind"], file=form.cleaned_data["file"],
                                              actor=request.user)
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                return redirect("manager:import_upload", upload.pk)
        return self._render(request, form, status=400)


def _progress_context(upload: ImportUpload) -> dict:
    progress = import_upload_progress(upload=upload)
    stage = progress["stage"]
    step = STAGES.index(stage) + 1 if stage in STAGES else 0
    return {"upload": upload, "progress": progress, "step": step, "steps": len(STAGES),
            "percent": round(100 * step / len(STAGES)),
            "done": upload.status in (ImportUpload.Status.FINISHED, ImportUpload.Status.FAILED)}


class ImportUploadView(SettingsRequired, View):
    """Before the import: the preview and the start button; during: the progress (polled);
    after: the result with every error."""

    template = "manager/import_upload.html"

    def _render(self, request, upload, form=None, status=200):
        run = import_run_get(pk=upload.run_id) if upload.run_id else None
        errors = [{"line": line, "column": column, "message": message} for line, column, message in run.errors
                  ] if run else []
        return render(request, self.template, {
            **_progress_context(upload), "form": form or ImportStartForm(), "run": run, "errors": errors},
            status=status)

    def get(self, request, pk: int):
        return self._render(request, get_object_or_404(ImportUpload, pk=pk))

    def post(self, request, pk: int):
        upload = get_object_or_404(ImportUpload, pk=pk)
        form = ImportStartForm(request.POST)
        if form.is_valid():
            try:
                started = import_upload_start(upload=upload, skip_errors=form.cleaned_data["skip_errors"],
                                              actor=request.user)
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                if not started:
                    messages.info(request, _("This import had already been started; nothing was done twice."))
                return redirect("manager:import_upload", upload.pk)
        return self._render(request, upload, form, status=400)


class ImportProgressView(SettingsRequired, View):
    """The progress box alone, for the page to poll; once finished it asks the page to reload
    with the result."""

    def get(self, request, pk: int):
        upload = get_object_or_404(ImportUpload, pk=pk)
        context = _progress_context(upload)
        response = render(request, "manager/_import_progress.html", context)
        if context["done"]:
            response["HX-Refresh"] = "true"
        return response
