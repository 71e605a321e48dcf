"""Reads of the import history."""

from django.db.models import F, Func, IntegerField, QuerySet

from imports.models import ImportRun


def import_runs_list(*, kind: str | None = None) -> QuerySet[ImportRun]:
    """Runs newest first, each with `error_count`; their error lists are left unread."""
    runs = (ImportRun.objects.select_related("actor").defer("errors")
            .annotate(error_count=Func(F("errors"), function="jsonb_array_length", output_field=IntegerField()))
            .order_by("-started_at", "-id"))
    return runs.filter(kind=kind) if kind else runs


def import_run_get(*, pk: int) -> ImportRun | None:
    return ImportRun.objects.select_related("actor").filter(pk=pk).first()
