"""Staff roles. Each is a group of the same name in every clinic, with the permissions below."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    FRONT_DESK = "front_desk", _("Front desk")
    PRACTITIONER = "practitioner", _("Practitioner")


# Permissions that open members' health data or the clinic's administration. A role holding one of
# them is never the default for new staff, however few permissions it has otherwise.
SENSITIVE_PERMISSIONS = frozenset({"accounts.view_medical", "accounts.manage_staff", "accounts.manage_settings",
                                   "members.export_member", "points.approve_adjustment"})

# New staff get the least privileged role unless the inviter chooses another: the role with the
# fewest permissions among those holding no sensitive one. That is the front desk: a practitioner
# has fewer permissions but reads medical notes.
DEFAULT_INVITE_ROLE = Role.FRONT_DESK

# What the owner may do. The manager may do the same and also read medical notes; the owner does
# not (README, roles; docs/loyalty.md).
_OWNER = frozenset({
    "accounts.manage_staff",
    "accounts.manage_settings",
    "accounts.view_reports",
    "accounts.use_frontdesk",
    "members.manage_member",
    "members.export_member",
    "points.adjust_points",
    "points.approve_adjustment",
    "points.issue_coupon",
    "appointments.book_appointment",
    "appointments.attend_appointment",
    "appointments.manage_schedule",
    "feedback.resolve_complaint",
    "packages.refund_package",
    "storedvalue.cash_out_card",
})

ROLE_PERMISSIONS: dict[Role, set[str]] = {
    Role.OWNER: set(_OWNER),
    Role.MANAGER: set(_OWNER) | {"accounts.view_medical"},
    Role.FRONT_DESK: {"accounts.use_frontdesk", "points.adjust_points", "appointments.book_appointment",
                      "appointments.attend_appointment"},
    Role.PRACTITIONER: {"accounts.use_frontdesk", "accounts.view_medical", "appointments.attend_appointment"},
}

# Who may grant which role: an owner any; a manager every role but owner.
ASSIGNABLE_ROLES: dict[Role, set[Role]] = {
    Role.OWNER: set(Role),
    Role.MANAGER: {Role.MANAGER, Role.FRONT_DESK, Role.PRACTITIONER},
}
