"""Appointments API: bookings and their status flow, deposits, checkout of a booking and its .ics
file. Thin: each view validates, calls one service or selector and shapes the answer."""

from datetime import timedelta

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.api.availability import SlotSerializer
from appointments.api.common import Attend, Book, ClinicDateTimeField, FrontDesk, LocalTimeField, write_permissions
from appointments.availability import local_day_start
from appointments.ics import booking_ics
from appointments.models import Booking, BookingEvent, Location, Practitioner, Reminder
from appointments.selectors import booking_checkout_prefill, booking_list, bookings_with_details
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


def _conflict(exc: SlotUnavailable) -> Response:
    body = error_body("slot_unavailable", exc.message)
    body["error"]["alternatives"] = SlotSerializer(exc.alternatives, many=True).data
    return Response(body, status=status.HTTP_409_CONFLICT)

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
        return write_permissions(self, Book)

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
        return write_permissions(self, Book)

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
