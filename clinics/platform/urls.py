from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.views import ProtectedLoginView
from clinics.platform import views

app_name = "platform"

urlpatterns = [
    path("", views.ClinicListView.as_view(), name="clinic_list"),
    path("login/", ProtectedLoginView.as_view(template_name="platform/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="platform:login"), name="logout"),
    path("clinics/new/", views.ClinicCreateView.as_view(), name="clinic_create"),
    path("clinics/<int:pk>/", views.ClinicDetailView.as_view(), name="clinic_detail"),
    path("jobs/", views.JobRunListView.as_view(), name="job_run_list"),
]
