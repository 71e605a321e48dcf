from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
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
