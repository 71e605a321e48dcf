import unicodedata

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from accounts.models import User
from accounts.sign_in_guard import SignInRefused, sign_in_check, sign_in_record


class ThrottledLoginForm(AuthenticationForm):
    """The standard login form (staff and console), behind the sign-in guard: while this username
    at this address, or this address, is locked out, the password is not checked. A refusal is
    kept in `refusal` so the view can answer 429 with Retry-After."""

    refusal: SignInRefused | None = None

    def clean(self):
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not username or not password:
            return super().clean()  # a missing field: nothing is checked, so nothing is counted
        try:
            sign_in_check(request=self.request, identifier=username)
        except SignInRefused as refusal:
            self.refusal = refusal
            raise forms.ValidationError(refusal.message_with_wait, code="locked") from None
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            sign_in_record(request=self.request, identifier=username, succeeded=False)
            raise
        sign_in_record(request=self.request, identifier=username, succeeded=True)
        return cleaned


def _same_email(a: str, b: str) -> bool:
    return unicodedata.normalize("NFKC", a).casefold() == unicodedata.normalize("NFKC", b).casefold()


class StaffPasswordResetForm(PasswordResetForm):
    """The standard reset form, also for invited staff who have not chosen a password yet: an
    expired invitation is renewed by asking for a reset link."""

    def get_users(self, email):
        active = User.objects.filter(email__iexact=email, is_active=True)
        return (user for user in active if _same_email(email, user.email))
