from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.forms import ThrottledLoginForm
from clinics import views

app_name = "platform"

urlpatterns = [
    path("", views.ClinicListView.as_view(), name="clinic_list"),
    path("login/", auth_views.LoginView.as_view(template_name="platform/login.html",
                                                authentication_form=ThrottledLoginForm,
                                                redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="platform:login"), name="logout"),
    path("clinics/new/", views.ClinicCreateView.as_view(), name="clinic_create"),
    path("clinics/<int:pk>/", views.ClinicDetailView.as_view(), name="clinic_detail"),
    path("jobs/", views.JobRunListView.as_view(), name="job_run_list"),
]
