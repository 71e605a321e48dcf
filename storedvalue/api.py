"""Stored-value API: settings and top-up plans (managers), a member's card, top-ups and cash-outs
(each money movement takes an Idempotency-Key), the prepaid liability report. Paying with the
card and refunding it go through the checkout API (payment method `stored_value`)."""

from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from idempotency.api import IDEMPOTENCY_PARAMETER, idempotent
from members.models import Member
from points.rules import local_date
from storedvalue.models import CashOut, PaymentMethod, StoredValueSettings, TopUp, TopUpPlan
from storedvalue.rules import stored_value_settings
from storedvalue.selectors import card_balance, card_statement, liability_report, top_up_plans, top_ups_of
from storedvalue.services import (
    cash_out_quote,
    stored_value_cash_out,
    stored_value_settings_update,
    stored_value_top_up,
    top_up_plan_create,
    top_up_plan_update,
)
from tiers.models import Tier

FrontDesk = has_perm("accounts.use_frontdesk")
ManageSettings = has_perm("accounts.manage_settings")
CashOutCard = has_perm("storedvalue.cash_out_card")
ViewReports = has_perm("accounts.view_reports")
UNKNOWN = OpenApiResponse(description="No such member or plan (not_found).")


def _money(**kwargs):
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)


class StoredValueSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = StoredValueSettings
        fields = ["split_rule", "top_up_earns_points", "spend_earns_points", "spend_counts_toward_tiers",
                  "cash_out_charge_back_percent", "renewal_threshold", "renewal_days"]
        extra_kwargs = {"cash_out_charge_back_percent": {"max_value": 100},
                        "renewal_threshold": {"min_value": 0}, "renewal_days": {"min_value": 1, "max_value": 3650}}


class StoredValueSettingsApi(APIView):
    permission_classes = [ManageSettings]

    @extend_schema(operation_id="stored_value_settings_get", responses={200: StoredValueSettingsSerializer})
    def get(self, request):
        return Response(StoredValueSettingsSerializer(stored_value_settings()).data)

    @extend_schema(operation_id="stored_value_settings_update", request=StoredValueSettingsSerializer,
                   responses={200: StoredValueSettingsSerializer},
                   description="Change the clinic's stored-value rules (all fields are sent).")
    def put(self, request):
        serializer = StoredValueSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = stored_value_settings_update(actor=request.user, **serializer.validated_data)
        return Response(StoredValueSettingsSerializer(row).data)


class PlanSerializer(serializers.ModelSerializer):
    pay_amount = _money(min_value=Decimal("0.01"))
    bonus_amount = _money(min_value=0, default=0)
    bonus_valid_days = serializers.IntegerField(min_value=1, max_value=3650, allow_null=True, required=False)
    bonus_points = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    tier = serializers.PrimaryKeyRelatedField(queryset=Tier.objects.all(), allow_null=True, required=False)

    class Meta:
        model = TopUpPlan
        fields = ["id", "name", "pay_amount", "bonus_amount", "bonus_valid_days", "bonus_points", "tier", "active"]
        read_only_fields = ["id"]


class PlanListApi(APIView):
    def get_permissions(self):
        return [FrontDesk()] if self.request.method == "GET" else [ManageSettings()]

    @extend_schema(operation_id="stored_value_plans_list", responses={200: PlanSerializer(many=True)},
                   description="The active top-up plans, cheapest first.")
    def get(self, request):
        return Response(PlanSerializer(top_up_plans(), many=True).data)

    @extend_schema(operation_id="stored_value_plans_create", request=PlanSerializer, responses={201: PlanSerializer},
                   examples=[OpenApiExample("充5000送500, bonus valid a year", request_only=True, value={
                       "name": "充5000送500", "pay_amount": "5000.00", "bonus_amount": "500.00",
                       "bonus_valid_days": 365})])
    def post(self, request):
        serializer = PlanSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = top_up_plan_create(actor=request.user, **serializer.validated_data)
        return Response(PlanSerializer(plan).data, status=status.HTTP_201_CREATED)


class PlanDetailApi(APIView):
    def get_permissions(self):
        return [FrontDesk()] if self.request.method == "GET" else [ManageSettings()]

    @extend_schema(operation_id="stored_value_plans_get", responses={200: PlanSerializer, 404: UNKNOWN})
    def get(self, request, pk: int):
        return Response(PlanSerializer(get_object_or_404(TopUpPlan, pk=pk)).data)

    @extend_schema(operation_id="stored_value_plans_update", request=PlanSerializer(partial=True),
                   responses={200: PlanSerializer, 404: UNKNOWN},
                   description="Change a plan (or set `active` false to stop offering it). Past top-ups keep "
                               "what they were given.")
    def patch(self, request, pk: int):
        plan = get_object_or_404(TopUpPlan, pk=pk)
        serializer = PlanSerializer(plan, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        plan = top_up_plan_update(plan=plan, actor=request.user, **serializer.validated_data)
        return Response(PlanSerializer(plan).data)


class BonusExpiringSerializer(serializers.Serializer):
    last_day = serializers.DateField()
    amount = _money()


class CardLineSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    principal = _money()
    bonus = _money()
    reason = serializers.CharField()


class CardSerializer(serializers.Serializer):
    principal = _money(help_text="Paid-in balance (本金).")
    bonus = _money(help_text="Bonus balance (赠送金), unexpired.")
    total = _money()
    bonus_expiring = BonusExpiringSerializer(many=True)
    statement = CardLineSerializer(many=True)


class MemberCardApi(APIView):
    permission_classes = [FrontDesk]

    @extend_schema(operation_id="stored_value_members_card_get", responses={200: CardSerializer, 404: UNKNOWN},
                   description="The member's stored-value card: balances (amounts in the clinic's currency) and "
                               "the latest 50 movements.")
    def get(self, request, pk: int):
        member = get_object_or_404(Member, pk=pk)
        balance = card_balance(member)
        return Response(CardSerializer({
            "principal": balance.principal, "bonus": balance.bonus, "total": balance.total,
            "bonus_expiring": balance.bonus_expiring, "statement": card_statement(member)}).data)


class TopUpSerializer(serializers.ModelSerializer):
    receipt_number = serializers.CharField()
    actor = serializers.CharField(source="actor.__str__")

    class Meta:
        model = TopUp
        fields = ["id", "receipt_number", "member", "plan", "paid", "bonus", "bonus_expires_at", "method",
                  "reference", "points_earned", "actor", "at"]


class MemberTopUpsApi(APIView):
    permission_classes = [FrontDesk]

    class InputSerializer(serializers.Serializer):
        plan = serializers.PrimaryKeyRelatedField(queryset=TopUpPlan.objects.all(), allow_null=True, required=False)
        paid = _money(min_value=Decimal("0.01"), required=False, allow_null=True,
                      help_text="Required without a plan; with one it must be the plan's amount if sent.")
        method = serializers.ChoiceField(choices=PaymentMethod.choices)
        reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")

    @extend_schema(operation_id="stored_value_members_top_ups_list", responses={200: TopUpSerializer(many=True),
                                                                                 404: UNKNOWN})
    def get(self, request, pk: int):
        return Response(TopUpSerializer(top_ups_of(get_object_or_404(Member, pk=pk)), many=True).data)

    @extend_schema(
        operation_id="stored_value_members_top_up", request=InputSerializer,
        responses={201: TopUpSerializer, 404: UNKNOWN}, parameters=[IDEMPOTENCY_PARAMETER],
        description=("Top the member's card up: the amount paid in becomes paid-in balance, a plan's bonus becomes "
                     "bonus balance with the plan's validity. Send an Idempotency-Key: a retry with the same key "
                     "returns the same top-up and moves nothing. Refused with 400: an inactive member, an inactive "
                     "plan, `paid` different from the plan's amount, no amount without a plan, fractions of a cent."),
        examples=[OpenApiExample("With a plan, by WeChat Pay", request_only=True,
                                 value={"plan": 1, "method": "wechat_pay", "reference": "4200001234"}),
                  OpenApiExample("Any amount, no bonus", request_only=True,
                                 value={"paid": "800.00", "method": "cash"})])
    @idempotent
    def post(self, request, pk: int):
        member = get_object_or_404(Member, pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        top_up = stored_value_top_up(member=member, actor=request.user, plan=data.get("plan"), paid=data.get("paid"),
                                     method=data["method"], reference=data["reference"])
        return Response(TopUpSerializer(top_up).data, status=status.HTTP_201_CREATED)


class QuoteSerializer(serializers.Serializer):
    principal = _money()
    bonus = _money(help_text="Forfeited.")
    bonus_used = _money(help_text="Bonus spent since the card was last cashed out (net of refunds).")
    charge_back_percent = serializers.IntegerField()
    charge_back = _money()
    refund = _money(help_text="Paid back to the member: principal less charge-back.")


class CashOutSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.__str__")

    class Meta:
        model = CashOut
        fields = ["id", "member", "principal", "bonus", "bonus_used", "charge_back_percent", "charge_back", "refund",
                  "method", "reference", "reason", "actor", "at"]


class MemberCashOutApi(APIView):
    def get_permissions(self):
        return [FrontDesk()] if self.request.method == "GET" else [CashOutCard()]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=255)
        method = serializers.ChoiceField(choices=PaymentMethod.choices)
        reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
        expected_refund = _money(min_value=0, help_text="The `refund` of the quote the manager confirmed.")

    @extend_schema(operation_id="stored_value_members_cash_out_quote", responses={200: QuoteSerializer, 404: UNKNOWN},
                   description="What cashing the card out now would pay back, before confirming.")
    def get(self, request, pk: int):
        return Response(QuoteSerializer(cash_out_quote(get_object_or_404(Member, pk=pk))).data)

    @extend_schema(
        operation_id="stored_value_members_cash_out", request=InputSerializer,
        responses={201: CashOutSerializer, 404: UNKNOWN}, parameters=[IDEMPOTENCY_PARAMETER],
        description=("Cash the card out (managers): the paid-in balance leaves the card, the member is paid back "
                     "the quote's `refund`, the bonus is forfeited. Refused with 400 when the card is empty or the "
                     "quote changed since `expected_refund` was read. Send an Idempotency-Key."),
        examples=[OpenApiExample("Member moves away", request_only=True, value={
            "reason": "搬家退卡", "method": "bank_card", "expected_refund": "2136.36"})])
    @idempotent
    def post(self, request, pk: int):
        member = get_object_or_404(Member, pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        cash_out = stored_value_cash_out(member=member, actor=request.user, reason=data["reason"],
                                         method=data["method"], reference=data["reference"],
                                         expected_refund=data["expected_refund"])
        return Response(CashOutSerializer(cash_out).data, status=status.HTTP_201_CREATED)


class LiabilityLineSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    amount = _money()


class LiabilitySectionSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    lines = LiabilityLineSerializer(many=True)
    total = _money()
    opening = _money()
    movements = LiabilityLineSerializer(many=True)
    reconciles = serializers.BooleanField()


class LiabilityReportSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    since = serializers.DateField()
    total = _money()
    sections = LiabilitySectionSerializer(many=True)


class LiabilityParams(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text="The day whose end the report is for (default today).")
    since = serializers.DateField(required=False, help_text="First day of the movements (default the 1st of the "
                                                            "month of `as_of`).")

    def validate(self, attrs):
        today = local_date(timezone.now())
        as_of = attrs.get("as_of") or today
        if as_of > today:
            raise serializers.ValidationError({"as_of": _("The report cannot be for a day in the future.")})
        since = attrs.get("since") or as_of.replace(day=1)
        if since > as_of:
            raise serializers.ValidationError({"since": _("The first day must be on or before the report's day.")})
        return {"as_of": as_of, "since": since}


class LiabilityApi(APIView):
    permission_classes = [ViewReports]

    @extend_schema(operation_id="stored_value_liability", parameters=[
        OpenApiParameter("as_of", str, description="YYYY-MM-DD"), OpenApiParameter("since", str,
                                                                                   description="YYYY-MM-DD")],
        responses={200: LiabilityReportSerializer},
        description="Prepaid liability at the end of `as_of` per section (stored value; treatment packages "
                    "when the clinic sells them) with the movements since `since` that reconcile it.")
    def get(self, request):
        params = LiabilityParams(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        return Response(LiabilityReportSerializer(liability_report(**params.validated_data)).data)
