"""Imports API: upload a CSV file of members, visit history or opening balances, and read the
import history. Managers and owners only (accounts.manage_settings)."""

from django.utils.translation import ngettext
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from clinic_loyalty.api_errors import error_body
from clinic_loyalty.api_input import RefuseUnknownFields
from idempotency.api import IDEMPOTENCY_PARAMETER, idempotent
from imports.models import ImportRun
from imports.selectors import import_run_get, import_runs_list
from imports.services import ImportReport, csv_import

ManageSettings = has_perm("accounts.manage_settings")
HISTORY_LIMIT = 200


class RowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True,
                                    help_text="1-based; the header is line 1; null: the file as a whole.")
    column = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ImportRun.Kind.choices)
    file_name = serializers.CharField()
    status = serializers.ChoiceField(choices=ImportRun.Status.choices)
    skip_errors = serializers.BooleanField()
    rows = serializers.IntegerField()
    imported = serializers.IntegerField()
    skipped = serializers.IntegerField()
    already_imported = serializers.IntegerField()
    created = serializers.IntegerField()
    duration = serializers.FloatField(help_text="Seconds.")
    errors = RowErrorSerializer(many=True)


class ImportRunSerializer(serializers.ModelSerializer):
    actor_name = serializers.CharField(source="actor.full_name", default="", read_only=True)
    error_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportRun
        fields = ["id", "kind", "file_name", "sha256", "actor", "actor_name", "skip_errors", "status", "rows",
                  "imported", "skipped", "already_imported", "created", "error_count", "started_at",
                  "finished_at", "duration"]


class ImportRunDetailSerializer(ImportRunSerializer):
    error_count = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField()

    class Meta(ImportRunSerializer.Meta):
        fields = [*ImportRunSerializer.Meta.fields, "errors"]

    def get_error_count(self, run: ImportRun) -> int:
        return len(run.errors)

    @extend_schema_field(RowErrorSerializer(many=True))
    def get_errors(self, run: ImportRun) -> list[dict]:
        return [{"line": line, "column": column, "message": message} for line, column, message in run.errors]


def _rejection_message(report: ImportReport) -> str:
    if len(report.errors) == 1:
        return report.errors[0].message
    return ngettext(
        "The file has %(count)s error; nothing was imported. Correct it, or import with skip_errors "
        "to import the other rows.",
        "The file has %(count)s errors; nothing was imported. Correct them, or import with skip_errors "
        "to import the other rows.", len(report.errors)) % {"count": len(report.errors)}


class ImportCreateApi(APIView):
    """Import a CSV file (UTF-8, header row; see docs/import.md for the columns of each kind).
    201 with the report when rows were imported (or all were imported before); 400 with the
    report and every error, line by line, when nothing was."""

    permission_classes = [ManageSettings]
    parser_classes = [MultiPartParser]

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        file = serializers.FileField(help_text=(
            "The CSV file: UTF-8 text with a header row; the columns of each kind are in docs/import.md."))
        skip_errors = serializers.BooleanField(default=False, help_text=(
            "Import the valid rows and skip those with errors, instead of importing nothing."))

    @extend_schema(
        parameters=[OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=ImportRun.Kind.values),
                    IDEMPOTENCY_PARAMETER],
        request={"multipart/form-data": InputSerializer},
        responses={201: ImportReportSerializer, 400: OpenApiResponse(description=(
            "Nothing was imported: the file's errors (import_rejected, with `report` listing every error "
            "line by line), or the request's (validation_error)."))})
    @idempotent
    def post(self, request, kind: str):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = csv_import(kind=kind, file=serializer.validated_data["file"], actor=request.user,
                            skip_errors=serializer.validated_data["skip_errors"])
        body = ImportReportSerializer(report).data
        if report.rejected:
            return Response({**error_body("import_rejected", _rejection_message(report)), "report": body},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response(body, status=status.HTTP_201_CREATED)


class ImportRunListApi(APIView):
    """The import history, newest first (the latest 200 runs)."""

    permission_classes = [ManageSettings]

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=ImportRun.Kind.values)],
                   responses={200: ImportRunSerializer(many=True)})
    def get(self, request):
        kind = request.query_params.get("kind")
        runs = import_runs_list(kind=kind if kind in ImportRun.Kind.values else None)[:HISTORY_LIMIT]
        return Response(ImportRunSerializer(runs, many=True).data)


class ImportRunDetailApi(APIView):
    permission_classes = [ManageSettings]

    @extend_schema(responses={200: ImportRunDetailSerializer})
    def get(self, request, pk: int):
        run = import_run_get(pk=pk)
        if run is None:
            raise NotFound()
        return Response(ImportRunDetailSerializer(run).data)
