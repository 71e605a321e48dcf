from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from members.models import Member
from recommendations.selectors import DEFAULT_LIMIT, item_related, member_recommendations
from visits.models import CatalogueItem

FrontDesk = has_perm("accounts.use_frontdesk")
MAX_LIMIT = 20


class _ItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=CatalogueItem.Kind.choices)
    sku = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)


class _LimitSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)


class MemberRecommendationsApi(APIView):
    """The items to suggest to a member, best first, each with its score, the signal it comes
    from and a reason in the caller's language (docs/recommendations.md)."""

    permission_classes = [FrontDesk]

    class FilterSerializer(_LimitSerializer):
        kind = serializers.ChoiceField(choices=CatalogueItem.Kind.choices, required=False)

    class OutputSerializer(serializers.Serializer):
        item = _ItemSerializer()
        score = serializers.FloatField()
        signal = serializers.ChoiceField(choices=["due", "with", "popular"])
        reason = serializers.CharField()
        because = serializers.CharField(help_text="The item it is bought with, or the item due again.")
        days_since = serializers.IntegerField(allow_null=True)
        interval_days = serializers.IntegerField(allow_null=True)

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer(many=True)})
    def get(self, request, pk: int):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        member = get_object_or_404(Member, pk=pk)
        recs = member_recommendations(member=member, limit=filters.validated_data["limit"],
                                      kind=filters.validated_data.get("kind"))
        return Response(self.OutputSerializer(recs, many=True).data)


class ItemRelatedApi(APIView):
    """Active items members often buy with this one (the same visit or within 30 days after it),
    most likely first, with the confidence, the lift and the support."""

    permission_classes = [FrontDesk]

    class OutputSerializer(serializers.Serializer):
        item = _ItemSerializer()
        confidence = serializers.FloatField()
        lift = serializers.FloatField()
        pair_members = serializers.IntegerField()

    @extend_schema(parameters=[_LimitSerializer], responses={200: OutputSerializer(many=True)})
    def get(self, request, pk: int):
        filters = _LimitSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        item = get_object_or_404(CatalogueItem, pk=pk)
        related = item_related(item=item, limit=filters.validated_data["limit"])
        return Response(self.OutputSerializer(related, many=True).data)
