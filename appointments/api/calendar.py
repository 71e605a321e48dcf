"""Appointments API: the day and week calendar."""

from datetime import timedelta

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.api.bookings import BookingSerializer
from appointments.api.common import ClinicDateTimeField, FrontDesk
from appointments.api.resources import ExceptionSerializer
from appointments.models import Location, Practitioner, Resource
from appointments.selectors import calendar


class CalendarDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    starts_at = ClinicDateTimeField()
    ends_at = ClinicDateTimeField()
    working = serializers.SerializerMethodField()
    exceptions = ExceptionSerializer(many=True)
    bookings = BookingSerializer(many=True)

    def get_working(self, day) -> list[dict]:
        return [{"location": period["location"].pk, "starts_local": period["starts_at"].isoformat(),
                 "ends_local": period["ends_at"].isoformat()} for period in day.working]


class CalendarApi(APIView):
    """A day or a Monday-to-Sunday week of the calendar, for a practitioner, room or device or
    location (or the whole clinic)."""

    permission_classes = [FrontDesk]

    class FilterSerializer(serializers.Serializer):
        view = serializers.ChoiceField(choices=[("day", "day"), ("week", "week")], default="day")
        date = serializers.DateField()
        practitioner = serializers.PrimaryKeyRelatedField(queryset=Practitioner.objects.all(), required=False)
        resource = serializers.PrimaryKeyRelatedField(queryset=Resource.objects.all(), required=False)
        location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all(), required=False)
        include_cancelled = serializers.BooleanField(default=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: CalendarDaySerializer(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        day = data["date"]
        start, days = (day, 1) if data["view"] == "day" else (day - timedelta(days=day.weekday()), 7)
        result = calendar(start=start, days=days, include_cancelled=data["include_cancelled"],
                          practitioner_id=data["practitioner"].pk if data.get("practitioner") else None,
                          resource_id=data["resource"].pk if data.get("resource") else None,
                          location_id=data["location"].pk if data.get("location") else None)
        return Response(CalendarDaySerializer(result, many=True).data)
