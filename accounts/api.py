"""Staff API: tokens, the current user, and staff management for owners and managers."""

from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.roles import DEFAULT_INVITE_ROLE, Role
from accounts.selectors import staff_list
from accounts.services import staff_create, staff_update
from accounts.sign_in_guard import SignInRefused, sign_in_check, sign_in_record
from clinic_loyalty.api_input import RefuseUnknownFields


def has_perm(codename: str) -> type[BasePermission]:
    """A DRF permission class that requires the Django permission `codename`."""

    class HasPerm(BasePermission):
        def has_permission(self, request, view):
            return bool(request.user and request.user.is_authenticated
                        and request.user.has_perm(codename))

    HasPerm.__name__ = f"HasPerm[{codename}]"
    return HasPerm


class StaffOutputSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "email", "phone", "role", "is_active",
                  "last_login", "date_joined"]

    def get_role(self, user: User) -> str | None:
        role = user.role
        return role.value if role else None


class TokenObtainApi(APIView):
    """Exchange a username and password for an API token."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get_authenticate_header(self, request) -> str:
        return "Token"

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        username = serializers.CharField()
        password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        operation_id="auth_token_obtain", request=InputSerializer, auth=[],
        responses={200: OutputSerializer, 429: OpenApiResponse(description=(
            "Too many failed attempts for this account or address: wait and try again (throttled)."))},
        examples=[OpenApiExample("Sign in", request_only=True, value={"username": "frontdesk",
                                                                      "password": "Demo-pass-2025"}),
                  OpenApiExample("The token", response_only=True,
                                 value={"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"})])
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        try:
            sign_in_check(request=request, identifier=username)
        except SignInRefused as refusal:
            raise Throttled(wait=refusal.retry_after, detail=refusal.message) from None
        user = authenticate(request, username=username, password=serializer.validated_data["password"])
        sign_in_record(request=request, identifier=username, succeeded=user is not None)
        if user is None:
            raise AuthenticationFailed(_("Username or password is wrong."))
        token, _created = Token.objects.get_or_create(user=user)
        return Response(self.OutputSerializer({"token": token.key}).data)


class MeApi(APIView):
    @extend_schema(responses={200: StaffOutputSerializer})
    def get(self, request):
        return Response(StaffOutputSerializer(request.user).data)


class StaffListApi(APIView):
    permission_classes = [has_perm("accounts.manage_staff")]

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        username = serializers.CharField(max_length=150)
        email = serializers.EmailField()
        full_name = serializers.CharField(max_length=150)
        phone = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)
        role = serializers.ChoiceField(choices=Role.choices, required=False, default=DEFAULT_INVITE_ROLE.value,
                                       help_text="The least privileged role (front_desk) unless given.")

    @extend_schema(responses={200: StaffOutputSerializer(many=True)})
    def get(self, request):
        return Response(StaffOutputSerializer(staff_list(), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: StaffOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = staff_create(actor=request.user, role=Role(data.pop("role")), **data)
        return Response(StaffOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class StaffUpdateApi(APIView):
    """Change a staff member's role, or deactivate / reactivate the account."""

    permission_classes = [has_perm("accounts.manage_staff")]

    class InputSerializer(RefuseUnknownFields, serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.choices, required=False)
        is_active = serializers.BooleanField(required=False)

    @extend_schema(responses={200: StaffOutputSerializer})
    def get(self, request, pk: int):
        return Response(StaffOutputSerializer(get_object_or_404(User, pk=pk)).data)

    @extend_schema(request=InputSerializer, responses={200: StaffOutputSerializer})
    def patch(self, request, pk: int):
        user = get_object_or_404(User, pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        staff_update(user=user, actor=request.user, is_active=data.get("is_active"),
                     role=Role(data["role"]) if "role" in data else None)
        user.refresh_from_db()
        return Response(StaffOutputSerializer(user).data)
