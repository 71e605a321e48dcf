"""Staff management pages for owners and managers."""

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View

from accounts.forms import ThrottledLoginForm
from accounts.models import User
from accounts.page_permissions import PermissionRequired
from accounts.roles import DEFAULT_INVITE_ROLE, Role
from accounts.selectors import sign_in_failure_list, sign_in_lift_list, sign_in_lockout_list, staff_history, staff_list
from accounts.services import sign_in_lockout_lift, staff_change_role, staff_create, staff_deactivate, staff_reactivate
from clinic_loyalty.form_errors import apply_validation_error


class ProtectedLoginView(auth_views.LoginView):
    """Django's login view with the sign-in guard's form: a refused attempt is answered with 429
    and Retry-After, the form showing why and how long to wait."""

    authentication_form = ThrottledLoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.refusal is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.refusal.retry_after)
        return response


class StaffManagerRequired(PermissionRequired):
    permission_required = "accounts.manage_staff"
    raise_exception = False


class StaffInviteForm(forms.Form):
    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=150)
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    email = forms.EmailField(label=gettext_lazy("Email"),
                             help_text=gettext_lazy("The invitation to set a password goes here."))
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=32, required=False)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices, initial=DEFAULT_INVITE_ROLE)


class StaffRoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)


class StaffListView(StaffManagerRequired, View):
    def get(self, request):
        return render(request, "accounts/staff_list.html", {"staff": staff_list()})


class StaffInviteView(StaffManagerRequired, View):
    def get(self, request):
        return render(request, "accounts/staff_invite.html", {"form": StaffInviteForm()})

    def post(self, request):
        form = StaffInviteForm(request.POST)
        if form.is_valid():
            try:
                user = staff_create(actor=request.user, role=Role(form.cleaned_data["role"]),
                                    **{k: v for k, v in form.cleaned_data.items() if k != "role"})
            except ValidationError as exc:
                apply_validation_error(form, exc)
            except PermissionDenied as exc:
                form.add_error("role", str(exc))
                return render(request, "accounts/staff_invite.html", {"form": form}, status=403)
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": user.email})
                return redirect("accounts:staff_list")
        return render(request, "accounts/staff_invite.html", {"form": form}, status=400)


class StaffDetailView(StaffManagerRequired, View):
    def _render(self, request, member: User, form: StaffRoleForm | None = None, *,
                errors: list[str] | None = None, status: int = 200):
        if form is None:
            role = member.role
            form = StaffRoleForm(initial={"role": role.value if role else None})
        context = {"member": member, "form": form, "errors": errors or [],
                   "history": staff_history(user=member)}
        return render(request, "accounts/staff_detail.html", context, status=status)

    def get(self, request, pk: int):
        return self._render(request, get_object_or_404(User, pk=pk))

    def post(self, request, pk: int):
        member = get_object_or_404(User, pk=pk)
        action = request.POST.get("action")
        try:
            if action == "role":
                form = StaffRoleForm(request.POST)
                if not form.is_valid():
                    return self._render(request, member, form, status=400)
                staff_change_role(user=member, role=Role(form.cleaned_data["role"]), actor=request.user)
                messages.success(request, _("Role changed."))
            elif action == "deactivate":
                staff_deactivate(user=member, actor=request.user)
                messages.success(request, _("Account deactivated."))
            elif action == "reactivate":
                staff_reactivate(user=member, actor=request.user)
                messages.success(request, _("Account reactivated."))
            else:
                return self._render(request, member, errors=[_("Unknown action.")], status=400)
        except PermissionDenied as exc:
            return self._render(request, member, errors=[str(exc)], status=403)
        except ValidationError as exc:
            return self._render(request, member, errors=exc.messages, status=400)
        return redirect("accounts:staff_detail", pk=member.pk)


class SignInLiftForm(forms.Form):
    identifier = forms.CharField(label=gettext_lazy("Username"), max_length=254, required=False)
    address = forms.GenericIPAddressField(label=gettext_lazy("IP address"), required=False)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=255, required=False)

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("identifier") and not cleaned.get("address"):
            raise forms.ValidationError(_("Name a username, an address, or both."))
        return cleaned


class SignInAuditView(StaffManagerRequired, View):
    """Sign-in lockouts in force, recent failed sign-ins and lifted lockouts; lifting one."""

    def _render(self, request, form: SignInLiftForm | None = None, status: int = 200):
        context = {"lockouts": sign_in_lockout_list(), "failures": sign_in_failure_list(),
                   "lifts": sign_in_lift_list(), "form": form or SignInLiftForm()}
        return render(request, "accounts/sign_in_audit.html", context, status=status)

    def get(self, request):
        return self._render(request)

    def post(self, request):
        form = SignInLiftForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        data = form.cleaned_data
        try:
            lift = sign_in_lockout_lift(actor=request.user.username, identifier=data["identifier"],
                                        address=data["address"] or None, reason=data["reason"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
            return self._render(request, form, status=400)
        messages.success(request, ngettext("Lockout lifted: %(count)d failed sign-in no longer counts.",
                                           "Lockout lifted: %(count)d failed sign-ins no longer count.",
                                           lift.failures_cleared) % {"count": lift.failures_cleared})
        return redirect("accounts:sign_in_audit")
