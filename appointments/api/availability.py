"""Appointments API: free slots."""


from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.api.common import ClinicDateTimeField, FrontDesk, LocalTimeField, check_range
from appointments.availability import Slot, availability
from appointments.models import Location, Practitioner
from visits.models import CatalogueItem


class SlotSerializer(serializers.Serializer):
    starts_at = ClinicDateTimeField()
    ends_at = ClinicDateTimeField()
    starts_local = LocalTimeField(source="starts_at")
    practitioner = serializers.IntegerField(source="practitioner_id")
    location = serializers.IntegerField(source="location_id")
    room = serializers.IntegerField(source="room_id", allow_null=True)
    device = serializers.IntegerField(source="device_id", allow_null=True)


class AvailabilityApi(APIView):
    """Free start times for a treatment from `start` to `end` (local dates, at most 31 days)."""

    permission_classes = [FrontDesk]

    class FilterSerializer(serializers.Serializer):
        treatment = serializers.PrimaryKeyRelatedField(queryset=CatalogueItem.objects.filter(kind="treatment",
                                                                                            active=True))
        start = serializers.DateField()
        end = serializers.DateField()
        practitioner = serializers.PrimaryKeyRelatedField(queryset=Practitioner.objects.all(), required=False)
        location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all(), required=False)

        def validate(self, data):
            check_range(data)
            return data

    @extend_schema(parameters=[FilterSerializer], responses={200: SlotSerializer(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        slots: list[Slot] = availability(
            treatment=data["treatment"], start=data["start"], end=data["end"],
            practitioner_ids=[data["practitioner"].pk] if data.get("practitioner") else None,
            location_id=data["location"].pk if data.get("location") else None, not_before=timezone.now())
        return Response(SlotSerializer(slots, many=True).data)
