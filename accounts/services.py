"""Writes to staff accounts and roles, and lifting sign-in lockouts. Every change records who made it."""

import ipaddress
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts import tasks
from accounts.models import SignInAlert, SignInAttempt, SignInLift, StaffEvent, User
from accounts.roles import ASSIGNABLE_ROLES, ROLE_PERMISSIONS, Role
from accounts.selectors import sign_in_alert_recipients
from accounts.sign_in_guard import identifier_normalize
from audit.services import audited
from clinics.context import clinic_url, current_clinic


def roles_sync() -> None:
    """Create the role groups of the current clinic and give each exactly its permissions."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role.value)
        wanted = set()
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)


def _check_may_assign(*, actor: User | None, role: Role) -> None:
    if actor is None:
        return
    actor_role = actor.role
    if actor_role is None or role not in ASSIGNABLE_ROLES.get(actor_role, set()):
        raise PermissionDenied(_("You may not give the role “%(role)s”.") % {"role": role.label})


def _set_role(user: User, role: Role) -> None:
    user.groups.set([Group.objects.get(name=role.value)])


STAFF_AUDIT_FIELDS = ("username", "full_name", "email", "is_active")


def _staff_audited(actor: User | None, user: User):
    """Staff changes go to the settings audit log too, with the role as a value."""
    return audited(actor=actor, obj=user, fields=STAFF_AUDIT_FIELDS,
                   extra=lambda staff: {"role": staff.role.value if staff.role else None})


def _owners_left_after(user: User) -> int:
    return (User.objects.filter(is_active=True, groups__name=Role.OWNER.value)
            .exclude(pk=user.pk).count())


@transaction.atomic
def staff_create(*, username: str, email: str, full_name: str, role: Role,
                 password: str | None = None, phone: str = "", actor: User | None = None) -> User:
    """Create a staff account. Without a password, the person is sent an invitation to set one."""
    _check_may_assign(actor=actor, role=role)
    user = User(username=username.strip(), email=email.strip().lower(),
                full_name=full_name.strip(), phone=phone.strip())
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    if user.email and User.objects.filter(email__iexact=user.email).exists():
        raise ValidationError({"email": _("Another staff account already uses this email address.")})
    user.full_clean()
    with _staff_audited(actor, user):
        user.save()
        _set_role(user, role)
    StaffEvent.objects.create(user=user, actor=actor, kind=StaffEvent.Kind.INVITED,
                              detail=role.value)
    if not password and user.email:
        tasks.staff_invitation_send.delay_on_commit(user.pk)
    return user


def staff_invitation_send(*, user: User) -> None:
    clinic = current_clinic()
    token = default_token_generator.make_token(user)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = clinic_url(clinic, reverse("accounts:password_reset_confirm",
                                      kwargs={"uidb64": uid, "token": token}))
    context = {"user": user, "clinic": clinic, "link": link}
    subject = _("You are invited to %(clinic)s on Clinic Loyalty") % {"clinic": clinic.name}
    send_mail(subject, render_to_string("emails/staff_invitation.txt", context),
              None, [user.email])


@transaction.atomic
def staff_change_role(*, user: User, role: Role, actor: User) -> User:
    _check_may_assign(actor=actor, role=role)
    current = user.role
    if current == Role.OWNER and actor.role != Role.OWNER:
        raise PermissionDenied(_("Only an owner may change an owner's role."))
    if current == Role.OWNER and role != Role.OWNER and _owners_left_after(user) == 0:
        raise ValidationError(_("A clinic needs at least one active owner."))
    if current != role:
        with _staff_audited(actor, user):
            _set_role(user, role)
        StaffEvent.objects.create(user=user, actor=actor, kind=StaffEvent.Kind.ROLE_CHANGED,
                                  detail=f"{current.value if current else ''} → {role.value}")
    return user


@transaction.atomic
def staff_deactivate(*, user: User, actor: User) -> User:
    if user.pk == actor.pk:
        raise ValidationError(_("You cannot deactivate your own account."))
    if user.role == Role.OWNER:
        if actor.role != Role.OWNER:
            raise PermissionDenied(_("Only an owner may deactivate an owner."))
        if _owners_left_after(user) == 0:
            raise ValidationError(_("A clinic needs at least one active owner."))
    if user.is_active:
        with _staff_audited(actor, user):
            user.is_active = False
            user.save(update_fields=["is_active"])
        Token.objects.filter(user=user).delete()
        StaffEvent.objects.create(user=user, actor=actor, kind=StaffEvent.Kind.DEACTIVATED)
    return user


@transaction.atomic
def staff_update(*, user: User, actor: User, role: Role | None = None,
                 is_active: bool | None = None) -> User:
    """Change a staff member's role and whether the account is active: all of it, or nothing."""
    if role is not None:
        staff_change_role(user=user, role=role, actor=actor)
    if is_active is False:
        staff_deactivate(user=user, actor=actor)
    elif is_active is True:
        staff_reactivate(user=user, actor=actor)
    return user


@transaction.atomic
def staff_reactivate(*, user: User, actor: User) -> User:
    if user.role == Role.OWNER and actor.role != Role.OWNER:
        raise PermissionDenied(_("Only an owner may reactivate an owner."))
    if not user.is_active:
        with _staff_audited(actor, user):
            user.is_active = True
            user.save(update_fields=["is_active"])
        StaffEvent.objects.create(user=user, actor=actor, kind=StaffEvent.Kind.REACTIVATED)
    return user


@transaction.atomic
def sign_in_lockout_lift(*, actor: str, identifier: str = "", address: str | None = None,
                         reason: str = "") -> SignInLift:
    """Lift a lockout: the failures counted for this identifier, this address, or the two
    together stop counting. Recorded with who lifted it and why."""
    identifier = identifier_normalize(identifier)
    address = (address or "").strip() or None
    if not identifier and address is None:
        raise ValidationError(_("Name a username, an address, or both."))
    if address is not None:
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError as exc:
            raise ValidationError({"address": _("“%(value)s” is not an IP address.") % {"value": address}}) from exc
    failures = SignInAttempt.objects.filter(succeeded=False, cleared_at__isnull=True)
    if identifier:
        failures = failures.filter(identifier=identifier)
    if address is not None:
        failures = failures.filter(address=address)
    cleared = failures.update(cleared_at=timezone.now(), cleared_by=actor[:150])
    return SignInLift.objects.create(identifier=identifier, address=address, failures_cleared=cleared,
                                     actor=actor[:150], reason=reason.strip()[:255])


def sign_in_alert_send(*, alert: SignInAlert) -> None:
    """Email the owners (on the platform, the operators) that an identifier is being guessed."""
    recipients = sign_in_alert_recipients()
    if not recipients:
        return
    clinic = current_clinic()
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    failures = SignInAttempt.objects.filter(identifier=alert.identifier, succeeded=False, created_at__gte=since)
    counts = failures.aggregate(failures=Count("id"), addresses=Count("address", distinct=True))
    with translation.override(clinic.language if clinic else settings.LANGUAGE_CODE):
        context = {"alert": alert, "clinic": clinic, "failures": counts["failures"], "addresses": counts["addresses"],
                   "minutes": settings.LOGIN_FAILURE_WINDOW_SECONDS // 60,
                   "delay_max": settings.LOGIN_ACCOUNT_DELAY_MAX_SECONDS,
                   "link": clinic_url(clinic, reverse("accounts:sign_in_audit")) if clinic else ""}
        subject = _("Many failed sign-ins for “%(identifier)s”") % {"identifier": alert.identifier}
        send_mail(subject, render_to_string("emails/sign_in_alert.txt", context), None, recipients)


def sign_in_attempts_prune() -> int:
    """Delete failures older than SIGN_IN_RECORD_DAYS and successes older than
    LOGIN_KNOWN_ADDRESS_DAYS (they only tell which addresses are known), and old alerts."""
    now = timezone.now()
    failures_before = now - timedelta(days=settings.SIGN_IN_RECORD_DAYS)
    known_before = now - timedelta(days=settings.LOGIN_KNOWN_ADDRESS_DAYS)
    deleted, _detail = SignInAttempt.objects.filter(
        Q(succeeded=False, created_at__lt=failures_before) | Q(succeeded=True, created_at__lt=known_before)).delete()
    SignInAlert.objects.filter(created_at__lt=failures_before).delete()
    return deleted
