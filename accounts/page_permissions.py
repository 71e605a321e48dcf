"""The permission check of staff pages, the same in every app."""

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied


class PermissionRequired(LoginRequiredMixin, PermissionRequiredMixin):
    """A page that needs `permission_required`: a visitor goes to the login page, a signed-in staff
    member without the permission gets 403."""

    def handle_no_permission(self):
        if self.request.user.is_authenticated:
            raise PermissionDenied
        return super().handle_no_permission()
