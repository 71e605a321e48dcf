"""Campaigns API: campaigns (CRUD, preview, launch, cancel, results) and the clinic's birthday offer
for owners and managers; the campaign offers a member holds for the front desk."""

import hashlib
import hmac
from decimal import Decimal

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from campaigns.campaign_services import (
    SETTINGS_FIELDS,
    campaign_cancel,
    campaign_create,
    campaign_delete,
    campaign_launch,
    campaign_settings_update,
    campaign_update,
    sms_reply_receive,
)
from campaigns.models import BirthdayTiming, Campaign, CampaignGrant, CampaignResult, CampaignSettings
from campaigns.selectors import campaign_given, campaign_preview, campaign_settings, member_campaign_offers
from campaigns.services import birthday_offer, birthday_offer_update
from clinic_loyalty.api_input import RefuseUnknownFields
from idempotency.api import IDEMPOTENCY_PARAMETER, idempotent
from members.models import Member
from messaging.models import PURPOSE_VARIABLES, Purpose
from points.models import CouponTemplate
from segments.models import Segment
from tiers.models import Tier

ManageSettings = has_perm("accounts.manage_settings")
FrontDesk = has_perm("accounts.use_frontdesk")


class BirthdayOfferSerializer(RefuseUnknownFields, serializers.Serializer):
    """The birthday offer's settings: those of the clinic's birthday campaign."""

    enabled = serializers.BooleanField(required=False, help_text="False cancels the birthday campaign; true "
                                       "launches a new one with the last one's settings.")
    timing = serializers.ChoiceField(choices=BirthdayTiming.choices, required=False)
    coupon_template = serializers.PrimaryKeyRelatedField(queryset=CouponTemplate.objects.all(), allow_null=True,
                                                         required=False)
    bonus_points = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    tier_gift = serializers.BooleanField(required=False)
    send_message = serializers.BooleanField(required=False)


class BirthdayOfferOutputSerializer(BirthdayOfferSerializer):
    coupon_template_name = serializers.CharField(source="coupon_template.name", default=None, allow_null=True)
    coupon_template_active = serializers.BooleanField(
        source="coupon_template.active", default=None, allow_null=True,
        help_text="False when the coupon chosen has been deactivated since: no coupon is given with it "
                  "until an active one is chosen.")
    campaign = serializers.IntegerField(source="campaign.pk", default=None, allow_null=True,
                                        help_text="The birthday campaign these settings are (see /campaigns/{id}/).")


class BirthdayOfferApi(APIView):
    """Deprecated in favour of the birthday campaign (`/campaigns/{id}/`, schedule `birthday`),
    kept working: it reads and changes the clinic's birthday campaign. Whether and when members
    get a birthday offer, and what it is: bonus points, the tier's birthday gift, a coupon (a
    template chosen anew must be active), the birthday message."""

    permission_classes = [ManageSettings]

    @extend_schema(responses={200: BirthdayOfferOutputSerializer}, deprecated=True)
    def get(self, request):
        return Response(BirthdayOfferOutputSerializer(birthday_offer()).data)

    @extend_schema(request=BirthdayOfferSerializer(partial=True), responses={200: BirthdayOfferOutputSerializer},
                   deprecated=True)
    def patch(self, request):
        serializer = BirthdayOfferSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        offer = birthday_offer_update(actor=request.user, **serializer.validated_data)
        return Response(BirthdayOfferOutputSerializer(offer).data)


# Campaigns


class CampaignMessageSerializer(serializers.Serializer):
    subject = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    body = serializers.CharField(allow_blank=True, help_text="Empty removes the channel's text.")


class CampaignInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.CharField(max_length=30, required=False, allow_blank=True)
    schedule = serializers.ChoiceField(choices=Campaign.Schedule.choices, required=False)
    segment = serializers.PrimaryKeyRelatedField(queryset=Segment.objects.filter(archived=False), required=False,
                                                 allow_null=True, help_text="Null: all active members.")
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(required=False, allow_null=True)
    send_time = serializers.TimeField(required=False)
    month = serializers.IntegerField(min_value=1, max_value=12, required=False, allow_null=True)
    day = serializers.IntegerField(min_value=1, max_value=31, required=False, allow_null=True)
    trigger_days = serializers.IntegerField(min_value=0, max_value=365, required=False, allow_null=True)
    birthday_timing = serializers.ChoiceField(choices=BirthdayTiming.choices, required=False,
                                              help_text="Schedule `birthday`: on the birthday, or on the first "
                                                        "day of the birthday month.")
    tier_gift = serializers.BooleanField(required=False, help_text="Schedule `birthday`: add the birthday gift "
                                         "points of the member's tier.")
    template_message = serializers.BooleanField(required=False, help_text="Schedule `birthday`: send the clinic's "
                                                "“Birthday offer” message template when there is no text.")
    validity_days = serializers.IntegerField(min_value=1, max_value=366, required=False)
    bonus_points = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    coupon_template = serializers.PrimaryKeyRelatedField(queryset=CouponTemplate.objects.all(), required=False,
                                                         allow_null=True)
    points_multiplier = serializers.DecimalField(max_digits=4, decimal_places=2, min_value=Decimal("1.01"),
                                                 max_value=Decimal(10), required=False, allow_null=True)
    min_tier = serializers.PrimaryKeyRelatedField(queryset=Tier.objects.all(), required=False, allow_null=True)
    holdout_percent = serializers.IntegerField(min_value=0, max_value=50, required=False)
    max_grants_per_member = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    budget_points = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    budget_coupons = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    messages = serializers.DictField(child=CampaignMessageSerializer(), required=False, help_text=(
        "Text per channel (sms, email, wechat) with variables in braces: " + ", ".join(
            PURPOSE_VARIABLES[Purpose.MARKETING]) + "."))


class CampaignSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display")
    messages = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = ["id", "name", "kind", "status", "status_label", "segment", "schedule", "starts_on", "ends_on",
                  "send_time",
                  "month", "day", "trigger_days", "birthday_timing", "tier_gift", "template_message",
                  "validity_days", "bonus_points", "coupon_template",
                  "points_multiplier", "min_tier", "holdout_percent", "max_grants_per_member", "budget_points",
                  "budget_coupons", "created_at", "launched_at", "messages"]

    @extend_schema_field(serializers.DictField(child=CampaignMessageSerializer()))
    def get_messages(self, campaign) -> dict:
        return {m.channel: {"subject": m.subject, "body": m.body} for m in campaign.messages.all()}


class CampaignPreviewSerializer(serializers.Serializer):
    targeted = serializers.IntegerField()
    treated = serializers.IntegerField()
    held_out = serializers.IntegerField()
    offer_members = serializers.IntegerField()
    reachable = serializers.DictField(child=serializers.IntegerField(), help_text="Treated members reachable per "
                                      "channel (active, an address, the channel's marketing consent).")
    points = serializers.IntegerField()
    coupons = serializers.IntegerField()
    coupon_value = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    message_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    estimated_cost = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)


class GivenSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    offers = serializers.IntegerField()
    points = serializers.IntegerField()
    coupons = serializers.IntegerField()
    coupons_redeemed = serializers.IntegerField()


class ResultSerializer(serializers.Serializer):
    computed_at = serializers.DateTimeField(allow_null=True)
    measured_from = serializers.DateTimeField(allow_null=True)
    measured_until = serializers.DateTimeField(allow_null=True)
    figures = serializers.DictField(allow_null=True, help_text=(
        "Per group (treated, control): members, visits, visit_rate, revenue, revenue_per_member, "
        "redemption_rate, cost; incremental_revenue with its 95 % Welch interval (low, high) and "
        "`significant` (false when the interval includes 0), incremental_visits, offer_cost, message_cost, "
        "roi. Computed by a nightly job after the measured period; null before."))
    given = GivenSerializer()


class CampaignOfferSerializer(serializers.ModelSerializer):
    campaign_name = serializers.CharField(source="campaign.name")
    points_multiplier = serializers.DecimalField(source="campaign.points_multiplier", max_digits=4,
                                                 decimal_places=2, allow_null=True)
    coupon_code = serializers.CharField(source="coupon.code", default=None, allow_null=True)
    coupon_name = serializers.CharField(source="coupon.template.name", default=None, allow_null=True)

    class Meta:
        model = CampaignGrant
        fields = ["campaign", "campaign_name", "occurrence", "points", "points_multiplier", "coupon_code",
                  "coupon_name", "valid_from", "valid_until"]


def _campaign(pk: int) -> Campaign:
    return get_object_or_404(Campaign.objects.prefetch_related("messages"), pk=pk)


def _input(data, *, partial: bool = False) -> dict:
    serializer = CampaignInputSerializer(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    values = dict(serializer.validated_data)
    if "messages" in values:
        values["messages"] = {channel: dict(text) for channel, text in values["messages"].items()}
    return values


class CampaignListApi(APIView):
    """The clinic's campaigns, newest first; create a draft."""

    permission_classes = [ManageSettings]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: CampaignSerializer(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        campaigns = Campaign.objects.prefetch_related("messages")
        if "status" in filters.validated_data:
            campaigns = campaigns.filter(status=filters.validated_data["status"])
        return Response(CampaignSerializer(campaigns[:500], many=True).data)

    @extend_schema(request=CampaignInputSerializer, responses={201: CampaignSerializer})
    def post(self, request):
        campaign = campaign_create(actor=request.user, **_input(request.data))
        return Response(CampaignSerializer(_campaign(campaign.pk)).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(APIView):
    """One campaign; change or delete a draft."""

    permission_classes = [ManageSettings]

    @extend_schema(responses={200: CampaignSerializer})
    def get(self, request, pk: int):
        return Response(CampaignSerializer(_campaign(pk)).data)

    @extend_schema(request=CampaignInputSerializer(partial=True), responses={200: CampaignSerializer})
    def patch(self, request, pk: int):
        campaign = campaign_update(campaign=_campaign(pk), actor=request.user, **_input(request.data, partial=True))
        return Response(CampaignSerializer(_campaign(campaign.pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        campaign_delete(campaign=_campaign(pk), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CampaignPreviewApi(APIView):
    """What launching would do for one occurrence: targeted, treated, held out, reachable per
    channel, estimated cost (points, coupons at face value, messages)."""

    permission_classes = [ManageSettings]

    @extend_schema(responses={200: CampaignPreviewSerializer})
    def get(self, request, pk: int):
        preview = campaign_preview(_campaign(pk))
        return Response(CampaignPreviewSerializer({**preview.__dict__, "estimated_cost": preview.estimated_cost}).data)


class CampaignLaunchApi(APIView):
    permission_classes = [ManageSettings]

    @extend_schema(request=None, responses={200: CampaignSerializer}, parameters=[IDEMPOTENCY_PARAMETER],
                   description=("Launch a draft: the control group is chosen and stored, and the campaign is "
                                "scheduled. Refused with 400, changing nothing, for an empty audience, a first day "
                                "that has passed, an overlapping points multiplier, or a first occurrence that "
                                "would exceed the budget."))
    @idempotent
    def post(self, request, pk: int):
        campaign = campaign_launch(campaign=_campaign(pk), actor=request.user)
        return Response(CampaignSerializer(_campaign(campaign.pk)).data)


class CampaignCancelApi(APIView):
    permission_classes = [ManageSettings]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)

    class OutputSerializer(serializers.Serializer):
        campaign = CampaignSerializer()
        given = GivenSerializer(help_text="What was already given and stays.")

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer}, parameters=[IDEMPOTENCY_PARAMETER],
                   description="Cancel: unsent messages are skipped and no further offers are given; what was "
                               "already given stays and is returned.")
    @idempotent
    def post(self, request, pk: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = campaign_cancel(campaign=_campaign(pk), actor=request.user, **serializer.validated_data)
        return Response({"campaign": CampaignSerializer(_campaign(campaign.pk)).data,
                         "given": GivenSerializer(campaign_given(campaign)).data})


class CampaignResultsApi(APIView):
    """The stored results (never computed on request) and what the campaign has given."""

    permission_classes = [ManageSettings]

    @extend_schema(responses={200: ResultSerializer})
    def get(self, request, pk: int):
        campaign = _campaign(pk)
        result = CampaignResult.objects.filter(campaign=campaign).first()
        return Response(ResultSerializer({
            "computed_at": result and result.computed_at, "measured_from": result and result.measured_from,
            "measured_until": result and result.measured_until, "figures": result and result.figures,
            "given": campaign_given(campaign)}).data)


class MemberCampaignOffersApi(APIView):
    """The campaign offers a member holds now (front desk)."""

    permission_classes = [FrontDesk]

    @extend_schema(responses={200: CampaignOfferSerializer(many=True)})
    def get(self, request, pk: int):
        member = get_object_or_404(Member, pk=pk)
        return Response(CampaignOfferSerializer(member_campaign_offers(member=member), many=True).data)


class CampaignSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = CampaignSettings
        fields = list(SETTINGS_FIELDS)


class CampaignSettingsApi(APIView):
    """What campaign results are measured with: gross margin rate, price of a message per channel,
    cost of a point, days measured after the offer window, default control group (%)."""

    permission_classes = [ManageSettings]

    @extend_schema(responses={200: CampaignSettingsSerializer})
    def get(self, request):
        return Response(CampaignSettingsSerializer(campaign_settings()).data)

    @extend_schema(request=CampaignSettingsSerializer(partial=True), responses={200: CampaignSettingsSerializer})
    def patch(self, request):
        serializer = CampaignSettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return Response(CampaignSettingsSerializer(
            campaign_settings_update(actor=request.user, **serializer.validated_data)).data)


SIGNATURE_HEADER = "X-Signature"


def _signature_ok(body: bytes, header: str) -> bool:
    """The provider signs the raw body: `X-Signature: sha256=<hex HMAC-SHA256 of the body>` with
    the shared secret SMS_INBOUND_SECRET. Compared in constant time; no secret, no entry."""
    secret = settings.SMS_INBOUND_SECRET
    if not secret:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), (header or "").strip().encode())


class SmsReplySerializer(RefuseUnknownFields, serializers.Serializer):
    message_id = serializers.CharField(max_length=100, help_text="The provider's id of the message: a "
                                       "delivery repeated with the same id does nothing twice.")
    phone = serializers.CharField(max_length=40, help_text="The number the reply came from.")
    text = serializers.CharField(max_length=1000, allow_blank=True, trim_whitespace=False)
    received_at = serializers.DateTimeField(required=False, help_text="When the provider received it; now if "
                                            "absent.")


class SmsReplyAnswerSerializer(serializers.Serializer):
    received = serializers.BooleanField(help_text="Always true: the answer says nothing about the number.")


class SmsReplyWebhookApi(APIView):
    """The SMS provider's webhook for replies to the clinic's messages (on the clinic's host).
    A reply TD, T, 退订, STOP or UNSUBSCRIBE (any case, full-width letters too) from a member's
    number withdraws the member's SMS marketing consent (consent records, channel `sms_reply`).
    Signed by the provider with the shared secret (`X-Signature: sha256=<hex HMAC-SHA256 of the
    raw body>`); a missing or wrong signature is 403. Every signed, well-formed reply is answered
    200 `{"received": true}`, from a member's number or not, and once per `message_id`."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request) -> str:
        return "Signature"

    @extend_schema(operation_id="campaigns_sms_replies_receive", request=SmsReplySerializer, auth=[],
                   parameters=[OpenApiParameter(SIGNATURE_HEADER, str, OpenApiParameter.HEADER, required=True,
                                                description="sha256=<hex HMAC-SHA256 of the raw body with the "
                                                            "shared secret>")],
                   responses={200: SmsReplyAnswerSerializer})
    def post(self, request):
        if not _signature_ok(request.body, request.headers.get(SIGNATURE_HEADER, "")):
            raise PermissionDenied(_("The signature of the request is missing or wrong."))
        serializer = SmsReplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sms_reply_receive(provider_message_id=data["message_id"], phone=data["phone"], text=data["text"],
                          at=data.get("received_at"))
        return Response({"received": True})
