from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import views
from accounts.forms import StaffPasswordResetForm

app_name = "accounts"

urlpatterns = [
    path("login/", views.ProtectedLoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(
        form_class=StaffPasswordResetForm,
        template_name="accounts/password_reset.html",
        email_template_name="emails/password_reset.txt",
        subject_template_name="emails/password_reset_subject.txt",
        success_url=reverse_lazy("accounts:password_reset_done")), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name="accounts/password_reset_done.html"), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(
        template_name="accounts/password_reset_confirm.html",
        success_url=reverse_lazy("accounts:password_reset_complete")),
        name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(
        template_name="accounts/password_reset_complete.html"), name="password_reset_complete"),
    path("staff/", views.StaffListView.as_view(), name="staff_list"),
    path("staff/invite/", views.StaffInviteView.as_view(), name="staff_invite"),
    path("staff/<int:pk>/", views.StaffDetailView.as_view(), name="staff_detail"),
    path("sign-ins/", views.SignInAuditView.as_view(), name="sign_in_audit"),
]
