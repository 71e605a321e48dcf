"""Segments API: list, create, read, change (and archive) segments; count and list the members a
segment matches; count an unsaved definition (the editor's live count). Reading needs the reports
permission and changing the settings permission: owners and managers only. Segments move no
value, so no Idempotency-Key."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from appointments.api.common import ClinicDateTimeField
from members.models import Member
from segments.conditions import conditions_clean
from segments.models import Segment
from segments.selectors import segment_count, segment_list, segment_members, segment_preview
from segments.services import segment_archive, segment_create, segment_update

ViewReports = has_perm("accounts.view_reports")
ManageSettings = has_perm("accounts.manage_settings")
MAX_PAGE = 500

CONDITIONS_HELP = (
    '{"all": [item, …]}: a member matches when every item does. An item is a condition '
    '{"kind": …, "negate": false, …parameters} or a group {"any": [condition, …], "negate": false}. '
    "Kinds and their parameters: docs/segments.md. {\"all\": []} matches every active member.")
EXAMPLE = {"all": [{"kind": "lifecycle", "stages": ["dormant"]},
                   {"kind": "spend", "min": "3000", "days": 365},
                   {"any": [{"kind": "consent", "purpose": "marketing_sms"},
                            {"kind": "consent", "purpose": "marketing_wechat"}]},
                   {"kind": "tag", "tags": ["投诉"], "negate": True}]}


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = MAX_PAGE


class SegmentOutputSerializer(serializers.ModelSerializer):
    conditions = serializers.JSONField(help_text=CONDITIONS_HELP)
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)
    updated_by = serializers.CharField(source="updated_by.username", default=None, allow_null=True)
    created_at = ClinicDateTimeField()
    updated_at = ClinicDateTimeField()

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "conditions", "archived", "created_by", "updated_by",
                  "created_at", "updated_at"]


class SegmentMemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = Member
        fields = ["id", "member_number", "name", "phone", "gender", "joined_on", "tags"]


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    at = ClinicDateTimeField(help_text="The instant the segment was evaluated at.")


class SegmentListApi(APIView):
    """Live segments (or archived ones with ?archived=true); owners and managers create them."""

    def get_permissions(self):
        return [ManageSettings()] if self.request.method == "POST" else [ViewReports()]

    class FilterSerializer(serializers.Serializer):
        archived = serializers.BooleanField(required=False, default=False)

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=80)
        description = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
        conditions = serializers.JSONField(help_text=CONDITIONS_HELP)

    @extend_schema(parameters=[FilterSerializer], responses={200: SegmentOutputSerializer(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return Response(SegmentOutputSerializer(segment_list(archived=filters.validated_data["archived"]),
                                                many=True).data)

    @extend_schema(request=InputSerializer, responses={201: SegmentOutputSerializer},
                   examples=[OpenApiExample("Dormant high spenders", request_only=True,
                                            value={"name": "沉睡高消费", "conditions": EXAMPLE})])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment = segment_create(actor=request.user, **data.validated_data)
        return Response(SegmentOutputSerializer(segment).data, status=status.HTTP_201_CREATED)


class SegmentDetailApi(APIView):
    """One segment (archived ones too); owners and managers change or archive it."""

    def get_permissions(self):
        return [ManageSettings()] if self.request.method == "PATCH" else [ViewReports()]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=80, required=False)
        description = serializers.CharField(max_length=1000, required=False, allow_blank=True)
        conditions = serializers.JSONField(required=False, help_text=CONDITIONS_HELP)
        archived = serializers.BooleanField(required=False, help_text="true archives, false restores.")

    @extend_schema(responses={200: SegmentOutputSerializer})
    def get(self, request, pk: int):
        return Response(SegmentOutputSerializer(get_object_or_404(Segment, pk=pk)).data)

    @extend_schema(request=InputSerializer, responses={200: SegmentOutputSerializer})
    def patch(self, request, pk: int):
        segment = get_object_or_404(Segment, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        archived = changes.pop("archived", None)
        if archived is False:
            segment = segment_archive(actor=request.user, segment=segment, archived=False)
        if changes:
            segment = segment_update(actor=request.user, segment=segment, **changes)
        if archived:
            segment = segment_archive(actor=request.user, segment=segment, archived=True)
        return Response(SegmentOutputSerializer(segment).data)


class SegmentCountApi(APIView):
    """How many active members the segment matches now: one SQL query."""

    permission_classes = [ViewReports]

    @extend_schema(responses={200: CountSerializer})
    def get(self, request, pk: int):
        segment = get_object_or_404(Segment, pk=pk)
        at = timezone.now()
        return Response(CountSerializer({"count": segment_count(segment, at=at), "at": at}).data)


class SegmentMembersApi(APIView):
    """The members the segment matches now, by member number, `limit` (50 unless given) at a time."""

    permission_classes = [ViewReports]

    class FilterSerializer(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, required=False)
        offset = serializers.IntegerField(min_value=0, required=False)

    class PageSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        next = serializers.URLField(allow_null=True)
        previous = serializers.URLField(allow_null=True)
        results = SegmentMemberSerializer(many=True)

    @extend_schema(parameters=[FilterSerializer], responses={200: PageSerializer})
    def get(self, request, pk: int):
        segment = get_object_or_404(Segment, pk=pk)
        self.FilterSerializer(data=request.query_params).is_valid(raise_exception=True)
        members = segment_members(segment).order_by("member_number", "id")
        paginator = Pagination()
        page = paginator.paginate_queryset(members, request, view=self)
        return paginator.get_paginated_response(SegmentMemberSerializer(page, many=True).data)


class SegmentPreviewApi(APIView):
    """Count an unsaved definition and show a few of its members (the editor's live count)."""

    permission_classes = [ViewReports]

    class InputSerializer(serializers.Serializer):
        conditions = serializers.JSONField(help_text=CONDITIONS_HELP)

    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        at = ClinicDateTimeField()
        sample = SegmentMemberSerializer(many=True, help_text="Up to 10 members, most recently joined first.")

    @extend_schema(operation_id="v1_segments_preview", request=InputSerializer, responses={200: OutputSerializer},
                   examples=[OpenApiExample("Dormant high spenders", request_only=True, value={"conditions": EXAMPLE})])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conditions = conditions_clean(data.validated_data["conditions"])
        at = timezone.now()
        count, sample = segment_preview(conditions=conditions, at=at, limit=10)
        return Response(self.OutputSerializer({"count": count, "at": at, "sample": sample}).data)
