"""Appointments API: the booking policy."""


from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.api.common import ManageSettings, write_permissions
from appointments.models import AppointmentPolicy
from appointments.schedule import appointment_policy, appointment_policy_update
from clinic_loyalty.api_input import RefuseUnknownFields


class PolicySerializer(RefuseUnknownFields, serializers.ModelSerializer):
    reminder_minutes = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=5)

    class Meta:
        model = AppointmentPolicy
        exclude = ["id"]


class PolicyApi(APIView):
    """Booking policy: slot step, online booking notice and horizon, cancellation and reschedule
    windows, no-show limit, deposit, and the reminder plan (minutes before the start)."""

    def get_permissions(self):
        return write_permissions(self, ManageSettings)

    @extend_schema(responses={200: PolicySerializer})
    def get(self, request):
        return Response(PolicySerializer(appointment_policy()).data)

    @extend_schema(request=PolicySerializer(partial=True), responses={200: PolicySerializer})
    def put(self, request):
        serializer = PolicySerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        policy = appointment_policy_update(actor=request.user, **serializer.validated_data)
        return Response(PolicySerializer(policy).data)


# Availability and bookings
