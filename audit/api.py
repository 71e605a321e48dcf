"""Settings audit log API: the changes to the clinic's settings, newest first, filtered as on the
"Audit log" page. Owners and managers only. Read-only: the log is written by the services."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.views import APIView

from accounts.api import has_perm
from audit.models import SettingsChange
from audit.selectors import object_type_label, settings_change_days_errors, settings_change_list
from clinic_loyalty.api_pages import page_serializer

ManageSettings = has_perm("accounts.manage_settings")
MAX_PAGE = 500


class SettingsChangeSerializer(serializers.ModelSerializer):
    actor = serializers.IntegerField(source="actor_id", allow_null=True, help_text=(
        "The staff member's id; null for the system (provisioning, imports, demo data)."))
    object_type_label = serializers.SerializerMethodField(help_text="The kind of setting, in the request's language.")
    before = serializers.DictField(help_text=(
        "The values before: only the fields that changed; everything for a deletion; empty for a creation. "
        "Foreign keys and many-to-many fields as ids."))
    after = serializers.DictField(help_text="The values after, likewise; empty for a deletion.")

    class Meta:
        model = SettingsChange
        fields = ["id", "at", "actor", "actor_name", "action", "object_type", "object_type_label", "object_id",
                  "object_repr", "before", "after"]

    def get_object_type_label(self, change: SettingsChange) -> str:
        return object_type_label(change.object_type)


SettingsChangePageSerializer = page_serializer("SettingsChangePageSerializer", SettingsChangeSerializer)


class AuditPagination(LimitOffsetPagination):
    max_limit = MAX_PAGE


class SettingsChangeListApi(APIView):
    """Every recorded change to the clinic's settings, newest first, `limit` (50 unless given) at
    a time from `offset`."""

    permission_classes = [ManageSettings]

    class FilterSerializer(serializers.Serializer):
        actor = serializers.IntegerField(min_value=1, required=False, help_text="A staff member's id.")
        object_type = serializers.CharField(max_length=100, required=False, help_text=(
            "The kind of setting, as in `object_type` (`points.reward`, `tiers.tier`, …)."))
        object_id = serializers.CharField(max_length=64, required=False)
        since = serializers.DateField(required=False, help_text="First day, in the clinic's time zone.")
        until = serializers.DateField(required=False, help_text="Last day (included).")
        limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, required=False)
        offset = serializers.IntegerField(min_value=0, required=False)

        def validate(self, data):
            if errors := settings_change_days_errors(since=data.get("since"), until=data.get("until")):
                raise serializers.ValidationError(errors)
            return data

    @extend_schema(operation_id="audit_settings_changes_list", parameters=[FilterSerializer],
                   responses={200: SettingsChangePageSerializer})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        changes = settings_change_list(actor_id=data.get("actor"), object_type=data.get("object_type", ""),
                                       object_id=data.get("object_id", ""), since=data.get("since"),
                                       until=data.get("until"))
        paginator = AuditPagination()
        page = paginator.paginate_queryset(changes, request, view=self)
        return paginator.get_paginated_response(SettingsChangeSerializer(page, many=True).data)
