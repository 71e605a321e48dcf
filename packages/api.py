"""Treatment packages API: the package products, a member's packages, the refund of unused
sessions (with its quote), the outstanding sessions (prepaid liability) and the refund rule.
Sessions are sold and used through the checkout API (`POST /api/v1/visits/`: a line of the
package's catalogue item sells it; a line with `package_id` is covered by a session)."""

from datetime import timedelta

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from idempotency.api import IDEMPOTENCY_PARAMETER, idempotent
from members.models import Member
from packages.models import PackageProduct, PackagePurchase, PackageRefund, PackageSettings
from packages.selectors import member_packages, outstanding_sessions, package_figures, package_products
from packages.services import (
    package_product_create,
    package_product_update,
    package_refund,
    package_refund_quote,
    package_settings,
    package_settings_update,
    package_transfer,
)
from points.rules import local_midnight
from visits.models import MONEY, CatalogueItem, Category

FrontDesk = has_perm("accounts.use_frontdesk")
ManageSettings = has_perm("accounts.manage_settings")
ViewReports = has_perm("accounts.view_reports")
RefundPackage = has_perm("packages.refund_package")

NOT_FOUND = OpenApiResponse(description="No such record (not_found).")


class ProductSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="item.name")
    sku = serializers.CharField(source="item.sku")
    category = serializers.IntegerField(source="item.category_id")
    price = serializers.DecimalField(source="item.price", **MONEY)
    active = serializers.BooleanField(source="item.active")
    item_id = serializers.IntegerField(help_text="The catalogue item a checkout line sells the package as.")
    treatments = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = PackageProduct
        fields = ["id", "name", "sku", "category", "price", "active", "item_id", "sessions", "treatments",
                  "validity_months", "validity_start", "transferable"]


class ProductInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    sku = serializers.CharField(max_length=40)
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all())
    price = serializers.DecimalField(**MONEY, min_value=0)
    sessions = serializers.IntegerField(min_value=1, max_value=1000)
    treatments = serializers.PrimaryKeyRelatedField(
        many=True, allow_empty=False, queryset=CatalogueItem.objects.filter(kind=CatalogueItem.Kind.TREATMENT))
    validity_months = serializers.IntegerField(min_value=1, max_value=1200, allow_null=True, default=12,
                                               help_text="Empty (null): the sessions never expire.")
    validity_start = serializers.ChoiceField(choices=PackageProduct.ValidityStart.choices,
                                             default=PackageProduct.ValidityStart.PURCHASE)
    transferable = serializers.BooleanField(default=False)


class ProductUpdateSerializer(ProductInputSerializer):
    active = serializers.BooleanField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


class ProductListApi(APIView):
    def get_permissions(self):
        return [ManageSettings() if self.request.method == "POST" else FrontDesk()]

    @extend_schema(operation_id="packages_products_list", responses={200: ProductSerializer(many=True)})
    def get(self, request):
        return Response(ProductSerializer(package_products(), many=True).data)

    @extend_schema(
        operation_id="packages_products_create", request=ProductInputSerializer, responses={201: ProductSerializer},
        description="A package product and the catalogue item it is sold as (a product at the package's price).",
        examples=[OpenApiExample("10 IPL sessions for a year", request_only=True, value={
            "name": "光子嫩肤10次卡", "sku": "PKG-IPL10", "category": 3, "price": "6800.00", "sessions": 10,
            "treatments": [7], "validity_months": 12, "validity_start": "purchase", "transferable": False})])
    def post(self, request):
        serializer = ProductInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = package_product_create(actor=request.user, **serializer.validated_data)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailApi(APIView):
    def get_permissions(self):
        return [FrontDesk() if self.request.method == "GET" else ManageSettings()]

    @extend_schema(operation_id="packages_products_retrieve", responses={200: ProductSerializer, 404: NOT_FOUND})
    def get(self, request, pk: int):
        return Response(ProductSerializer(get_object_or_404(package_products(), pk=pk)).data)

    @extend_schema(operation_id="packages_products_update", request=ProductUpdateSerializer,
                   responses={200: ProductSerializer, 404: NOT_FOUND},
                   description="Change a package product. Packages already sold keep their sessions and validity.")
    def patch(self, request, pk: int):
        product = get_object_or_404(PackageProduct, pk=pk)
        serializer = ProductUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = package_product_update(product=product, actor=request.user, **serializer.validated_data)
        return Response(ProductSerializer(package_products().get(pk=product.pk)).data)


class HoldingSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="purchase.id")
    product_id = serializers.IntegerField(source="purchase.product_id")
    name = serializers.CharField()
    sessions = serializers.IntegerField()
    left = serializers.IntegerField(help_text="Sessions usable now.")
    used = serializers.IntegerField(help_text="Sessions gone: used, refunded or expired (and used before an import).")
    price = serializers.DecimalField(source="purchase.price", **MONEY)
    value_left = serializers.DecimalField(**MONEY, help_text="What the unused sessions are worth of the price paid.")
    purchased_at = serializers.DateTimeField(source="purchase.purchased_at")
    expires_at = serializers.DateTimeField(allow_null=True)
    last_day = serializers.DateField(allow_null=True, help_text="The last local day the sessions can be used.")
    status = serializers.ChoiceField(choices=["active", "not_started", "used_up", "expired", "refunded"])
    refunded_amount = serializers.DecimalField(source="purchase.refunded_amount", **MONEY)


class MemberPackagesApi(APIView):
    permission_classes = [FrontDesk]

    @extend_schema(operation_id="packages_member_list", responses={200: HoldingSerializer(many=True), 404: NOT_FOUND},
                   description="The member's packages: open ones first (soonest last day first), then closed ones.")
    def get(self, request, pk: int):
        member = get_object_or_404(Member, pk=pk)
        return Response(HoldingSerializer(member_packages(member), many=True).data)


class RefundQuoteSerializer(serializers.Serializer):
    sessions = serializers.IntegerField()
    value = serializers.DecimalField(**MONEY, help_text="The most that can be refunded.")
    amount = serializers.DecimalField(**MONEY, help_text="The refund by the clinic's rule.")
    rule = serializers.ChoiceField(choices=PackageSettings.RefundRule.choices)
    fee_percent = serializers.IntegerField()


class PackageRefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = PackageRefund
        fields = ["id", "purchase", "sessions", "value", "amount", "rule", "reason", "actor", "visit_refund",
                  "created_at"]


class RefundQuoteApi(APIView):
    permission_classes = [RefundPackage]

    @extend_schema(operation_id="packages_refund_quote", responses={200: RefundQuoteSerializer, 404: NOT_FOUND},
                   description="What refunding the purchase's unused sessions would pay back, by the clinic's rule. "
                               "400 if nothing can be refunded (no sessions left, or expired).")
    def get(self, request, pk: int):
        purchase = get_object_or_404(PackagePurchase.objects.select_related("product"), pk=pk)
        return Response(RefundQuoteSerializer(package_refund_quote(purchase=purchase)).data)


class PurchaseRefundApi(APIView):
    permission_classes = [RefundPackage]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=255)
        amount = serializers.DecimalField(**MONEY, min_value=0, required=False, allow_null=True, default=None,
                                          help_text="Empty: the clinic's rule. At most what the sessions are worth.")

    @extend_schema(
        operation_id="packages_refund", request=InputSerializer,
        responses={201: PackageRefundSerializer, 404: NOT_FOUND}, parameters=[IDEMPOTENCY_PARAMETER],
        description=("Refund every unused session of a purchase (owners and managers): the sessions leave the "
                     "ledger and the money goes back on the visit the package was sold in, by the methods it "
                     "was paid with. Refused with 400, changing nothing, when no session is left, the package "
                     "expired, or `amount` is more than the unused sessions are worth."))
    @idempotent
    def post(self, request, pk: int):
        purchase = get_object_or_404(PackagePurchase, pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refund = package_refund(purchase=purchase, actor=request.user, **serializer.validated_data)
        return Response(PackageRefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class OutstandingMemberSerializer(serializers.Serializer):
    member_id = serializers.IntegerField()
    sessions = serializers.IntegerField()
    value = serializers.DecimalField(**MONEY)


class OutstandingSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField()
    sessions = serializers.IntegerField()
    value = serializers.DecimalField(max_digits=16, decimal_places=2)
    members = OutstandingMemberSerializer(many=True, required=False)


class OutstandingApi(APIView):
    permission_classes = [ViewReports]

    class FilterSerializer(serializers.Serializer):
        as_of = serializers.DateTimeField(required=False, help_text="Default: now.")

        def validate_as_of(self, value):
            if not 1900 <= value.year <= 9000:
                raise serializers.ValidationError(_("Choose dates between 1900 and 9000."))
            return value
        members = serializers.BooleanField(default=False, help_text="Include the figures per member.")

    @extend_schema(operation_id="packages_outstanding", parameters=[FilterSerializer],
                   responses={200: OutstandingSerializer},
                   description="Package sessions not used, expired or refunded at `as_of`, at their recognised "
                               "value (deferred revenue still owed to members), in total and per member.")
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        result = outstanding_sessions(filters.validated_data.get("as_of") or timezone.now())
        data = OutstandingSerializer(result).data
        if not filters.validated_data["members"]:
            data.pop("members")
        return Response(data)


class PackageSettingsSerializer(serializers.ModelSerializer):
    expiry_warning_days = serializers.IntegerField(min_value=0, max_value=365)
    refund_fee_percent = serializers.IntegerField(min_value=0, max_value=100)

    class Meta:
        model = PackageSettings
        fields = ["refund_rule", "refund_fee_percent", "expiry_warning_days"]
        extra_kwargs = {"refund_rule": {"required": True}}


class PackageSettingsApi(APIView):
    def get_permissions(self):
        return [FrontDesk() if self.request.method == "GET" else ManageSettings()]

    @extend_schema(operation_id="packages_settings_retrieve", responses={200: PackageSettingsSerializer})
    def get(self, request):
        return Response(PackageSettingsSerializer(package_settings()).data)

    @extend_schema(operation_id="packages_settings_update", request=PackageSettingsSerializer,
                   responses={200: PackageSettingsSerializer})
    def put(self, request):
        serializer = PackageSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = package_settings_update(actor=request.user, **serializer.validated_data)
        return Response(PackageSettingsSerializer(row).data)


class PurchaseTransferApi(APIView):
    permission_classes = [FrontDesk]

    class InputSerializer(serializers.Serializer):
        to_member = serializers.IntegerField(help_text="The member who receives the package.")
        reason = serializers.CharField(max_length=255)

    @extend_schema(
        operation_id="packages_transfer", request=InputSerializer, responses={200: HoldingSerializer, 404: NOT_FOUND},
        parameters=[IDEMPOTENCY_PARAMETER],
        description=("Give what is left of a transferable package to another member, sessions and expiry intact. "
                     "Refused with 400 when the package is not transferable, has no usable session, or the "
                     "member is the same or not active."))
    @idempotent
    def post(self, request, pk: int):
        purchase = get_object_or_404(PackagePurchase, pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        to_member = get_object_or_404(Member, pk=serializer.validated_data["to_member"])
        purchase = package_transfer(purchase=purchase, to_member=to_member, actor=request.user,
                                    reason=serializer.validated_data["reason"])
        holding = next(h for h in member_packages(to_member) if h.purchase.pk == purchase.pk)
        return Response(HoldingSerializer(holding).data)


class FiguresSerializer(serializers.Serializer):
    sold = serializers.IntegerField(help_text="Packages sold at checkout.")
    sales = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="Their price paid (deferred).")
    sessions_used = serializers.IntegerField()
    used_value = serializers.DecimalField(max_digits=16, decimal_places=2)
    sessions_expired = serializers.IntegerField()
    expired_value = serializers.DecimalField(max_digits=16, decimal_places=2)
    sessions_refunded = serializers.IntegerField()
    refunded_value = serializers.DecimalField(max_digits=16, decimal_places=2)
    refunded_money = serializers.DecimalField(max_digits=16, decimal_places=2)
    recognised = serializers.DecimalField(max_digits=16, decimal_places=2,
                                          help_text="Deferred revenue released: used + expired + refunded "
                                                    "value − money refunded.")


class FiguresApi(APIView):
    permission_classes = [ViewReports]

    class FilterSerializer(serializers.Serializer):
        date_from = serializers.DateField(help_text="The first local day.")
        date_until = serializers.DateField(help_text="The last local day (at most 366 days after the first).")

        def validate(self, data):
            if data["date_until"] < data["date_from"]:
                raise serializers.ValidationError({"date_until": _("The last day cannot be before the first.")})
            if (data["date_until"] - data["date_from"]).days >= 366:
                raise serializers.ValidationError({"date_until": _("At most %(days)s days at once.") % {"days": 366}})
            if data["date_from"].year < 1900 or data["date_until"].year > 9000:
                raise serializers.ValidationError({"date_from": _("Choose dates between 1900 and 9000.")})
            return data

    @extend_schema(operation_id="packages_figures", parameters=[FilterSerializer], responses={200: FiguresSerializer},
                   description="The packages of the clinic's days from `date_from` through `date_until`: sold "
                               "(deferred) and recognised as sessions are used, expire or are refunded "
                               "(see docs/packages.md).")
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        figures = package_figures(lo=local_midnight(data["date_from"]),
                                  hi=local_midnight(data["date_until"] + timedelta(days=1)))
        return Response(FiguresSerializer(figures).data)
