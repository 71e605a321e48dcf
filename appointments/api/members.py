"""Appointments API about members: attendance and the recall list."""


from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.api.common import ClinicDateTimeField, FrontDesk
from appointments.selectors import member_attendance, recall_list
from members.models import Member


class AttendanceSerializer(serializers.Serializer):
    upcoming = serializers.IntegerField()
    completed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    late_cancellations = serializers.IntegerField()
    no_shows = serializers.IntegerField()


class MemberAttendanceApi(APIView):
    permission_classes = [FrontDesk]

    @extend_schema(responses={200: AttendanceSerializer})
    def get(self, request, pk: int):
        return Response(AttendanceSerializer(member_attendance(get_object_or_404(Member, pk=pk))).data)


class RecallSerializer(serializers.Serializer):
    member = serializers.IntegerField(source="member.pk")
    member_name = serializers.CharField(source="member.name")
    phone = serializers.CharField(source="member.phone")
    treatment = serializers.IntegerField(source="treatment.pk")
    treatment_name = serializers.CharField(source="treatment.name")
    last_visit_at = ClinicDateTimeField()
    due_on = serializers.DateField()
    days_overdue = serializers.IntegerField()


class RecallListApi(APIView):
    """Members due for their next session (overdue, or due within `within_days`)."""

    permission_classes = [FrontDesk]

    class FilterSerializer(serializers.Serializer):
        within_days = serializers.IntegerField(min_value=0, max_value=365, default=0)
        treatment = serializers.IntegerField(required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: RecallSerializer(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        entries = recall_list(within_days=filters.validated_data["within_days"],
                              treatment_id=filters.validated_data.get("treatment"))
        return Response(RecallSerializer(entries, many=True).data)
