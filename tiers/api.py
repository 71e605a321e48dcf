"""Tiers API: the programme and its tiers (all staff read, managers change), and a member's tier
with progress, retention and history (managers may set it by hand)."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from clinic_loyalty.api_input import RefuseUnknownFields
from clinic_loyalty.api_writes import created, deleted, updated
from members.models import Member
from tiers.models import Tier, TierChange, TierProgramme
from tiers.selectors import (
    member_tier_history,
    member_tier_summary,
    programme_get,
    tier_change_reason_text,
    tiers_list,
)
from tiers.services import (
    MAX_GRACE_DAYS,
    MAX_WINDOW_MONTHS,
    programme_update,
    tier_create,
    tier_delete,
    tier_set_manual,
    tier_update,
)

FrontDesk = has_perm("accounts.use_frontdesk")
ManageSettings = has_perm("accounts.manage_settings")
ManageMembers = has_perm("members.manage_member")

MONEY = {"max_digits": 12, "decimal_places": 2}


class TierOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "rank", "name", "min_spend", "min_visits", "earn_multiplier", "discount_percent",
                  "birthday_gift_points", "perks"]


class TierInputSerializer(RefuseUnknownFields, serializers.Serializer):
    rank = serializers.IntegerField(min_value=0)
    name = serializers.CharField(max_length=40)
    min_spend = serializers.DecimalField(**MONEY, min_value=0, default=0)
    min_visits = serializers.IntegerField(min_value=0, default=0)
    earn_multiplier = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, default=1)
    discount_percent = serializers.IntegerField(min_value=0, max_value=100, default=0)
    birthday_gift_points = serializers.IntegerField(min_value=0, default=0)
    perks = serializers.CharField(required=False, allow_blank=True, default="")


class TierProgrammeSerializer(serializers.ModelSerializer):
    class Meta:
        model = TierProgramme
        fields = ["basis", "window_months", "grace_days", "downgrade_mode"]


def _settings_permissions(request) -> list:
    return [FrontDesk() if request.method == "GET" else ManageSettings()]


class TierProgrammeDetailApi(APIView):
    def get_permissions(self):
        return _settings_permissions(self.request)

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        basis = serializers.ChoiceField(choices=TierProgramme.Basis.choices)
        window_months = serializers.IntegerField(min_value=0, max_value=MAX_WINDOW_MONTHS)
        grace_days = serializers.IntegerField(min_value=0, max_value=MAX_GRACE_DAYS)
        downgrade_mode = serializers.ChoiceField(choices=TierProgramme.DowngradeMode.choices)

    class OutputSerializer(TierProgrammeSerializer):
        tiers = serializers.SerializerMethodField()

        class Meta(TierProgrammeSerializer.Meta):
            fields = [*TierProgrammeSerializer.Meta.fields, "tiers"]

        def get_tiers(self, programme) -> list[dict]:
            return TierOutputSerializer(tiers_list(), many=True).data

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        return Response(self.OutputSerializer(programme_get()).data)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def put(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        programme = programme_update(actor=request.user, **serializer.validated_data)
        return Response(self.OutputSerializer(programme).data)


class TierListApi(APIView):
    def get_permissions(self):
        return _settings_permissions(self.request)

    @extend_schema(responses={200: TierOutputSerializer(many=True)})
    def get(self, request):
        return Response(TierOutputSerializer(tiers_list(), many=True).data)

    @extend_schema(request=TierInputSerializer, responses={201: TierOutputSerializer})
    def post(self, request):
        return created(request, data=TierInputSerializer, create=tier_create, output=TierOutputSerializer)


class TierDetailApi(APIView):
    def get_permissions(self):
        return _settings_permissions(self.request)

    @extend_schema(responses={200: TierOutputSerializer})
    def get(self, request, pk: int):
        return Response(TierOutputSerializer(get_object_or_404(Tier, pk=pk)).data)

    @extend_schema(request=TierInputSerializer(partial=True), responses={200: TierOutputSerializer})
    def patch(self, request, pk: int):
        return updated(request, data=TierInputSerializer, update=tier_update, output=TierOutputSerializer,
                       tier=get_object_or_404(Tier, pk=pk))

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        return deleted(request, delete=tier_delete, tier=get_object_or_404(Tier, pk=pk))


class TierMetricsSerializer(serializers.Serializer):
    spend = serializers.DecimalField(**MONEY)
    visits = serializers.IntegerField()


class TierProgressSerializer(serializers.Serializer):
    next_tier = TierOutputSerializer(allow_null=True)
    spend_needed = serializers.DecimalField(**MONEY, allow_null=True)
    visits_needed = serializers.IntegerField(allow_null=True)


class TierRetentionSerializer(serializers.Serializer):
    qualifies_now = serializers.BooleanField()
    below_since = serializers.DateTimeField(allow_null=True)
    falls_short_on = serializers.DateField(allow_null=True)
    downgrade_on = serializers.DateField(allow_null=True)
    spend_needed = serializers.DecimalField(**MONEY, allow_null=True)
    visits_needed = serializers.IntegerField(allow_null=True)


class TierChangeSerializer(serializers.ModelSerializer):
    from_tier = serializers.CharField(source="from_tier.name", allow_null=True, default=None)
    to_tier = serializers.CharField(source="to_tier.name")
    actor = serializers.CharField(source="actor.full_name", allow_null=True, default=None)
    reason_text = serializers.SerializerMethodField(help_text=(
        "Why the tier changed, in the request's language (a move down at the end of the grace period is "
        "worded now, its day in the language's format); `reason` is the text as recorded."))

    class Meta:
        model = TierChange
        fields = ["id", "kind", "from_tier", "to_tier", "reason", "reason_text", "metrics", "actor", "created_at"]

    def get_reason_text(self, change: TierChange) -> str:
        return tier_change_reason_text(change)


class MemberTierOutputSerializer(serializers.Serializer):
    member_id = serializers.IntegerField(source="member.pk")
    tier = TierOutputSerializer(source="summary.progress.tier")
    since = serializers.DateTimeField(source="summary.state.since", allow_null=True, default=None)
    programme = TierProgrammeSerializer(source="summary.programme")
    metrics = TierMetricsSerializer(source="summary.metrics")
    progress = TierProgressSerializer(source="summary.progress")
    retention = TierRetentionSerializer(source="summary.retention")
    history = TierChangeSerializer(many=True)


def _member_tier_body(member: Member) -> dict:
    summary = member_tier_summary(member, timezone.now())
    return MemberTierOutputSerializer({"member": member, "summary": summary,
                                       "history": member_tier_history(member)}).data


class MemberTierDetailApi(APIView):
    """A member's tier, what the next tier needs, what keeps this one and until when, and the
    history of tier changes with their reasons."""

    permission_classes = [FrontDesk]

    @extend_schema(responses={200: MemberTierOutputSerializer})
    def get(self, request, pk: int):
        return Response(_member_tier_body(get_object_or_404(Member, pk=pk)))


class MemberTierSetApi(APIView):
    """Put a member in a tier by hand, with a reason (managers)."""

    permission_classes = [ManageMembers]

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        tier = serializers.PrimaryKeyRelatedField(queryset=Tier.objects.all())
        reason = serializers.CharField(max_length=255)

    @extend_schema(request=InputSerializer, responses={200: MemberTierOutputSerializer})
    def post(self, request, pk: int):
        member = get_object_or_404(Member, pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tier_set_manual(member=member, actor=request.user, **serializer.validated_data)
        return Response(_member_tier_body(member))
