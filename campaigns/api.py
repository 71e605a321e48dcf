"""Campaigns API: the clinic's birthday offer, as on its settings page (owners and managers)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from campaigns.models import BirthdayOffer
from campaigns.services import OFFER_FIELDS, birthday_offer, birthday_offer_update
from clinic_loyalty.api_input import RefuseUnknownFields

ManageSettings = has_perm("accounts.manage_settings")


class BirthdayOfferSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    class Meta:
        model = BirthdayOffer
        fields = list(OFFER_FIELDS)


class BirthdayOfferOutputSerializer(BirthdayOfferSerializer):
    coupon_template_name = serializers.CharField(source="coupon_template.name", default=None, allow_null=True)
    coupon_template_active = serializers.BooleanField(
        source="coupon_template.active", default=None, allow_null=True,
        help_text="False when the coupon chosen has been deactivated since: no coupon is given with it "
                  "until an active one is chosen.")

    class Meta(BirthdayOfferSerializer.Meta):
        fields = [*BirthdayOfferSerializer.Meta.fields, "coupon_template_name", "coupon_template_active"]


class BirthdayOfferApi(APIView):
    """Whether and when members get a birthday offer, and what it is: bonus points, the tier's
    birthday gift, a coupon (a template chosen anew must be active), the birthday message."""

    permission_classes = [ManageSettings]

    @extend_schema(responses={200: BirthdayOfferOutputSerializer})
    def get(self, request):
        return Response(BirthdayOfferOutputSerializer(birthday_offer()).data)

    @extend_schema(request=BirthdayOfferSerializer(partial=True), responses={200: BirthdayOfferOutputSerializer})
    def patch(self, request):
        serializer = BirthdayOfferSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        offer = birthday_offer_update(actor=request.user, **serializer.validated_data)
        return Response(BirthdayOfferOutputSerializer(offer).data)
