"""Appointments API, the schedule set-up: locations, rooms and devices, practitioners and their
hours, exceptions and treatment requirements."""

from datetime import timedelta

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from appointments.api.common import ClinicDateTimeField, ManageSchedule, write_permissions
from appointments.availability import local_day_start
from appointments.models import Location, Practitioner, Resource, ResourceType, ScheduleException, WorkingHours
from appointments.schedule import (
    Period,
    location_create,
    location_update,
    practitioner_create,
    practitioner_update,
    resource_create,
    resource_type_create,
    resource_update,
    schedule_exception_create,
    schedule_exception_delete,
    treatment_requirements_set,
    working_hours_set,
)
from clinic_loyalty.api_input import RefuseUnknownFields
from points.rules import clinic_zone
from visits.models import CatalogueItem


class LocationSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "name", "address", "active"]


class LocationListApi(APIView):
    def get_permissions(self):
        return write_permissions(self, ManageSchedule)

    @extend_schema(responses={200: LocationSerializer(many=True)})
    def get(self, request):
        return Response(LocationSerializer(Location.objects.all(), many=True).data)

    @extend_schema(request=LocationSerializer, responses={201: LocationSerializer})
    def post(self, request):
        serializer = LocationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        location = location_create(**serializer.validated_data)
        return Response(LocationSerializer(location).data, status=status.HTTP_201_CREATED)


class LocationDetailApi(APIView):
    def get_permissions(self):
        return write_permissions(self, ManageSchedule)

    @extend_schema(responses={200: LocationSerializer})
    def get(self, request, pk: int):
        return Response(LocationSerializer(get_object_or_404(Location, pk=pk)).data)

    @extend_schema(request=LocationSerializer(partial=True), responses={200: LocationSerializer})
    def patch(self, request, pk: int):
        location = get_object_or_404(Location, pk=pk)
        serializer = LocationSerializer(location, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return Response(LocationSerializer(location_update(location=location, **serializer.validated_data)).data)


class ResourceTypeSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    class Meta:
        model = ResourceType
        fields = ["id", "name", "kind"]


class ResourceTypeListApi(APIView):
    def get_permissions(self):
        return write_permissions(self, ManageSchedule)

    @extend_schema(responses={200: ResourceTypeSerializer(many=True)})
    def get(self, request):
        return Response(ResourceTypeSerializer(ResourceType.objects.all(), many=True).data)

    @extend_schema(request=ResourceTypeSerializer, responses={201: ResourceTypeSerializer})
    def post(self, request):
        serializer = ResourceTypeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resource_type = resource_type_create(**serializer.validated_data)
        return Response(ResourceTypeSerializer(resource_type).data, status=status.HTTP_201_CREATED)


class ResourceSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    kind = serializers.CharField(source="resource_type.kind", read_only=True)

    class Meta:
        model = Resource
        fields = ["id", "location", "resource_type", "kind", "name", "active"]


class ResourceListApi(APIView):
    def get_permissions(self):
        return write_permissions(self, ManageSchedule)

    @extend_schema(responses={200: ResourceSerializer(many=True)})
    def get(self, request):
        resources = Resource.objects.select_related("resource_type")
        return Response(ResourceSerializer(resources, many=True).data)

    @extend_schema(request=ResourceSerializer, responses={201: ResourceSerializer})
    def post(self, request):
        serializer = ResourceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resource = resource_create(**serializer.validated_data)
        return Response(ResourceSerializer(resource).data, status=status.HTTP_201_CREATED)


class ResourceDetailApi(APIView):
    permission_classes = [ManageSchedule]

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        name = serializers.CharField(max_length=80, required=False)
        active = serializers.BooleanField(required=False)

    @extend_schema(request=InputSerializer, responses={200: ResourceSerializer})
    def patch(self, request, pk: int):
        resource = get_object_or_404(Resource, pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(ResourceSerializer(resource_update(resource=resource, **serializer.validated_data)).data)


class PractitionerSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = Practitioner
        fields = ["id", "user", "name", "display_name", "treatments", "active"]


class PractitionerInputSerializer(RefuseUnknownFields, serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    display_name = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    treatments = serializers.PrimaryKeyRelatedField(queryset=CatalogueItem.objects.all(), many=True, default=list)
    active = serializers.BooleanField(required=False)


class PractitionerListApi(APIView):
    def get_permissions(self):
        return write_permissions(self, ManageSchedule)

    @extend_schema(responses={200: PractitionerSerializer(many=True)})
    def get(self, request):
        practitioners = Practitioner.objects.select_related("user").prefetch_related("treatments")
        return Response(PractitionerSerializer(practitioners, many=True).data)

    @extend_schema(request=PractitionerInputSerializer, responses={201: PractitionerSerializer})
    def post(self, request):
        serializer = PractitionerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        data.pop("active", None)
        practitioner = practitioner_create(actor=request.user, **data)
        return Response(PractitionerSerializer(practitioner).data, status=status.HTTP_201_CREATED)


class PractitionerDetailApi(APIView):
    def get_permissions(self):
        return write_permissions(self, ManageSchedule)

    @extend_schema(responses={200: PractitionerSerializer})
    def get(self, request, pk: int):
        return Response(PractitionerSerializer(get_object_or_404(Practitioner, pk=pk)).data)

    @extend_schema(request=PractitionerInputSerializer(partial=True), responses={200: PractitionerSerializer})
    def patch(self, request, pk: int):
        practitioner = get_object_or_404(Practitioner, pk=pk)
        serializer = PractitionerInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        data.pop("user", None)
        practitioner = practitioner_update(practitioner=practitioner, actor=request.user, **data)
        return Response(PractitionerSerializer(practitioner).data)


class HoursSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkingHours
        fields = ["location", "weekday", "starts", "ends"]


class PractitionerHoursApi(APIView):
    """The practitioner's weekly working hours (local times); PUT replaces them all."""

    def get_permissions(self):
        return write_permissions(self, ManageSchedule)

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        periods = HoursSerializer(many=True)

    @extend_schema(responses={200: HoursSerializer(many=True)})
    def get(self, request, pk: int):
        practitioner = get_object_or_404(Practitioner, pk=pk)
        return Response(HoursSerializer(practitioner.hours.all(), many=True).data)

    @extend_schema(request=InputSerializer, responses={200: HoursSerializer(many=True)})
    def put(self, request, pk: int):
        practitioner = get_object_or_404(Practitioner, pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        periods = [Period(location_id=p["location"].pk, weekday=p["weekday"], starts=p["starts"], ends=p["ends"])
                   for p in serializer.validated_data["periods"]]
        rows = working_hours_set(practitioner=practitioner, periods=periods, actor=request.user)
        return Response(HoursSerializer(rows, many=True).data)


class ExceptionSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    starts_at = ClinicDateTimeField()
    ends_at = ClinicDateTimeField()

    class Meta:
        model = ScheduleException
        fields = ["id", "kind", "practitioner", "location", "resource", "starts_at", "ends_at", "reason"]


class ExceptionListApi(APIView):
    def get_permissions(self):
        return write_permissions(self, ManageSchedule)

    class FilterSerializer(serializers.Serializer):
        start = serializers.DateField(required=False)
        end = serializers.DateField(required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: ExceptionSerializer(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        exceptions = ScheduleException.objects.all()
        zone, data = clinic_zone(), filters.validated_data
        if "start" in data:
            exceptions = exceptions.filter(ends_at__gt=local_day_start(data["start"], zone))
        if "end" in data:
            exceptions = exceptions.filter(starts_at__lt=local_day_start(data["end"] + timedelta(days=1), zone))
        return Response(ExceptionSerializer(exceptions, many=True).data)

    @extend_schema(request=ExceptionSerializer, responses={201: ExceptionSerializer})
    def post(self, request):
        serializer = ExceptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        exception = schedule_exception_create(actor=request.user, overlaps_confirmed=True,
                                              **serializer.validated_data)
        return Response(ExceptionSerializer(exception).data, status=status.HTTP_201_CREATED)


class ExceptionDetailApi(APIView):
    permission_classes = [ManageSchedule]

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        schedule_exception_delete(exception=get_object_or_404(ScheduleException, pk=pk), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TreatmentRequirementsApi(APIView):
    """The room type and device type a treatment needs."""

    def get_permissions(self):
        return write_permissions(self, ManageSchedule)

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        resource_types = serializers.PrimaryKeyRelatedField(queryset=ResourceType.objects.all(), many=True)

    @extend_schema(responses={200: ResourceTypeSerializer(many=True)})
    def get(self, request, pk: int):
        treatment = get_object_or_404(CatalogueItem, pk=pk)
        types = ResourceType.objects.filter(pk__in=treatment.resource_requirements.values("resource_type_id"))
        return Response(ResourceTypeSerializer(types, many=True).data)

    @extend_schema(request=InputSerializer, responses={200: ResourceTypeSerializer(many=True)})
    def put(self, request, pk: int):
        treatment = get_object_or_404(CatalogueItem, pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        types = serializer.validated_data["resource_types"]
        treatment_requirements_set(treatment=treatment, resource_types=types)
        return Response(ResourceTypeSerializer(types, many=True).data)
