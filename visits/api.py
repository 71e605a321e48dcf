"""Catalogue API (managers edit, all staff read) and visit read-outs."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from clinic_loyalty.api_writes import created, updated
from members.models import Member
from visits.models import CatalogueItem, Category, Payment, Visit
from visits.selectors import catalogue_list, category_list, member_visits, visits_with_details
from visits.services import catalogue_item_create, catalogue_item_update, category_create

FrontDesk = has_perm("accounts.use_frontdesk")
ManageSettings = has_perm("accounts.manage_settings")


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "code"]


class ItemOutputSerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(source="category.name", read_only=True)

    class Meta:
        model = CatalogueItem
        fields = ["id", "kind", "name", "sku", "category", "category_name", "price", "duration_minutes",
                  "buffer_minutes", "recall_days", "online_booking_enabled", "needs_clearance", "active"]


class ItemInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CatalogueItem.Kind.choices)
    name = serializers.CharField(max_length=120)
    sku = serializers.CharField(max_length=40)
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all())
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    duration_minutes = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    buffer_minutes = serializers.IntegerField(min_value=0, default=0)
    recall_days = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    online_booking_enabled = serializers.BooleanField(default=True)
    needs_clearance = serializers.BooleanField(default=False)
    active = serializers.BooleanField(default=True)


class CategoryListApi(APIView):
    def get_permissions(self):
        return [ManageSettings() if self.request.method == "POST" else FrontDesk()]

    @extend_schema(responses={200: CategorySerializer(many=True)})
    def get(self, request):
        return Response(CategorySerializer(category_list(), many=True).data)

    @extend_schema(request=CategorySerializer, responses={201: CategorySerializer})
    def post(self, request):
        return created(request, data=CategorySerializer, create=category_create, output=CategorySerializer)


class ItemListApi(APIView):
    def get_permissions(self):
        return [ManageSettings() if self.request.method == "POST" else FrontDesk()]

    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=CatalogueItem.Kind.choices, required=False)
        all = serializers.BooleanField(default=False, help_text="Inactive items too.")

    @extend_schema(parameters=[FilterSerializer], responses={200: ItemOutputSerializer(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        items = catalogue_list(active_only=not filters.validated_data["all"],
                               kind=filters.validated_data.get("kind"))
        return Response(ItemOutputSerializer(items, many=True).data)

    @extend_schema(request=ItemInputSerializer, responses={201: ItemOutputSerializer})
    def post(self, request):
        return created(request, data=ItemInputSerializer, create=catalogue_item_create, output=ItemOutputSerializer)


class ItemDetailApi(APIView):
    def get_permissions(self):
        return [ManageSettings() if self.request.method == "PATCH" else FrontDesk()]

    @extend_schema(responses={200: ItemOutputSerializer})
    def get(self, request, pk: int):
        return Response(ItemOutputSerializer(get_object_or_404(CatalogueItem, pk=pk)).data)

    @extend_schema(request=ItemInputSerializer(partial=True), responses={200: ItemOutputSerializer})
    def patch(self, request, pk: int):
        return updated(request, data=ItemInputSerializer, update=catalogue_item_update, output=ItemOutputSerializer,
                       item=get_object_or_404(CatalogueItem, pk=pk))


# Visit read-outs are plain serializers rather than ModelSerializers: they answer every checkout,
# and a ModelSerializer rebuilds its fields from the model on each use.
def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, **kwargs)


def _ref(field: str) -> serializers.IntegerField:
    return serializers.IntegerField(source=f"{field}_id", read_only=True, allow_null=True)


class VisitLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    item = _ref("item")
    name = serializers.CharField(read_only=True)
    category = _ref("category")
    quantity = serializers.IntegerField(read_only=True)
    unit_price = _money()
    discount = _money()
    line_total = _money()
    refunded_quantity = serializers.IntegerField(read_only=True)
    points_earned = serializers.IntegerField(read_only=True)


class PaymentSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=Payment.Method.choices, read_only=True)
    amount = _money()
    refund = _ref("refund")


class RefundSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    amount = _money()
    reason = serializers.CharField(read_only=True)
    actor = _ref("actor")
    points_reversed = serializers.IntegerField(read_only=True)
    points_unrecovered = serializers.IntegerField(read_only=True)
    points_restored = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class VisitOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    member = _ref("member")
    visited_at = serializers.DateTimeField(read_only=True)
    staff = _ref("staff")
    source = serializers.ChoiceField(choices=Visit.Source.choices, read_only=True)
    subtotal = _money()
    line_discount = _money()
    tier_discount = _money()
    coupon_discount = _money()
    points_used = serializers.IntegerField(read_only=True)
    points_discount = _money()
    total = _money()
    refunded_total = _money()
    lines = VisitLineSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    refunds = RefundSerializer(many=True, read_only=True)


class VisitDetailApi(APIView):
    permission_classes = [FrontDesk]

    @extend_schema(responses={200: VisitOutputSerializer})
    def get(self, request, pk: int):
        return Response(VisitOutputSerializer(get_object_or_404(visits_with_details(), pk=pk)).data)


class MemberVisitsApi(APIView):
    permission_classes = [FrontDesk]

    @extend_schema(responses={200: VisitOutputSerializer(many=True)})
    def get(self, request, pk: int):
        member = get_object_or_404(Member, pk=pk)
        return Response(VisitOutputSerializer(member_visits(member=member), many=True).data)
