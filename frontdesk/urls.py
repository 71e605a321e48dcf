from django.urls import path

from frontdesk import views

app_name = "frontdesk"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("settings/jobs/", views.JobRunListView.as_view(), name="job_runs"),
]
