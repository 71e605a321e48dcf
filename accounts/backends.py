"""Authentication: Django's ModelBackend, with a user's permissions (their own and their role's)
read in one query instead of two, since every view and API call checks them; and DRF's token
authentication, which reads those permissions in the same query as the token and its user."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef, Q, Value
from django.db.models.functions import Concat
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


class StaffBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            permissions = Permission.objects.all()
            if not user_obj.is_superuser:
                permissions = permissions.filter(Q(user=user_obj) | Q(group__user=user_obj))
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in
                                    permissions.values_list("content_type__app_label", "codename")}
        return user_obj._perm_cache


def _held_permission_names() -> ArraySubquery:
    """The "app_label.codename" of every permission the token's user holds, themselves or by
    their role (group): the same set StaffBackend reads."""
    user = OuterRef("user_id")
    return ArraySubquery(Permission.objects.filter(Q(user=user) | Q(group__user=user)).values(
        permission_name=Concat("content_type__app_label", Value("."), "codename")))


class StaffTokenAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication, with the user's permissions read in the same query as the token
    (one query per API call instead of two). A superuser's come from StaffBackend as before."""

    def authenticate_credentials(self, key):
        token = (Token.objects.select_related("user").annotate(permission_names=_held_permission_names())
                 .filter(key=key).first())
        if token is None or not token.user.is_active:
            return super().authenticate_credentials(key)  # refuses, with DRF's own message
        user = token.user
        if not user.is_superuser:
            user._perm_cache = set(token.permission_names)
        return user, token
