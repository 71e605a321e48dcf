"""Points API: balance and statement, manual adjustments and their approval, the rewards
catalogue and redemption, coupon templates and coupons. Each POST that moves value is one
service call, so an Idempotency-Key guard can wrap it."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from clinic_loyalty.api_input import RefuseUnknownFields
from clinic_loyalty.api_writes import created, deleted, updated
from idempotency.api import IDEMPOTENCY_PARAMETER, idempotent
from members.models import Member
from members.naming import phone_normalize
from points.adjustments import points_adjust, points_adjustment_approve, points_adjustment_reject
from points.coupons import (
    BULK_LIMIT,
    coupon_issue,
    coupon_template_create,
    coupon_template_delete,
    coupon_template_update,
    coupon_void,
    coupons_bulk_issue,
    coupons_bulk_plan,
)
from points.models import (
    CategoryMultiplier,
    Coupon,
    CouponTemplate,
    Entry,
    Lot,
    LoyaltySettings,
    PointsAdjustment,
    Redemption,
    Reward,
)
from points.rewards import redemption_cancel, reward_create, reward_delete, reward_redeem, reward_update
from points.rules import SETTINGS_LIMITS, loyalty_settings, loyalty_settings_update
from points.selectors import (
    adjustment_list,
    coupon_by_code,
    coupon_list,
    coupon_template_list,
    entry_reason_text,
    lot_last_day,
    points_balance,
    points_statement,
    redemption_list,
    referral_stats,
    reward_list,
    reward_offers,
)
from tiers.models import Tier
from visits.models import CatalogueItem, Category

FrontDesk = has_perm("accounts.use_frontdesk")
ManageSettings = has_perm("accounts.manage_settings")
RequestAdjustment = has_perm("points.adjust_points")
ApproveAdjustment = has_perm("points.approve_adjustment")
IssueCoupon = has_perm("points.issue_coupon")

UNKNOWN_MEMBER = OpenApiResponse(description="No such member or other record named in the request (not_found).")


def _member(pk: int) -> Member:
    return get_object_or_404(Member, pk=pk)


def _coupon(code: str) -> Coupon:
    coupon = coupon_by_code(code)
    if coupon is None:
        raise Http404
    return coupon


def _member_from(serializer: serializers.Serializer) -> Member:
    return _member(serializer.validated_data["member_id"])


class StaffRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")


class ExpiringSerializer(serializers.Serializer):
    points = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    last_day = serializers.DateField()


class BalanceSerializer(serializers.Serializer):
    balance = serializers.IntegerField(help_text="Everything not yet spent or expired, pending included.")
    available = serializers.IntegerField(help_text="What can be spent now.")
    pending = serializers.IntegerField(help_text="Earned but not usable yet.")
    lifetime_earned = serializers.IntegerField()
    expiring_soon = serializers.IntegerField(help_text="Points expiring within the clinic's warning period.")
    expiring = ExpiringSerializer(many=True)
    cash_value = serializers.DecimalField(max_digits=12, decimal_places=2,
                                          help_text="The available points as money at checkout.")


class EntrySerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    actor = StaffRefSerializer(allow_null=True)
    reason_text = serializers.SerializerMethodField(help_text=(
        "Why the entry was written, in the request's language (`reason` is the text as stored)."))

    class Meta:
        model = Entry
        fields = ["id", "kind", "kind_label", "amount", "balance_after", "effective_at", "source_type",
                  "source_id", "actor", "reason", "reason_text"]

    def get_reason_text(self, entry: Entry) -> str:
        return entry_reason_text(entry)


class LotSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="entry.kind")
    kind_label = serializers.CharField(source="entry.get_kind_display")
    pending = serializers.SerializerMethodField()
    last_day = serializers.SerializerMethodField()

    class Meta:
        model = Lot
        fields = ["id", "kind", "kind_label", "amount", "remaining", "available_from", "expires_at",
                  "last_day", "pending"]

    def get_pending(self, lot: Lot) -> bool:
        return lot.available_from > self.context["now"]

    def get_last_day(self, lot: Lot) -> str | None:
        return lot_last_day(lot.expires_at).isoformat() if lot.expires_at else None


class StatementSerializer(serializers.Serializer):
    balance = BalanceSerializer()
    count = serializers.IntegerField()
    entries = EntrySerializer(many=True)
    open_lots = LotSerializer(many=True)


class MemberBalanceApi(APIView):
    permission_classes = [FrontDesk]

    @extend_schema(responses={200: BalanceSerializer})
    def get(self, request, pk: int):
        return Response(BalanceSerializer(points_balance(_member(pk))).data)


class MemberStatementApi(APIView):
    """Every entry, newest first, with the balance after it; and the open lots with their expiry."""

    permission_classes = [FrontDesk]

    class FilterSerializer(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=500, default=50)
        offset = serializers.IntegerField(min_value=0, default=0)

    @extend_schema(parameters=[FilterSerializer], responses={200: StatementSerializer})
    def get(self, request, pk: int):
        member = _member(pk)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        now = timezone.now()
        statement = points_statement(member, at=now, **filters.validated_data)
        return Response(StatementSerializer(statement, context={"now": now}).data)


class AdjustmentSerializer(serializers.ModelSerializer):
    reason_label = serializers.CharField(source="get_reason_code_display")
    status_label = serializers.CharField(source="get_status_display")
    member_name = serializers.CharField(source="member.name")
    requested_by = StaffRefSerializer()
    decided_by = StaffRefSerializer(allow_null=True)

    class Meta:
        model = PointsAdjustment
        fields = ["id", "member", "member_name", "amount", "reason_code", "reason_label", "note", "status",
                  "status_label", "requested_by", "requested_at", "decided_by", "decided_at", "decision_note",
                  "entry"]


class MemberAdjustmentsApi(APIView):
    permission_classes = [RequestAdjustment]

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        amount = serializers.IntegerField(help_text="Positive adds points, negative takes them away.")
        reason_code = serializers.ChoiceField(choices=PointsAdjustment.Reason.choices)
        note = serializers.CharField(max_length=255)

    @extend_schema(responses={200: AdjustmentSerializer(many=True)})
    def get(self, request, pk: int):
        return Response(AdjustmentSerializer(adjustment_list(member=_member(pk)), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: AdjustmentSerializer},
                   parameters=[IDEMPOTENCY_PARAMETER])
    @idempotent
    def post(self, request, pk: int):
        member = _member(pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        adjustment = points_adjust(member=member, actor=request.user, **serializer.validated_data)
        return Response(AdjustmentSerializer(adjustment).data, status=status.HTTP_201_CREATED)


class AdjustmentListApi(APIView):
    """The approval queue with `?status=pending`."""

    permission_classes = [RequestAdjustment]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=PointsAdjustment.Status.choices, required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: AdjustmentSerializer(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        adjustments = adjustment_list(**filters.validated_data)[:500]
        return Response(AdjustmentSerializer(adjustments, many=True).data)


class DecisionSerializer(RefuseUnknownFields, serializers.Serializer):
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


def _decide(request, pk: int, decide) -> Response:
    """Approve or reject (`decide`) a pending adjustment with the request's note."""
    adjustment = get_object_or_404(PointsAdjustment, pk=pk)
    serializer = DecisionSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return Response(AdjustmentSerializer(decide(adjustment=adjustment, actor=request.user,
                                                **serializer.validated_data)).data)


class AdjustmentApproveApi(APIView):
    permission_classes = [ApproveAdjustment]

    @extend_schema(request=DecisionSerializer, responses={200: AdjustmentSerializer},
                   parameters=[IDEMPOTENCY_PARAMETER])
    @idempotent
    def post(self, request, pk: int):
        return _decide(request, pk, points_adjustment_approve)


class AdjustmentRejectApi(APIView):
    permission_classes = [ApproveAdjustment]

    @extend_schema(request=DecisionSerializer, responses={200: AdjustmentSerializer},
                   parameters=[IDEMPOTENCY_PARAMETER])
    @idempotent
    def post(self, request, pk: int):
        return _decide(request, pk, points_adjustment_reject)


class RewardSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    item_name = serializers.CharField(source="item.name", default=None, allow_null=True)
    coupon_template_name = serializers.CharField(source="coupon_template.name", default=None, allow_null=True)

    class Meta:
        model = Reward
        fields = ["id", "name", "kind", "kind_label", "points_cost", "item", "item_name", "coupon_template",
                  "coupon_template_name", "stock", "per_member_limit", "allowed_tiers", "active",
                  "description"]


class RewardOfferSerializer(serializers.Serializer):
    reward = RewardSerializer()
    can_redeem = serializers.BooleanField(allow_null=True, help_text="Null when no member was given.")
    refusal = serializers.CharField(allow_null=True, help_text="Why the member cannot redeem it now.")


class RewardInputSerializer(RefuseUnknownFields, serializers.Serializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=Reward.Kind.choices)
    points_cost = serializers.IntegerField(min_value=1)
    item = serializers.PrimaryKeyRelatedField(queryset=CatalogueItem.objects.all(), required=False,
                                              allow_null=True, default=None)
    coupon_template = serializers.PrimaryKeyRelatedField(queryset=CouponTemplate.objects.all(),
                                                         required=False, allow_null=True, default=None)
    stock = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    per_member_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    allowed_tiers = serializers.PrimaryKeyRelatedField(queryset=Tier.objects.all(), many=True, default=list)
    active = serializers.BooleanField(default=True)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class RewardListApi(APIView):
    """Active rewards; with `?member=<id>`, whether that member can redeem each now. Managers
    see inactive ones too with `?all=1`."""

    def get_permissions(self):
        return [ManageSettings() if self.request.method == "POST" else FrontDesk()]

    class FilterSerializer(serializers.Serializer):
        member = serializers.IntegerField(required=False, help_text=(
            "A member's id: says whether that member can redeem each reward now."))
        all = serializers.BooleanField(default=False, help_text="Inactive rewards too (managers only).")

    @extend_schema(parameters=[FilterSerializer],
                   responses={200: RewardOfferSerializer(many=True), 404: UNKNOWN_MEMBER})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        include_inactive = filters.validated_data["all"] and request.user.has_perm("accounts.manage_settings")
        rewards = reward_list(include_inactive=include_inactive)
        if "member" in filters.validated_data:
            offers = reward_offers(member=_member(filters.validated_data["member"]), rewards=rewards)
            return Response(RewardOfferSerializer(offers, many=True).data)
        return Response([{"reward": data, "can_redeem": None, "refusal": None}
                         for data in RewardSerializer(rewards, many=True).data])

    @extend_schema(request=RewardInputSerializer, responses={201: RewardSerializer})
    def post(self, request):
        return created(request, data=RewardInputSerializer, create=reward_create, output=RewardSerializer)


class RewardDetailApi(APIView):
    def get_permissions(self):
        return [FrontDesk() if self.request.method == "GET" else ManageSettings()]

    @extend_schema(responses={200: RewardSerializer})
    def get(self, request, pk: int):
        return Response(RewardSerializer(get_object_or_404(reward_list(include_inactive=True), pk=pk)).data)

    @extend_schema(request=RewardInputSerializer(partial=True), responses={200: RewardSerializer})
    def patch(self, request, pk: int):
        return updated(request, data=RewardInputSerializer, update=reward_update, output=RewardSerializer,
                       reward=get_object_or_404(Reward, pk=pk))

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        return deleted(request, delete=reward_delete, reward=get_object_or_404(Reward, pk=pk))


class RedemptionSerializer(serializers.ModelSerializer):
    reward_name = serializers.CharField(source="reward.name")
    status_label = serializers.CharField(source="get_status_display")
    coupon_code = serializers.CharField(source="coupon.code", default=None, allow_null=True)

    class Meta:
        model = Redemption
        fields = ["id", "member", "reward", "reward_name", "points", "entry", "coupon", "coupon_code",
                  "status", "status_label", "channel", "created_at", "cancelled_at", "cancel_reason"]


class RewardRedeemApi(APIView):
    permission_classes = [FrontDesk]

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        member_id = serializers.IntegerField()

    @extend_schema(
        request=InputSerializer, responses={201: RedemptionSerializer}, parameters=[IDEMPOTENCY_PARAMETER],
        description=("Redeem the reward for a member: the points are taken (soonest-expiring first) and, for a "
                     "coupon reward, the coupon is issued. Refused with 400 when the reward is inactive or out "
                     "of stock, the member's tier is not allowed, the member's limit is reached or the member "
                     "has too few available points."),
        examples=[OpenApiExample("Redeem for a member", request_only=True, value={"member_id": 42})])
    @idempotent
    def post(self, request, pk: int):
        reward = get_object_or_404(Reward, pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        redemption = reward_redeem(member=_member_from(serializer), reward=reward, actor=request.user)
        return Response(RedemptionSerializer(redemption).data, status=status.HTTP_201_CREATED)


class MemberRedemptionsApi(APIView):
    permission_classes = [FrontDesk]

    @extend_schema(responses={200: RedemptionSerializer(many=True)})
    def get(self, request, pk: int):
        return Response(RedemptionSerializer(redemption_list(member=_member(pk))[:200], many=True).data)


class RefereeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="member.pk")
    member_number = serializers.CharField(source="member.member_number")
    name = serializers.CharField(source="member.name")
    status = serializers.CharField(source="member.status")
    joined_on = serializers.DateField(source="member.joined_on")
    converted = serializers.BooleanField()
    first_paid_visit_at = serializers.DateTimeField(allow_null=True)
    bonus_points = serializers.IntegerField()


class ReferralStatsSerializer(serializers.Serializer):
    referral_code = serializers.SerializerMethodField()
    referred = serializers.IntegerField()
    converted = serializers.IntegerField()
    bonus_points = serializers.IntegerField()
    referees = RefereeSerializer(many=True)

    def get_referral_code(self, stats) -> str:
        return self.context["member"].referral_code


class MemberReferralsApi(APIView):
    """Whom a member referred, how many converted (paid a visit not fully refunded), and the
    referral bonus points the member kept for them."""

    permission_classes = [FrontDesk]

    @extend_schema(responses={200: ReferralStatsSerializer})
    def get(self, request, pk: int):
        member = _member(pk)
        return Response(ReferralStatsSerializer(referral_stats(member=member), context={"member": member}).data)


class ReasonSerializer(RefuseUnknownFields, serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class RedemptionCancelApi(APIView):
    """Give the points (and stock) of a redemption back."""

    permission_classes = [ApproveAdjustment]

    @extend_schema(request=ReasonSerializer, responses={200: RedemptionSerializer},
                   parameters=[IDEMPOTENCY_PARAMETER])
    @idempotent
    def post(self, request, pk: int):
        redemption = get_object_or_404(Redemption, pk=pk)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        redemption = redemption_cancel(redemption=redemption, actor=request.user, **serializer.validated_data)
        return Response(RedemptionSerializer(redemption).data)


class CouponTemplateSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    free_item_name = serializers.CharField(source="free_item.name", default=None, allow_null=True)

    class Meta:
        model = CouponTemplate
        fields = ["id", "name", "kind", "kind_label", "amount", "percent", "cap", "free_item",
                  "free_item_name", "valid_days", "valid_from", "valid_until", "min_spend", "categories",
                  "per_member_limit", "total_limit", "issued_count", "active"]


class CouponTemplateInputSerializer(RefuseUnknownFields, serializers.Serializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=CouponTemplate.Kind.choices)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False,
                                      allow_null=True, default=None)
    percent = serializers.IntegerField(min_value=1, max_value=100, required=False, allow_null=True,
                                       default=None)
    cap = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False,
                                   allow_null=True, default=None)
    free_item = serializers.PrimaryKeyRelatedField(queryset=CatalogueItem.objects.all(), required=False,
                                                   allow_null=True, default=None)
    valid_days = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    valid_from = serializers.DateField(required=False, allow_null=True, default=None)
    valid_until = serializers.DateField(required=False, allow_null=True, default=None)
    min_spend = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, default=0)
    categories = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), many=True, default=list)
    per_member_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    total_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None,
                                           help_text="The most coupons issued from the template in all, "
                                                     "cancelled ones not counted; null: no limit.")
    active = serializers.BooleanField(default=True)


class CouponTemplateListApi(APIView):
    def get_permissions(self):
        return [ManageSettings() if self.request.method == "POST" else FrontDesk()]

    class FilterSerializer(serializers.Serializer):
        all = serializers.BooleanField(default=False, help_text="Inactive templates too.")

    @extend_schema(parameters=[FilterSerializer], responses={200: CouponTemplateSerializer(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        templates = coupon_template_list(include_inactive=filters.validated_data["all"])
        return Response(CouponTemplateSerializer(templates, many=True).data)

    @extend_schema(request=CouponTemplateInputSerializer, responses={201: CouponTemplateSerializer})
    def post(self, request):
        return created(request, data=CouponTemplateInputSerializer, create=coupon_template_create,
                       output=CouponTemplateSerializer)


class CouponTemplateDetailApi(APIView):
    def get_permissions(self):
        return [FrontDesk() if self.request.method == "GET" else ManageSettings()]

    @extend_schema(responses={200: CouponTemplateSerializer})
    def get(self, request, pk: int):
        template = get_object_or_404(coupon_template_list(include_inactive=True), pk=pk)
        return Response(CouponTemplateSerializer(template).data)

    @extend_schema(request=CouponTemplateInputSerializer(partial=True),
                   responses={200: CouponTemplateSerializer})
    def patch(self, request, pk: int):
        return updated(request, data=CouponTemplateInputSerializer, update=coupon_template_update,
                       output=CouponTemplateSerializer, template=get_object_or_404(CouponTemplate, pk=pk))

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        return deleted(request, delete=coupon_template_delete, template=get_object_or_404(CouponTemplate, pk=pk))


class CouponSerializer(serializers.ModelSerializer):
    template_name = serializers.CharField(source="template.name")
    kind = serializers.CharField(source="template.kind")
    status_label = serializers.CharField(source="get_status_display")
    source_label = serializers.CharField(source="get_source_display")

    class Meta:
        model = Coupon
        fields = ["id", "code", "member", "template", "template_name", "kind", "status", "status_label",
                  "source", "source_label", "issued_at", "valid_from", "valid_until", "redeemed_at",
                  "redeemed_visit", "discount_given"]


class CouponListApi(APIView):
    """A member's coupons (`?member=<id>`, `&usable=1` for those usable now); POST issues one."""

    def get_permissions(self):
        return [IssueCoupon() if self.request.method == "POST" else FrontDesk()]

    class FilterSerializer(serializers.Serializer):
        member = serializers.IntegerField()
        usable = serializers.BooleanField(default=False)

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        member_id = serializers.IntegerField()
        template_id = serializers.IntegerField()

    @extend_schema(parameters=[FilterSerializer], responses={200: CouponSerializer(many=True), 404: UNKNOWN_MEMBER})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        member = _member(filters.validated_data["member"])
        usable_at = timezone.now() if filters.validated_data["usable"] else None
        coupons = coupon_list(member=member, usable_at=usable_at)
        return Response(CouponSerializer(coupons[:200], many=True).data)

    @extend_schema(request=InputSerializer, responses={201: CouponSerializer, 404: UNKNOWN_MEMBER},
                   parameters=[IDEMPOTENCY_PARAMETER])
    @idempotent
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = get_object_or_404(CouponTemplate, pk=serializer.validated_data["template_id"])
        coupon = coupon_issue(member=_member_from(serializer), template=template, source=Coupon.Source.MANUAL,
                              actor=request.user)
        return Response(CouponSerializer(coupon).data, status=status.HTTP_201_CREATED)


class CouponDetailApi(APIView):
    permission_classes = [FrontDesk]

    @extend_schema(responses={200: CouponSerializer})
    def get(self, request, code: str):
        return Response(CouponSerializer(_coupon(code)).data)


class CouponVoidApi(APIView):
    permission_classes = [IssueCoupon]

    @extend_schema(request=ReasonSerializer, responses={200: CouponSerializer},
                   parameters=[IDEMPOTENCY_PARAMETER])
    @idempotent
    def post(self, request, code: str):
        coupon = _coupon(code)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        coupon = coupon_void(coupon=coupon, actor=request.user, **serializer.validated_data)
        return Response(CouponSerializer(coupon).data)


class LoyaltySettingsSerializer(serializers.ModelSerializer):
    category_multipliers = serializers.SerializerMethodField(help_text="Multiplier per category id.")
    category_multipliers_by_code = serializers.SerializerMethodField(help_text=(
        "The same multipliers keyed by the category's code, which stays the same when categories are "
        "recreated or imported."))

    class Meta:
        model = LoyaltySettings
        exclude = ["id"]

    def get_category_multipliers(self, rules) -> dict[str, str]:
        return {str(category_id): str(multiplier) for category_id, multiplier
                in CategoryMultiplier.objects.values_list("category_id", "multiplier")}

    def get_category_multipliers_by_code(self, rules) -> dict[str, str]:
        return {code: str(multiplier) for code, multiplier
                in CategoryMultiplier.objects.values_list("category__code", "multiplier")}


class LoyaltySettingsApi(APIView):
    """Earning rules, expiry policy and redemption limits: everyone reads, managers change."""

    def get_permissions(self):
        return [ManageSettings() if self.request.method == "PUT" else FrontDesk()]

    class InputSerializer(RefuseUnknownFields, serializers.ModelSerializer):
        category_multipliers = serializers.DictField(
            child=serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0), required=False,
            help_text="Replaces every multiplier: keyed by category id or by category code.")

        class Meta:
            model = LoyaltySettings
            exclude = ["id"]
            extra_kwargs = {field: {"max_value": limit} for field, limit in SETTINGS_LIMITS.items()}

        def validate_category_multipliers(self, value):
            numeric = {k for k in value if k.isascii() and k.isdigit() and len(k) < 10}
            ids = dict(Category.objects.filter(pk__in=numeric).values_list("pk", "pk"))
            codes = [k for k in value if "\x00" not in k]
            ids.update(Category.objects.filter(code__in=codes).values_list("code", "pk"))
            resolved = {key: ids.get(int(key) if key in numeric else key) for key in value}
            if unknown := sorted(key for key, pk in resolved.items() if pk is None):
                raise serializers.ValidationError(_("Unknown category: %(keys)s.") % {"keys": ", ".join(unknown)})
            if len(set(resolved.values())) < len(resolved):
                raise serializers.ValidationError(_("A category is given twice (by id and by code)."))
            return {resolved[key]: multiplier for key, multiplier in value.items()}

    @extend_schema(responses={200: LoyaltySettingsSerializer})
    def get(self, request):
        return Response(LoyaltySettingsSerializer(loyalty_settings()).data)

    @extend_schema(request=InputSerializer, responses={200: LoyaltySettingsSerializer})
    def put(self, request):
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        rules = loyalty_settings_update(actor=request.user, **serializer.validated_data)
        return Response(LoyaltySettingsSerializer(rules).data)


class BulkIssueSkippedSerializer(serializers.Serializer):
    member_id = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=["not_active", "at_limit"])


class CouponBulkIssueApi(APIView):
    """One coupon of the template to each member of a saved segment or of a list (member ids,
    phones or member numbers; at most 5,000), all or nothing: active members below the
    template's per-member limit get one; if they are more than the template's total limit
    leaves, nothing is issued (400). `dry_run: true` only answers what would happen (the
    preview). A real issue needs an `Idempotency-Key`: it is the run's key, so sending it again
    issues nothing twice (`repeated: true`)."""

    permission_classes = [IssueCoupon]

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        segment_id = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1,
                                              help_text="A saved segment: its members now.")
        member_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
                                           required=False, max_length=BULK_LIMIT)
        phones = serializers.ListField(child=serializers.CharField(max_length=40), required=False,
                                       max_length=BULK_LIMIT)
        member_numbers = serializers.ListField(child=serializers.CharField(max_length=32), required=False,
                                               max_length=BULK_LIMIT)
        dry_run = serializers.BooleanField(default=False)

        def validate(self, data):
            given = [name for name in ("segment_id", "member_ids", "phones", "member_numbers") if name in data]
            if len(given) != 1:
                raise serializers.ValidationError(
                    {"segment_id": [_("Give exactly one of: a segment, member ids, phones or member numbers.")]})
            return data

    class OutputSerializer(serializers.Serializer):
        dry_run = serializers.BooleanField()
        members = serializers.IntegerField(help_text="Members named (each once).")
        to_issue = serializers.IntegerField(help_text="Members who get (or would get) a coupon.")
        room = serializers.IntegerField(allow_null=True, help_text="Coupons the total limit leaves; null: no limit.")
        refused = serializers.CharField(help_text="Why nothing can be issued; empty when it can.")
        skipped = BulkIssueSkippedSerializer(many=True, help_text="Members named who get none, and why.")
        unknown = serializers.ListField(child=serializers.CharField(),
                                        help_text="Member ids, phones or member numbers that name no member.")
        issued = serializers.IntegerField(help_text="Coupons issued by this run (0 for a dry run).")
        repeated = serializers.BooleanField(help_text="This run was sent before; nothing was issued again.")

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, 404: UNKNOWN_MEMBER},
                   parameters=[IDEMPOTENCY_PARAMETER])
    @idempotent
    def post(self, request, pk: int):
        template = get_object_or_404(CouponTemplate, pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member_ids, unknown = _bulk_members(data)
        plan = coupons_bulk_plan(template=template, member_ids=member_ids)
        answer = {"dry_run": data["dry_run"], "members": len(plan.member_ids), "to_issue": len(plan.to_issue),
                  "room": plan.room, "refused": plan.error, "unknown": unknown, "issued": 0, "repeated": False,
                  "skipped": [{"member_id": m.pk, "reason": "not_active"} for m in plan.not_active]
                  + [{"member_id": m.pk, "reason": "at_limit"} for m in plan.at_limit]}
        if data["dry_run"]:
            return Response(answer)
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            raise serializers.ValidationError({"dry_run": [_("Issuing needs an Idempotency-Key header.")]})
        result = coupons_bulk_issue(template=template, member_ids=member_ids, actor=request.user, run_key=key)
        answer.update(issued=len(result.issued), repeated=result.repeated,
                      to_issue=len(result.plan.to_issue), room=result.plan.room, refused="")
        return Response(answer)


def _bulk_members(data: dict) -> tuple[list[int], list[str]]:
    """The member ids a bulk issue names, in order, and what named no member."""
    from segments.models import Segment
    from segments.selectors import segment_members

    if "segment_id" in data:
        segment = get_object_or_404(Segment, pk=data["segment_id"])
        return list(segment_members(segment).order_by("id").values_list("pk", flat=True)[:BULK_LIMIT + 1]), []
    if "member_ids" in data:
        found = set(Member.objects.filter(pk__in=data["member_ids"]).values_list("pk", flat=True))
        return ([pk for pk in data["member_ids"] if pk in found],
                [str(pk) for pk in data["member_ids"] if pk not in found])
    if "phones" in data:
        normalized = {}
        for raw in data["phones"]:
            try:
                normalized[raw] = phone_normalize(raw)
            except DjangoValidationError:
                normalized[raw] = None
        by_phone = dict(Member.objects.filter(phone__in=[p for p in normalized.values() if p])
                        .values_list("phone", "pk"))
        return ([by_phone[normalized[raw]] for raw in data["phones"] if normalized[raw] in by_phone],
                [raw for raw in data["phones"] if normalized[raw] not in by_phone])
    numbers = [number.strip().upper() for number in data["member_numbers"]]
    by_number = dict(Member.objects.filter(member_number__in=numbers).values_list("member_number", "pk"))
    return [by_number[n] for n in numbers if n in by_number], [n for n in numbers if n not in by_number]
