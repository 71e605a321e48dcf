from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.login_throttle import login_failure_record, login_is_locked, login_success_record


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


class ThrottledLoginForm(AuthenticationForm):
    """The standard login form, refusing to check passwords while an account or address is
    locked out after repeated failures."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": _("Too many failed attempts. Please wait 15 minutes and try again, "
                    "or reset your password."),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = client_ip(self.request)
        if login_is_locked(username=username, ip=ip):
            raise forms.ValidationError(self.error_messages["locked"], code="locked")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            login_failure_record(username=username, ip=ip)
            raise
        login_success_record(username=username, ip=ip)
        return cleaned
