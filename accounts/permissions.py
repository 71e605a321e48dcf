"""Checks a write service makes on the staff member acting, when one is given."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.models import User

MANAGE_SETTINGS = "accounts.manage_settings"


def settings_change_check(actor: User | None) -> None:
    """Refuse a settings change by a staff member without the settings permission. `None` is the
    system itself (provisioning, imports, demo data), which may."""
    if actor is not None and not actor.has_perm(MANAGE_SETTINGS):
        raise PermissionDenied(_("Only owners and managers may change the clinic's settings."))
