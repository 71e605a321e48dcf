from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role


class User(AbstractUser):
    """A staff member of one clinic (in its schema) or a platform operator (public schema)."""

    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(Lower("email"), condition=~models.Q(email=""),
                                    name="user_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def role(self) -> Role | None:
        names = {group.name for group in self.groups.all()}
        return next((role for role in Role if role.value in names), None)


class StaffPermission(models.Model):
    """Holds the clinic-wide permissions that belong to no single model; it has no table."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("manage_staff", _("Can invite staff, change roles and deactivate accounts")),
            ("manage_settings", _("Can change the clinic's settings")),
            ("view_medical", _("Can read members' medical notes")),
            ("view_reports", _("Can read KPI dashboards")),
            ("use_frontdesk", _("Can use the front desk")),
        ]


class StaffEvent(models.Model):
    """Append-only history of changes to staff accounts, with the acting user and reason."""

    class Kind(models.TextChoices):
        INVITED = "invited", _("Invited")
        ROLE_CHANGED = "role_changed", _("Role changed")
        DEACTIVATED = "deactivated", _("Deactivated")
        REACTIVATED = "reactivated", _("Reactivated")
        LOGIN_FAILED = "login_failed", _("Login failed")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class SignInAttempt(models.Model):
    """One sign-in attempt (staff form, API token, console, member portal code) by the identifier
    it named and the client address it came from. Failures that are not cleared count towards the
    limits of accounts/sign_in_guard.py; successes tell which addresses an identifier is known at."""

    identifier = models.CharField(max_length=254)
    address = models.GenericIPAddressField()
    succeeded = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now)
    # A failure stops counting once cleared: by a later sign-in from the same address (empty
    # cleared_by) or by a person lifting the lockout (their username).
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["identifier", "created_at"], name="signin_identifier_time"),
            models.Index(fields=["address", "created_at"], name="signin_address_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(cleared_at__isnull=True) | models.Q(succeeded=False),
                                   name="signin_only_failures_cleared"),
        ]


class SignInAlert(models.Model):
    """The owners were told of many failed sign-ins for an identifier: at most once per window."""

    identifier = models.CharField(max_length=254)
    window_start = models.DateTimeField()
    failures = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["identifier", "window_start"], name="signin_alert_once_per_window"),
        ]


class SignInLift(models.Model):
    """Append-only record of a lockout lifted by a person: what was lifted, by whom, and why."""

    identifier = models.CharField(max_length=254, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    failures_cleared = models.PositiveIntegerField()
    actor = models.CharField(_("actor"), max_length=150)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(identifier="") | models.Q(address__isnull=False),
                                   name="signin_lift_names_something"),
        ]
