"""Authentication: Django's ModelBackend, with a user's permissions (their own and their role's)
read in one query instead of two, since every view and API call checks them; and DRF's token
authentication, which reads the token, its user and those permissions in one plain query."""

import functools

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from accounts.models import User
from clinic_loyalty.database import statements_prepared


@functools.cache
def _held_permissions_sql(user_id: str) -> str:
    """An SQL array of the "app_label.codename" of every permission the user whose id is the
    expression `user_id` holds, themselves or by their role (group)."""
    user_permissions = User.user_permissions.through._meta.db_table
    user_groups = User.groups.through._meta.db_table
    group_permissions = Group.permissions.through._meta.db_table
    # Table names from the models; `user_id` is this module's own "%s" or "u.id", never input.
    return f"""ARRAY(
            SELECT ct.app_label || '.' || p.codename
            FROM {Permission._meta.db_table} p JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id
            WHERE p.id IN (
                SELECT up.permission_id FROM {user_permissions} up WHERE up.user_id = {user_id}
                UNION ALL
                SELECT gp.permission_id FROM {group_permissions} gp
                JOIN {user_groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = {user_id}))"""  # noqa: S608


class StaffBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in
                                        Permission.objects.values_list("content_type__app_label", "codename")}
            else:
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT {_held_permissions_sql('%s')}", [user_obj.pk, user_obj.pk])
                    user_obj._perm_cache = set(cursor.fetchone()[0])
        return user_obj._perm_cache


@functools.cache
def _token_sql() -> str:
    """The token's user with the permissions they hold: the same set StaffBackend reads. The user's
    columns are named, not `u.*`: a prepared statement must keep its result's columns when a
    migration adds one."""
    return f"""
        SELECT {", ".join(f"u.{field.column}" for field in User._meta.concrete_fields)},
               t.created AS token_created, {_held_permissions_sql("u.id")} AS permission_names
        FROM {Token._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id
        WHERE t.key = %s"""  # noqa: S608 - table names from the models, the key a parameter


class StaffTokenAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication in one query per API call instead of two: the token, its user and
    the user's permissions together (a superuser's come from StaffBackend as before). Nothing is
    kept between calls, so a role change or a deactivation applies to the next call."""

    def authenticate_credentials(self, key):
        with statements_prepared():  # a lookup by key, on every API call
            user = next(iter(User.objects.raw(_token_sql(), [key])), None)
        if user is None or not user.is_active:
            return super().authenticate_credentials(key)  # refuses, with DRF's own message
        token = Token(key=key, user=user, created=user.token_created)
        if not user.is_superuser:
            user._perm_cache = set(user.permission_names)
        return user, token
