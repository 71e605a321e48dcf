"""Feedback API: surveys with their answers (read), the satisfaction measures, and follow-up
tasks (list, create by hand, read with outcomes, record an outcome). Thin: each view validates,
calls one service or selector and shapes the answer. Every staff role may use it, as the
follow-up queue; outcomes move no value, so no Idempotency-Key."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from accounts.models import User
from appointments.api.common import ClinicDateTimeField
from appointments.models import Booking
from clinic_loyalty.api_input import RefuseUnknownFields
from clinic_loyalty.api_pages import page_serializer
from feedback.models import FollowUpOutcome, FollowUpTask, Survey, SurveyAnswer
from feedback.selectors import (
    answer_figures,
    followup_detail,
    followup_list,
    followup_note_text,
    followup_queue,
    followups_on_time,
    period_of_days,
    recall_conversion,
    recall_outcomes,
    survey_list,
    survey_response_rate,
)
from feedback.services import followup_create, followup_outcome_record
from members.models import Member

FrontDesk = has_perm("accounts.use_frontdesk")
ViewReports = has_perm("accounts.view_reports")
MAX_PAGE = 500
MAX_PERIOD_DAYS = 366


class Pagination(LimitOffsetPagination):
    max_limit = MAX_PAGE


class AnswerSerializer(serializers.ModelSerializer):
    group = serializers.ChoiceField(choices=[("promoter", "promoter"), ("passive", "passive"),
                                             ("detractor", "detractor")],
                                    help_text="promoter (9–10), passive (7–8) or detractor (0–6).")
    answered_at = ClinicDateTimeField()
    updated_at = ClinicDateTimeField()

    class Meta:
        model = SurveyAnswer
        fields = ["nps_score", "group", "practitioner_rating", "comment", "tags", "answered_at", "updated_at"]


class SurveySerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.name")
    practitioner_name = serializers.SerializerMethodField()
    visited_at = ClinicDateTimeField(source="visit.visited_at")
    due_at = ClinicDateTimeField()
    sent_at = ClinicDateTimeField(allow_null=True)
    answer = serializers.SerializerMethodField()

    class Meta:
        model = Survey
        fields = ["id", "visit", "visited_at", "member", "member_name", "practitioner", "practitioner_name",
                  "status", "skip_reason", "due_at", "sent_at", "answer"]

    def get_practitioner_name(self, survey) -> str:
        return str(survey.practitioner) if survey.practitioner_id else ""

    @extend_schema_field(AnswerSerializer(allow_null=True))
    def get_answer(self, survey) -> dict | None:
        answer = getattr(survey, "answer", None)
        return AnswerSerializer(answer).data if answer else None


SurveyPageSerializer = page_serializer("SurveyPageSerializer", SurveySerializer)


def _period_validate(data: dict, first: str, last: str) -> dict:
    if data.get(first) and data.get(last):
        if data[last] < data[first]:
            raise serializers.ValidationError({last: _("The last day cannot be before the first.")})
        if (data[last] - data[first]).days >= MAX_PERIOD_DAYS:
            raise serializers.ValidationError({last: _("At most %(days)s days at once.") % {"days": MAX_PERIOD_DAYS}})
    return data


class SurveyListApi(APIView):
    """Surveys with their answers, newest first, `limit` (50 unless given) at a time."""

    permission_classes = [FrontDesk]

    class FilterSerializer(serializers.Serializer):
        member = serializers.IntegerField(required=False, help_text="A member's id.")
        answered = serializers.BooleanField(required=False, allow_null=True, default=None)
        sent_from = serializers.DateField(required=False, help_text="First day sent, in the clinic's time zone.")
        sent_until = serializers.DateField(required=False, help_text="Last day sent (included).")
        limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, required=False)
        offset = serializers.IntegerField(min_value=0, required=False)

        def validate(self, data):
            return _period_validate(data, "sent_from", "sent_until")

    @extend_schema(operation_id="v1_feedback_surveys_list", parameters=[FilterSerializer],
                   responses={200: SurveyPageSerializer})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        start = period_of_days(data["sent_from"], data["sent_from"])[0] if data.get("sent_from") else None
        end = period_of_days(data["sent_until"], data["sent_until"])[1] if data.get("sent_until") else None
        surveys = survey_list(member_id=data.get("member"), answered=data.get("answered"), start=start, end=end)
        paginator = Pagination()
        page = paginator.paginate_queryset(surveys, request, view=self)
        return paginator.get_paginated_response(SurveySerializer(page, many=True).data)


class SurveyDetailApi(APIView):
    permission_classes = [FrontDesk]

    @extend_schema(responses={200: SurveySerializer})
    def get(self, request, pk: int):
        return Response(SurveySerializer(get_object_or_404(survey_list(), pk=pk)).data)


class RateSerializer(serializers.Serializer):
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True)


class NpsSerializer(serializers.Serializer):
    answers = serializers.IntegerField()
    promoters = serializers.IntegerField()
    passives = serializers.IntegerField()
    detractors = serializers.IntegerField()
    score = serializers.FloatField(allow_null=True, help_text="% promoters − % detractors; null without answers.")


class RatingSerializer(serializers.Serializer):
    practitioner_id = serializers.IntegerField()
    name = serializers.CharField()
    answers = serializers.IntegerField()
    average = serializers.FloatField(allow_null=True, help_text="Null below 5 answers.")


class MeasuresSerializer(serializers.Serializer):
    nps = NpsSerializer()
    response_rate = RateSerializer()
    practitioner_ratings = RatingSerializer(many=True)
    followups_on_time = RateSerializer()
    recall_conversion = RateSerializer()


class MeasuresApi(APIView):
    """The satisfaction and follow-up measures over local days `from`–`until` (docs/kpis.md)."""

    permission_classes = [ViewReports]

    class FilterSerializer(serializers.Serializer):
        date_from = serializers.DateField(help_text="First day, in the clinic's time zone.")
        date_until = serializers.DateField(help_text="Last day (included).")

        def validate(self, data):
            return _period_validate(data, "date_from", "date_until")

    @extend_schema(parameters=[FilterSerializer], responses={200: MeasuresSerializer})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        start, end = period_of_days(filters.validated_data["date_from"], filters.validated_data["date_until"])
        score, ratings = answer_figures(start=start, end=end)
        return Response(MeasuresSerializer({
            "nps": score, "response_rate": survey_response_rate(start=start, end=end),
            "practitioner_ratings": ratings,
            "followups_on_time": followups_on_time(start=start, end=end),
            "recall_conversion": recall_conversion(start=start, end=end)}).data)


class OutcomeSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username")
    recorded_at = ClinicDateTimeField()
    call_back_at = ClinicDateTimeField(allow_null=True)

    class Meta:
        model = FollowUpOutcome
        fields = ["id", "kind", "notes", "call_back_at", "booking", "actor", "recorded_at"]


class FollowUpSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.name")
    due_at = ClinicDateTimeField()
    first_due_at = ClinicDateTimeField()
    created_at = ClinicDateTimeField()
    closed_at = ClinicDateTimeField(allow_null=True)

    note_text = serializers.SerializerMethodField(help_text=(
        "What the follow-up asks, in the request's language (a recall's note is worded now, its day in the "
        "language's format); `note` is the text as recorded."))

    class Meta:
        model = FollowUpTask
        fields = ["id", "member", "member_name", "kind", "status", "due_at", "first_due_at", "note", "note_text",
                  "assigned_to", "practitioner", "visit", "treatment", "answer", "booking", "created_at",
                  "closed_at"]

    def get_note_text(self, task: FollowUpTask) -> str:
        return followup_note_text(task)


class FollowUpDetailSerializer(FollowUpSerializer):
    outcomes = OutcomeSerializer(many=True)

    class Meta(FollowUpSerializer.Meta):
        fields = [*FollowUpSerializer.Meta.fields, "outcomes"]


FollowUpPageSerializer = page_serializer("FollowUpPageSerializer", FollowUpSerializer)


class FollowUpListApi(APIView):
    """GET: follow-ups. With `when` (overdue, today, upcoming) only open ones, soonest first, as
    the queue; otherwise newest first, by `status`. POST: a follow-up written by hand."""

    permission_classes = [FrontDesk]

    class FilterSerializer(serializers.Serializer):
        when = serializers.ChoiceField(choices=[("overdue", "overdue"), ("today", "today"),
                                                ("upcoming", "upcoming"), ("open", "open")], required=False,
                                       help_text="The queue: open follow-ups overdue, due today, after today, "
                                                 "or all open.")
        status = serializers.ChoiceField(choices=FollowUpTask.Status.choices, required=False)
        kind = serializers.ChoiceField(choices=FollowUpTask.Kind.choices, required=False)
        member = serializers.IntegerField(required=False)
        practitioner = serializers.IntegerField(required=False, help_text="A practitioner's id (queue only).")
        assigned_to = serializers.IntegerField(required=False, help_text="A staff member's id (queue only).")
        limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, required=False)
        offset = serializers.IntegerField(min_value=0, required=False)

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        member = serializers.PrimaryKeyRelatedField(queryset=Member.objects.all())
        due_at = ClinicDateTimeField()
        note = serializers.CharField(max_length=300)
        assigned_to = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False,
                                                         allow_null=True)

    @extend_schema(operation_id="v1_feedback_followups_list", parameters=[FilterSerializer],
                   responses={200: FollowUpPageSerializer})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        if "when" in data:
            tasks = followup_queue(when="" if data["when"] == "open" else data["when"], kind=data.get("kind", ""),
                                   practitioner_id=data.get("practitioner"), assigned_to_id=data.get("assigned_to"))
            if data.get("member"):
                tasks = tasks.filter(member_id=data["member"])
        else:
            tasks = followup_list(member_id=data.get("member"), status=data.get("status", ""),
                                  kind=data.get("kind", ""))
        paginator = Pagination()
        page = paginator.paginate_queryset(tasks, request, view=self)
        return paginator.get_paginated_response(FollowUpSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: FollowUpDetailSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = followup_create(actor=request.user, **data.validated_data)
        return Response(FollowUpDetailSerializer(followup_detail(task.pk)).data, status=status.HTTP_201_CREATED)


class FollowUpDetailApi(APIView):
    permission_classes = [FrontDesk]

    @extend_schema(responses={200: FollowUpDetailSerializer})
    def get(self, request, pk: int):
        get_object_or_404(FollowUpTask, pk=pk)
        return Response(FollowUpDetailSerializer(followup_detail(pk)).data)


class FollowUpOutcomeApi(APIView):
    """Record what came of a follow-up: `reached`, `booked` (with `booking`), `not_interested` and
    `complaint` (with `notes`; opens a complaint case) close it; `no_answer` puts it back a day;
    `call_back` (with `call_back_at`) moves it to that time."""

    permission_classes = [FrontDesk]

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        kind = serializers.ChoiceField(choices=FollowUpOutcome.Kind.choices)
        notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
        call_back_at = ClinicDateTimeField(required=False, allow_null=True, default=None)
        booking = serializers.PrimaryKeyRelatedField(queryset=Booking.objects.all(), required=False,
                                                     allow_null=True, default=None)

    @extend_schema(request=InputSerializer, responses={201: FollowUpDetailSerializer})
    def post(self, request, pk: int):
        task = get_object_or_404(FollowUpTask, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        followup_outcome_record(task=task, actor=request.user, **data.validated_data)
        return Response(FollowUpDetailSerializer(followup_detail(pk)).data, status=status.HTTP_201_CREATED)



class RecallOutcomeSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.name")
    treatment_name = serializers.SerializerMethodField()
    created_at = ClinicDateTimeField()
    closed_at = ClinicDateTimeField(allow_null=True)
    last_outcome = serializers.ChoiceField(choices=FollowUpOutcome.Kind.choices, allow_null=True,
                                           help_text="The latest outcome on the recall; null before the first.")
    outcomes = serializers.IntegerField(source="outcomes_count", help_text="How many outcomes were recorded.")
    converted = serializers.BooleanField(
        help_text="The member booked an appointment within 30 days of the recall, from the call or not.")

    class Meta:
        model = FollowUpTask
        fields = ["id", "member", "member_name", "treatment", "treatment_name", "status", "created_at", "closed_at",
                  "last_outcome", "outcomes", "booking", "converted"]

    def get_treatment_name(self, task) -> str:
        return task.treatment.name if task.treatment_id else ""


RecallOutcomePageSerializer = page_serializer("RecallOutcomePageSerializer", RecallOutcomeSerializer)


class RecallOutcomeListApi(APIView):
    """The recalls made from the recall list in local days `date_from`–`date_until`, newest first,
    each with its latest outcome, the appointment a "booked" outcome linked, and whether the
    member booked within 30 days (`converted`, as docs/kpis.md counts recall conversion)."""

    permission_classes = [FrontDesk]

    class FilterSerializer(serializers.Serializer):
        date_from = serializers.DateField(help_text="First day the recall was made, in the clinic's time zone.")
        date_until = serializers.DateField(help_text="Last day (included).")
        converted = serializers.BooleanField(required=False, allow_null=True, default=None,
                                             help_text="Only recalls booked (true) or not booked (false) "
                                                       "within 30 days.")
        limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, required=False)
        offset = serializers.IntegerField(min_value=0, required=False)

        def validate(self, data):
            return _period_validate(data, "date_from", "date_until")

    @extend_schema(operation_id="v1_feedback_recalls_list", parameters=[FilterSerializer],
                   responses={200: RecallOutcomePageSerializer})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        start, end = period_of_days(data["date_from"], data["date_until"])
        paginator = Pagination()
        page = paginator.paginate_queryset(recall_outcomes(start=start, end=end, converted=data["converted"]),
                                           request, view=self)
        return paginator.get_paginated_response(RecallOutcomeSerializer(page, many=True).data)
