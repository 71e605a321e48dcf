"""Appointments API: the schedule set-up (locations, rooms and devices, practitioners, hours,
exceptions, treatment requirements, policy), availability, bookings and their status flow, the
calendar, .ics files, attendance and the recall list. Thin: each view validates, calls one
service or selector and shapes the answer."""

from datetime import UTC, timedelta

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from accounts.models import User
from appointments.availability import Slot, availability, local_day_start
from appointments.ics import booking_ics
from appointments.models import (
    AppointmentPolicy,
    Booking,
    BookingEvent,
    Location,
    Practitioner,
    Reminder,
    Resource,
    ResourceType,
    ScheduleException,
    WorkingHours,
)
from appointments.schedule import (
    Period,
    appointment_policy,
    appointment_policy_update,
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
from appointments.selectors import (
    booking_checkout_prefill,
    booking_list,
    bookings_with_details,
    calendar,
    member_attendance,
    recall_list,
)
from appointments.services import (
    SlotUnavailable,
    booking_cancel,
    booking_check_in,
    booking_checkout,
    booking_complete,
    booking_confirm,
    booking_create,
    booking_deposit_record,
    booking_no_show,
    booking_reschedule,
)
from checkout.api import CheckoutLineSerializer, CheckoutPaymentSerializer
from checkout.services import LineInput, PaymentInput
from clinic_loyalty.api_errors import error_body
from clinic_loyalty.api_input import RefuseUnknownFields
from clinics.context import clinic_host, current_clinic
from idempotency.api import IDEMPOTENCY_PARAMETER, idempotent
from members.models import Member
from points.rules import clinic_zone
from visits.models import CatalogueItem, Payment
from visits.selectors import visits_with_details

FrontDesk = has_perm("accounts.use_frontdesk")
ManageSettings = has_perm("accounts.manage_settings")
ManageSchedule = has_perm("appointments.manage_schedule")
Book = has_perm("appointments.book_appointment")
Attend = has_perm("appointments.attend_appointment")

MAX_RANGE_DAYS = 31


class ClinicDateTimeField(serializers.DateTimeField):
    """Accepts ISO 8601; a time without an offset is read in the clinic's time zone. Answers in UTC."""

    def default_timezone(self):
        return clinic_zone()

    def to_representation(self, value):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


class LocalTimeField(serializers.DateTimeField):
    """The same instant in the clinic's time zone, for display."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return timezone.localtime(value, clinic_zone()).isoformat()


def _write_permissions(view, write):
    return [write() if view.request.method not in ("GET", "HEAD", "OPTIONS") else FrontDesk()]


def _conflict(exc: SlotUnavailable) -> Response:
    body = error_body("slot_unavailable", exc.message)
    body["error"]["alternatives"] = SlotSerializer(exc.alternatives, many=True).data
    return Response(body, status=status.HTTP_409_CONFLICT)


def _check_range(data: dict) -> None:
    if data["end"] < data["start"]:
        raise serializers.ValidationError({"end": _("The end date must not be before the start date.")})
    if (data["end"] - data["start"]).days >= MAX_RANGE_DAYS:
        raise serializers.ValidationError({"end": _("Ask for at most %(days)s days at a time.")
                                           % {"days": MAX_RANGE_DAYS}})


# Set-up


class LocationSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "name", "address", "active"]


class LocationListApi(APIView):
    def get_permissions(self):
        return _write_permissions(self, ManageSchedule)

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
        return _write_permissions(self, ManageSchedule)

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
        return _write_permissions(self, ManageSchedule)

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
        return _write_permissions(self, ManageSchedule)

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
        return _write_permissions(self, ManageSchedule)

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
        return _write_permissions(self, ManageSchedule)

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
        return _write_permissions(self, ManageSchedule)

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
        return _write_permissions(self, ManageSchedule)

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
        return _write_permissions(self, ManageSchedule)

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


class PolicySerializer(RefuseUnknownFields, serializers.ModelSerializer):
    reminder_minutes = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=5)

    class Meta:
        model = AppointmentPolicy
        exclude = ["id"]


class PolicyApi(APIView):
    """Booking policy: slot step, online booking notice and horizon, cancellation and reschedule
    windows, no-show limit, deposit, and the reminder plan (minutes before the start)."""

    def get_permissions(self):
        return _write_permissions(self, ManageSettings)

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
            _check_range(data)
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


class EventSerializer(serializers.ModelSerializer):
    at = ClinicDateTimeField()

    class Meta:
        model = BookingEvent
        fields = ["kind", "from_status", "to_status", "actor", "channel", "reason", "detail", "at"]


class ReminderSerializer(serializers.ModelSerializer):
    due_at = ClinicDateTimeField()

    class Meta:
        model = Reminder
        fields = ["kind", "minutes_before", "due_at", "status", "sent_at"]


class BookingSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.name", read_only=True)
    treatment_name = serializers.CharField(source="treatment.name", read_only=True)
    practitioner_name = serializers.CharField(source="practitioner.__str__", read_only=True)
    starts_at = ClinicDateTimeField()
    ends_at = ClinicDateTimeField()
    blocked_until = ClinicDateTimeField()
    starts_local = LocalTimeField(source="starts_at")
    ends_local = LocalTimeField(source="ends_at")
    cancelled_at = ClinicDateTimeField(allow_null=True)

    class Meta:
        model = Booking
        fields = ["id", "member", "member_name", "treatment", "treatment_name", "practitioner", "practitioner_name",
                  "location", "room", "device", "starts_at", "ends_at", "blocked_until", "starts_local", "ends_local",
                  "status", "channel", "booked_by", "notes", "reschedule_count", "cancelled_at", "cancelled_by",
                  "cancelled_by_party", "cancel_reason", "late_cancellation", "deposit_amount", "deposit_method",
                  "visit"]


class BookingDetailSerializer(BookingSerializer):
    events = EventSerializer(many=True, read_only=True)
    reminders = ReminderSerializer(many=True, read_only=True)

    class Meta(BookingSerializer.Meta):
        fields = [*BookingSerializer.Meta.fields, "events", "reminders"]


def _booking(pk: int) -> Booking:
    return get_object_or_404(bookings_with_details(), pk=pk)


def _detail(booking: Booking, code: int = status.HTTP_200_OK) -> Response:
    booking = bookings_with_details().prefetch_related("events", "reminders").get(pk=booking.pk)
    return Response(BookingDetailSerializer(booking).data, status=code)


CONFLICT = OpenApiResponse(description="The time is not available; `error.alternatives` lists the nearest free slots.")


class BookingListApi(APIView):
    def get_permissions(self):
        return _write_permissions(self, Book)

    class FilterSerializer(serializers.Serializer):
        start = serializers.DateField(required=False)
        end = serializers.DateField(required=False)
        member = serializers.IntegerField(required=False)
        practitioner = serializers.IntegerField(required=False)
        resource = serializers.IntegerField(required=False)
        location = serializers.IntegerField(required=False)
        status = serializers.MultipleChoiceField(choices=Booking.Status.choices, required=False)

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        member = serializers.PrimaryKeyRelatedField(queryset=Member.objects.all())
        treatment = serializers.PrimaryKeyRelatedField(queryset=CatalogueItem.objects.all())
        starts_at = ClinicDateTimeField()
        practitioner = serializers.PrimaryKeyRelatedField(queryset=Practitioner.objects.filter(active=True),
                                                          required=False, allow_null=True, default=None)
        location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.filter(active=True),
                                                      required=False, allow_null=True, default=None)
        notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    @extend_schema(parameters=[FilterSerializer], responses={200: BookingSerializer(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        zone = clinic_zone()
        bookings = booking_list(
            start=local_day_start(data["start"], zone) if "start" in data else None,
            end=local_day_start(data["end"] + timedelta(days=1), zone) if "end" in data else None,
            member_id=data.get("member"), practitioner_id=data.get("practitioner"),
            resource_id=data.get("resource"), location_id=data.get("location"),
            statuses=list(data.get("status") or []))
        return Response(BookingSerializer(bookings[:500], many=True).data)

    @extend_schema(
        request=InputSerializer, responses={201: BookingDetailSerializer, 409: CONFLICT},
        description=("Book a treatment for a member. Without a practitioner the first free one who performs the "
                     "treatment is chosen. The time must be free for the practitioner, a room and a device of "
                     "the types the treatment needs (409 slot_unavailable with `alternatives` otherwise), "
                     "within working hours and not in the past."),
        examples=[OpenApiExample("Book a treatment at 14:30 clinic time", request_only=True, value={
            "member": 42, "treatment": 7, "starts_at": "2026-12-08T14:30:00+08:00", "notes": "第二次"})])
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            booking = booking_create(actor=request.user, **serializer.validated_data)
        except SlotUnavailable as exc:
            return _conflict(exc)
        return _detail(booking, status.HTTP_201_CREATED)


class BookingDetailApi(APIView):
    permission_classes = [FrontDesk]

    @extend_schema(responses={200: BookingDetailSerializer})
    def get(self, request, pk: int):
        return _detail(_booking(pk))


class BookingRescheduleApi(APIView):
    permission_classes = [Book]

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        starts_at = ClinicDateTimeField()
        practitioner = serializers.PrimaryKeyRelatedField(queryset=Practitioner.objects.filter(active=True),
                                                          required=False, allow_null=True, default=None)
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)

    @extend_schema(request=InputSerializer, responses={200: BookingDetailSerializer, 409: CONFLICT})
    def post(self, request, pk: int):
        booking = _booking(pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            booking = booking_reschedule(booking=booking, actor=request.user, **serializer.validated_data)
        except SlotUnavailable as exc:
            return _conflict(exc)
        return _detail(booking)


class BookingCancelApi(APIView):
    """Cancel, saying who wanted it (`party`: member or clinic) and why."""

    permission_classes = [Book]

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        reason = serializers.CharField(max_length=255)
        party = serializers.ChoiceField(choices=Booking.Party.choices, default=Booking.Party.MEMBER)

    @extend_schema(request=InputSerializer, responses={200: BookingDetailSerializer})
    def post(self, request, pk: int):
        booking = _booking(pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _detail(booking_cancel(booking=booking, actor=request.user, **serializer.validated_data))


class _TransitionApi(APIView):
    permission_classes = [Attend]
    service = None

    @extend_schema(request=None, responses={200: BookingDetailSerializer})
    def post(self, request, pk: int):
        return _detail(type(self).service(booking=_booking(pk), actor=request.user))


class BookingConfirmApi(_TransitionApi):
    service = booking_confirm


class BookingCheckInApi(_TransitionApi):
    service = booking_check_in


class BookingCompleteApi(_TransitionApi):
    """Complete the treatment; the answer's `checkout` is what the checkout starts with."""

    service = booking_complete

    class OutputSerializer(serializers.Serializer):
        booking = BookingDetailSerializer()
        checkout = serializers.JSONField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request, pk: int):
        booking = booking_complete(booking=_booking(pk), actor=request.user)
        booking = bookings_with_details().prefetch_related("events", "reminders").get(pk=booking.pk)
        return Response({"booking": BookingDetailSerializer(booking).data,
                         "checkout": _prefill_data(booking)})


class BookingNoShowApi(_TransitionApi):
    service = booking_no_show


class BookingDepositApi(APIView):
    permission_classes = [Book]

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
        method = serializers.ChoiceField(choices=Payment.Method.choices)

    @extend_schema(request=InputSerializer, responses={200: BookingDetailSerializer},
                   parameters=[IDEMPOTENCY_PARAMETER])
    @idempotent
    def post(self, request, pk: int):
        booking = _booking(pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _detail(booking_deposit_record(booking=booking, actor=request.user, **serializer.validated_data))


class PrefillSerializer(serializers.Serializer):
    booking_id = serializers.IntegerField()
    open = serializers.BooleanField()
    member_id = serializers.IntegerField()
    staff_id = serializers.IntegerField()
    lines = serializers.ListField(child=serializers.DictField())
    deposit = serializers.DictField(allow_null=True)
    visit_id = serializers.IntegerField(allow_null=True)


def _prefill_data(booking: Booking) -> dict:
    prefill = booking_checkout_prefill(booking)
    for line in prefill["lines"]:
        line["unit_price"] = str(line["unit_price"])
    if prefill["deposit"]:
        prefill["deposit"]["amount"] = str(prefill["deposit"]["amount"])
    return PrefillSerializer(prefill).data


class BookingCheckoutApi(APIView):
    """GET: what the checkout of this appointment starts with. POST: check it out (the visit is
    recorded by the checkout, the appointment completed and linked to it)."""

    def get_permissions(self):
        return _write_permissions(self, Book)

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        lines = CheckoutLineSerializer(many=True, required=False)
        payments = CheckoutPaymentSerializer(many=True, default=list)
        coupon_code = serializers.CharField(required=False, allow_blank=True, default="")
        points_to_use = serializers.IntegerField(min_value=0, default=0)

    class OutputSerializer(serializers.Serializer):
        booking = serializers.IntegerField(source="booking_id")
        visit = serializers.IntegerField(source="visit.pk")
        total = serializers.DecimalField(source="visit.total", max_digits=12, decimal_places=2)
        points_earned = serializers.IntegerField()

    @extend_schema(responses={200: PrefillSerializer})
    def get(self, request, pk: int):
        return Response(_prefill_data(_booking(pk)))

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, parameters=[IDEMPOTENCY_PARAMETER])
    @idempotent
    def post(self, request, pk: int):
        booking = _booking(pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lines = [LineInput(**line) for line in data.get("lines") or []]
        result = booking_checkout(booking=booking, actor=request.user, lines=lines or None,
                                  payments=[PaymentInput(**payment) for payment in data["payments"]],
                                  coupon_code=data["coupon_code"], points_to_use=data["points_to_use"])
        result.visit = visits_with_details().get(pk=result.visit.pk)
        result.booking_id = booking.pk
        return Response(self.OutputSerializer(result).data, status=status.HTTP_201_CREATED)


class BookingIcsApi(APIView):
    """The appointment as an iCalendar file, for the member's calendar."""

    permission_classes = [FrontDesk]

    @extend_schema(responses={(200, "text/calendar"): OpenApiTypes.STR})
    def get(self, request, pk: int):
        booking = _booking(pk)
        clinic = current_clinic()
        body = booking_ics(booking, clinic_name=clinic.name, host=clinic_host(clinic))
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="appointment-{booking.pk}.ics"'
        return response


# Calendar, attendance, recall


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
