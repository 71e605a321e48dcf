"""Members API: search, registration, profile, consent, medical profile, export, merge, erase."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from clinic_loyalty.api_errors import error_body
from idempotency.api import IDEMPOTENCY_PARAMETER, idempotent
from members.models import ConsentRecord, Member, MemberTagEvent
from members.naming import phone_display
from members.selectors import (
    consent_current,
    medical_profile_read,
    member_export,
    member_has_allergies,
    member_search,
)
from members.services import (
    EDITABLE_FIELDS,
    ConsentInput,
    DuplicateMemberError,
    consent_record,
    medical_profile_update,
    member_archive,
    member_erase,
    member_merge,
    member_register,
    member_restore,
    member_tag_add,
    member_tag_remove,
    member_update,
)

FrontDesk = has_perm("accounts.use_frontdesk")
ManageMembers = has_perm("members.manage_member")


class MemberOutputSerializer(serializers.ModelSerializer):
    phone_display = serializers.SerializerMethodField()
    has_allergies = serializers.SerializerMethodField()

    class Meta:
        model = Member
        fields = ["id", "member_number", "name", "phone", "phone_display", "gender", "birthday",
                  "celebrates_lunar_birthday", "email", "source", "referred_by", "referral_code",
                  "tags", "notes", "status", "joined_on", "has_allergies"]

    def get_phone_display(self, member: Member) -> str:
        return phone_display(member.phone)

    def get_has_allergies(self, member: Member) -> bool:
        return member_has_allergies(member=member)


class ConsentInputSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=ConsentRecord.Purpose.choices)
    granted = serializers.BooleanField()
    channel = serializers.ChoiceField(choices=ConsentRecord.Channel.choices,
                                      default=ConsentRecord.Channel.FRONT_DESK)


class ConsentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsentRecord
        fields = ["purpose", "granted", "channel", "policy_version", "recorded_at", "recorded_by"]


class ExistingMemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = Member
        fields = ["id", "member_number", "name"]


def _duplicate_response(exc: DuplicateMemberError) -> Response:
    body = error_body("duplicate_member", exc.message_dict["phone"][0], exc.message_dict)
    body["error"]["existing_member"] = ExistingMemberSerializer(exc.existing).data
    return Response(body, status=status.HTTP_409_CONFLICT)


DUPLICATE = OpenApiResponse(description="Another member has this phone number (duplicate_member); "
                                        "`error.existing_member` names them.")


@extend_schema_field({"type": "string", "format": "phone", "pattern": r"^\+[1-9][0-9]{6,14}$", "maxLength": 32,
                      "example": "+8613812345678"})
class PhoneField(serializers.CharField):
    """A phone number in E.164. It must be a real number (libphonenumber's rules for its country);
    a number without a country code is read as one of mainland China."""

    def __init__(self, **kwargs):
        super().__init__(max_length=32, help_text=(
            "E.164, e.g. +8613812345678; it must be a valid number for its country. A number without "
            "a country code (13812345678) is read as one of mainland China."), **kwargs)


def _member(pk: int) -> Member:
    return get_object_or_404(Member, pk=pk)


class MemberListApi(APIView):
    permission_classes = [FrontDesk]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        phone = PhoneField()
        gender = serializers.ChoiceField(choices=Member.Gender.choices, default=Member.Gender.UNKNOWN)
        birthday = serializers.DateField(required=False, allow_null=True, default=None)
        celebrates_lunar_birthday = serializers.BooleanField(default=False)
        email = serializers.EmailField(required=False, allow_blank=True, default="")
        source = serializers.ChoiceField(choices=Member.Source.choices, default=Member.Source.WALK_IN)
        referral_code = serializers.CharField(required=False, allow_blank=True, default="")
        tags = serializers.ListField(child=serializers.CharField(max_length=40), default=list)
        notes = serializers.CharField(required=False, allow_blank=True, default="")
        consents = ConsentInputSerializer(many=True, default=list)

    class FilterSerializer(serializers.Serializer):
        q = serializers.CharField(required=False, allow_blank=True, default="", max_length=100, help_text=(
            "Phone (full or last 4 digits), name, pinyin initials (e.g. zxm), full pinyin or member number. "
            "Without it the answer is empty."))
        all = serializers.BooleanField(default=False, help_text="Archived and erased members too.")

    @extend_schema(operation_id="members_search", parameters=[FilterSerializer],
                   responses={200: MemberOutputSerializer(many=True)},
                   description="The first 20 members the front desk's search finds, best matches first.",
                   examples=[OpenApiExample("Last 4 digits of the phone", parameter_only=("q", "query"),
                                            value="5678")])
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        members = member_search(query=filters.validated_data["q"],
                                include_inactive=filters.validated_data["all"])
        return Response(MemberOutputSerializer(members, many=True).data)

    @extend_schema(
        operation_id="members_register", request=InputSerializer,
        responses={201: MemberOutputSerializer, 409: DUPLICATE}, parameters=[IDEMPOTENCY_PARAMETER],
        description=("Register a member; a sign-up or referral bonus may be paid, so send an Idempotency-Key. "
                     "Rules the schema cannot say: the phone must be a valid number and no other member's "
                     "(409 duplicate_member); `referral_code` must be an existing member's; each consent "
                     "purpose at most once."),
        examples=[
            OpenApiExample("A walk-in with consent to SMS marketing", request_only=True, value={
                "name": "张小美", "phone": "+8613812345678", "gender": "female", "birthday": "1990-05-20",
                "source": "walk_in", "tags": ["玻尿酸"],
                "consents": [{"purpose": "marketing_sms", "granted": True}]}),
        ])
    @idempotent
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        consents = [ConsentInput(**consent) for consent in data.pop("consents")]
        try:
            member = member_register(actor=request.user, consents=consents, **data)
        except DuplicateMemberError as exc:
            return _duplicate_response(exc)
        return Response(MemberOutputSerializer(member).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(APIView):
    permission_classes = [FrontDesk]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False)
        phone = PhoneField(required=False)
        gender = serializers.ChoiceField(choices=Member.Gender.choices, required=False)
        birthday = serializers.DateField(required=False, allow_null=True)
        celebrates_lunar_birthday = serializers.BooleanField(required=False)
        email = serializers.EmailField(required=False, allow_blank=True)
        source = serializers.ChoiceField(choices=Member.Source.choices, required=False)
        tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False)
        notes = serializers.CharField(required=False, allow_blank=True)

    @extend_schema(responses={200: MemberOutputSerializer})
    def get(self, request, pk: int):
        return Response(MemberOutputSerializer(_member(pk)).data)

    @extend_schema(request=InputSerializer, responses={200: MemberOutputSerializer, 409: DUPLICATE})
    def patch(self, request, pk: int):
        member = _member(pk)
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = {k: v for k, v in serializer.validated_data.items() if k in EDITABLE_FIELDS}
        try:
            member = member_update(member=member, actor=request.user, **changes)
        except DuplicateMemberError as exc:
            return _duplicate_response(exc)
        return Response(MemberOutputSerializer(member).data)


class MemberArchiveApi(APIView):
    permission_classes = [ManageMembers]

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=["archive", "restore"])
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={200: MemberOutputSerializer})
    def post(self, request, pk: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = _member(pk)
        if serializer.validated_data["action"] == "archive":
            member = member_archive(member=member, actor=request.user,
                                    reason=serializer.validated_data["reason"])
        else:
            member = member_restore(member=member, actor=request.user)
        return Response(MemberOutputSerializer(member).data)


class MemberConsentApi(APIView):
    permission_classes = [FrontDesk]

    @extend_schema(responses={200: ConsentOutputSerializer(many=True)})
    def get(self, request, pk: int):
        current = [record for record in consent_current(member=_member(pk)).values() if record]
        return Response(ConsentOutputSerializer(current, many=True).data)

    @extend_schema(request=ConsentInputSerializer, responses={201: ConsentOutputSerializer})
    def post(self, request, pk: int):
        member = _member(pk)
        serializer = ConsentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = consent_record(member=member, actor=request.user, **serializer.validated_data)
        return Response(ConsentOutputSerializer(record).data, status=status.HTTP_201_CREATED)


class TagEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)

    class Meta:
        model = MemberTagEvent
        fields = ["tag", "action", "actor", "created_at"]


class MemberTagsApi(APIView):
    """The member's free tags with their history (newest first); staff add or remove one at a
    time. Tags are kept trimmed and in lower case."""

    permission_classes = [FrontDesk]

    class InputSerializer(serializers.Serializer):
        tag = serializers.CharField(max_length=40)
        action = serializers.ChoiceField(choices=[("add", "add"), ("remove", "remove")], default="add")

    class OutputSerializer(serializers.Serializer):
        tags = serializers.ListField(child=serializers.CharField())
        history = TagEventSerializer(many=True)

    def _answer(self, member: Member) -> Response:
        history = member.tag_events.select_related("actor")[:100]
        return Response(self.OutputSerializer({"tags": member.tags, "history": history}).data)

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request, pk: int):
        return self._answer(_member(pk))

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request, pk: int):
        member = _member(pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = member_tag_add if data.validated_data["action"] == "add" else member_tag_remove
        return self._answer(change(member=member, actor=request.user, tag=data.validated_data["tag"]))


class MedicalSerializer(serializers.Serializer):
    allergies = serializers.CharField(required=False, allow_blank=True)
    contraindications = serializers.CharField(required=False, allow_blank=True)
    medical_notes = serializers.CharField(required=False, allow_blank=True)


class MemberMedicalApi(APIView):
    """Medical profile: practitioners and managers only; every read is logged."""

    permission_classes = [has_perm("accounts.view_medical")]

    @extend_schema(responses={200: MedicalSerializer})
    def get(self, request, pk: int):
        profile = medical_profile_read(member=_member(pk), actor=request.user)
        empty = {"allergies": "", "contraindications": "", "medical_notes": ""}
        return Response(MedicalSerializer(profile).data if profile else empty)

    @extend_schema(request=MedicalSerializer, responses={200: MedicalSerializer})
    def put(self, request, pk: int):
        serializer = MedicalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        profile = medical_profile_update(member=_member(pk), actor=request.user,
                                         **serializer.validated_data)
        return Response(MedicalSerializer(profile).data)


class MemberExportApi(APIView):
    permission_classes = [has_perm("members.export_member")]

    @extend_schema(responses={200: dict})
    def get(self, request, pk: int):
        return Response(member_export(member=_member(pk), actor=request.user))


class MemberMergeApi(APIView):
    permission_classes = [ManageMembers]

    class InputSerializer(serializers.Serializer):
        duplicate_id = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses={200: MemberOutputSerializer},
                   parameters=[IDEMPOTENCY_PARAMETER])
    @idempotent
    def post(self, request, pk: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        survivor = member_merge(survivor=_member(pk),
                                duplicate=_member(serializer.validated_data["duplicate_id"]),
                                actor=request.user)
        return Response(MemberOutputSerializer(survivor).data)


class MemberEraseApi(APIView):
    permission_classes = [ManageMembers]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=255)

    @extend_schema(request=InputSerializer, responses={200: MemberOutputSerializer})
    def post(self, request, pk: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = member_erase(member=_member(pk), actor=request.user,
                              reason=serializer.validated_data["reason"])
        return Response(MemberOutputSerializer(member).data)
