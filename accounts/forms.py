import unicodedata

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.utils.translation import gettext_lazy as _

from accounts.login_throttle import login_failure_record, login_is_locked, login_success_record
from accounts.models import User


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


def _same_email(a: str, b: str) -> bool:
    return unicodedata.normalize("NFKC", a).casefold() == unicodedata.normalize("NFKC", b).casefold()


class StaffPasswordResetForm(PasswordResetForm):
    """The standard reset form, also for invited staff who have not chosen a password yet: an
    expired invitation is renewed by asking for a reset link."""

    def get_users(self, email):
        active = User.objects.filter(email__iexact=email, is_active=True)
        return (user for user in active if _same_email(email, user.email))
