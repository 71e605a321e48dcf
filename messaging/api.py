"""Messaging API: the clinic's messaging rules, its message templates (edit, preview, restore the
default text) and the message log, as on the settings pages. Owners and managers only, except
one member's messages, which every staff role reads (as on the member's page). Settings move no
value, so no Idempotency-Key: a PATCH sets values and a restore puts back a fixed text."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from clinic_loyalty.api_input import RefuseUnknownFields
from clinic_loyalty.api_pages import page_serializer
from clinics.context import current_clinic
from members.models import Member
from messaging.models import (
    MARKETING_PURPOSES,
    PURPOSE_VARIABLES,
    VARIABLE_LABELS,
    Channel,
    Message,
    MessageTemplate,
    MessagingSettings,
    Purpose,
)
from messaging.rendering import template_preview
from messaging.selectors import (
    message_get,
    message_list,
    message_log_days_errors,
    message_template_get,
    message_template_list,
)
from messaging.services import (
    MAX_WEEKLY_CAP,
    SETTINGS_FIELDS,
    message_template_restore_default,
    message_template_update,
    messaging_settings,
    messaging_settings_update,
)

FrontDesk = has_perm("accounts.use_frontdesk")
ManageSettings = has_perm("accounts.manage_settings")

MAX_PAGE = 500


class MessagingSettingsSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    class Meta:
        model = MessagingSettings
        fields = list(SETTINGS_FIELDS)
        extra_kwargs = {"marketing_weekly_cap": {"max_value": MAX_WEEKLY_CAP}}


class MessagingSettingsApi(APIView):
    """The channel messages go on, quiet hours (the clinic's time; the same time twice: none), the
    weekly cap of marketing messages per member (0 sends none), service messages on or off."""

    permission_classes = [ManageSettings]

    @extend_schema(responses={200: MessagingSettingsSerializer})
    def get(self, request):
        return Response(MessagingSettingsSerializer(messaging_settings()).data)

    @extend_schema(request=MessagingSettingsSerializer(partial=True), responses={200: MessagingSettingsSerializer})
    def patch(self, request):
        serializer = MessagingSettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        row = messaging_settings_update(actor=request.user, **serializer.validated_data)
        return Response(MessagingSettingsSerializer(row).data)


def _clinic_language() -> str:
    clinic = current_clinic()
    return clinic.language if clinic else settings.LANGUAGE_CODE


class VariableSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField(help_text="What the variable stands for, in the request's language.")


class MessageTemplateSerializer(serializers.ModelSerializer):
    purpose_label = serializers.CharField(source="get_purpose_display")
    channel_label = serializers.CharField(source="get_channel_display")
    marketing = serializers.SerializerMethodField()
    in_use = serializers.SerializerMethodField(help_text="In the clinic's language: the one members get.")
    edited = serializers.BooleanField(help_text="The text differs from the default one.")
    has_default = serializers.BooleanField(help_text="A default text exists to restore.")
    variables = serializers.SerializerMethodField()

    class Meta:
        model = MessageTemplate
        fields = ["id", "purpose", "purpose_label", "marketing", "channel", "channel_label", "language", "in_use",
                  "subject", "body", "edited", "has_default", "variables", "updated_at"]

    def get_marketing(self, template: MessageTemplate) -> bool:
        return template.purpose in MARKETING_PURPOSES

    def get_in_use(self, template: MessageTemplate) -> bool:
        return template.language == self.context["clinic_language"]

    @extend_schema_field(VariableSerializer(many=True))
    def get_variables(self, template: MessageTemplate) -> list[dict]:
        return [{"name": name, "label": str(VARIABLE_LABELS[name])} for name in PURPOSE_VARIABLES[template.purpose]]


def _template_body(template: MessageTemplate) -> dict:
    return MessageTemplateSerializer(template, context={"clinic_language": _clinic_language()}).data


def _template(pk: int) -> MessageTemplate:
    template = message_template_get(pk=pk)
    if template is None:
        raise Http404
    return template


class MessageTemplateListApi(APIView):
    """Every template by purpose, then channel and language, as the settings page lists them."""

    permission_classes = [ManageSettings]

    class FilterSerializer(serializers.Serializer):
        purpose = serializers.ChoiceField(choices=Purpose.choices, required=False)
        channel = serializers.ChoiceField(choices=Channel.choices, required=False)
        language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: MessageTemplateSerializer(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        templates = message_template_list(**filters.validated_data)
        return Response(MessageTemplateSerializer(templates, many=True,
                                                  context={"clinic_language": _clinic_language()}).data)


class TemplateTextsSerializer(RefuseUnknownFields, serializers.Serializer):
    """A template's texts; a subject only for email templates. What is left out stays as it is."""

    subject = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                    help_text="Email templates only.")
    body = serializers.CharField(required=False)

    def validate_subject(self, value: str) -> str:
        if value and self.context["template"].channel != Channel.EMAIL:
            raise serializers.ValidationError(_("Only email templates have a subject."))
        return value

    def texts(self) -> dict:
        template = self.context["template"]
        return {"body": self.validated_data.get("body", template.body),
                "subject": self.validated_data.get("subject", template.subject)}


class MessageTemplateDetailApi(APIView):
    permission_classes = [ManageSettings]

    @extend_schema(responses={200: MessageTemplateSerializer})
    def get(self, request, pk: int):
        return Response(_template_body(_template(pk)))

    @extend_schema(request=TemplateTextsSerializer, responses={200: MessageTemplateSerializer})
    def patch(self, request, pk: int):
        """New text or subject. Unknown variables and malformed braces are refused on their field."""
        template = _template(pk)
        serializer = TemplateTextsSerializer(data=request.data, context={"template": template})
        serializer.is_valid(raise_exception=True)
        message_template_update(template=template, actor=request.user, **serializer.texts())
        return Response(_template_body(_template(pk)))


class MessageTemplateRestoreApi(APIView):
    """The text the template was installed with, again. Sending it twice changes nothing more."""

    permission_classes = [ManageSettings]

    @extend_schema(request=None, responses={200: MessageTemplateSerializer})
    def post(self, request, pk: int):
        message_template_restore_default(template=_template(pk), actor=request.user)
        return Response(_template_body(_template(pk)))


class PreviewSerializer(serializers.Serializer):
    subject = serializers.CharField()
    body = serializers.CharField()
    length = serializers.IntegerField(help_text="Characters in the body.")


class MessageTemplatePreviewApi(APIView):
    """The texts as a member would read them, filled in with invented values and the clinic's
    name. Texts left out are the saved ones. Saves nothing."""

    permission_classes = [ManageSettings]

    @extend_schema(request=TemplateTextsSerializer, responses={200: PreviewSerializer})
    def post(self, request, pk: int):
        template = _template(pk)
        serializer = TemplateTextsSerializer(data=request.data, context={"template": template})
        serializer.is_valid(raise_exception=True)
        subject, body = template_preview(purpose=template.purpose, language=template.language,
                                         **serializer.texts())
        return Response(PreviewSerializer({"subject": subject, "body": body, "length": len(body)}).data)


class MemberRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Member
        fields = ["id", "member_number", "name"]


class MessageSerializer(serializers.ModelSerializer):
    member = MemberRefSerializer()
    channel_label = serializers.CharField(source="get_channel_display")
    purpose_label = serializers.CharField(source="get_purpose_display")
    status_label = serializers.CharField(source="get_status_display")
    skip_reason_label = serializers.CharField(source="get_skip_reason_display")

    class Meta:
        model = Message
        fields = ["id", "member", "channel", "channel_label", "recipient", "purpose", "purpose_label", "marketing",
                  "status", "status_label", "skip_reason", "skip_reason_label", "error", "subject", "body",
                  "attempts", "created_at", "next_attempt_at", "sent_at", "failed_at"]


class MessageDetailSerializer(MessageSerializer):
    class Meta(MessageSerializer.Meta):
        fields = [*MessageSerializer.Meta.fields, "template", "language", "backend", "provider_id"]


MessagePageSerializer = page_serializer("MessagePageSerializer", MessageSerializer)


class MessagePagination(LimitOffsetPagination):
    max_limit = MAX_PAGE


class MessageListApi(APIView):
    """The message log, newest first, `limit` (50 unless given) at a time from `offset`; the
    `next` and `previous` links keep the filters. The whole log is for owners and managers; one
    member's messages (`?member=<id>`) for every staff role, as on the member's page."""

    def get_permissions(self):
        return [FrontDesk() if "member" in self.request.query_params else ManageSettings()]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Message.Status.choices, required=False)
        purpose = serializers.ChoiceField(choices=Purpose.choices, required=False)
        member = serializers.IntegerField(required=False, help_text="A member's id.")
        q = serializers.CharField(max_length=100, required=False, help_text=(
            "Members as the front desk's search finds them: phone, last 4 digits, name, pinyin initials, "
            "member number."))
        created_from = serializers.DateField(required=False, help_text="First day, in the clinic's time zone.")
        created_until = serializers.DateField(required=False, help_text="Last day (included).")
        limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, required=False)
        offset = serializers.IntegerField(min_value=0, required=False)

        def validate(self, data):
            errors = message_log_days_errors(created_from=data.get("created_from"),
                                             created_until=data.get("created_until"))
            if errors:
                raise serializers.ValidationError(errors)
            return data

    @extend_schema(operation_id="messaging_messages_list", parameters=[FilterSerializer],
                   responses={200: MessagePageSerializer,
                              404: OpenApiResponse(description="No such member (not_found).")})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        member = get_object_or_404(Member, pk=data["member"]) if "member" in data else None
        messages = message_list(member=member, status=data.get("status"), purpose=data.get("purpose"),
                                member_query=data.get("q", ""), created_from=data.get("created_from"),
                                created_until=data.get("created_until"))
        paginator = MessagePagination()
        page = paginator.paginate_queryset(messages, request, view=self)
        return paginator.get_paginated_response(MessageSerializer(page, many=True).data)


class MessageDetailApi(APIView):
    """One message: its rendered texts and every detail of its delivery."""

    permission_classes = [ManageSettings]

    @extend_schema(responses={200: MessageDetailSerializer})
    def get(self, request, pk: int):
        message = message_get(pk=pk)
        if message is None:
            raise Http404
        return Response(MessageDetailSerializer(message).data)
