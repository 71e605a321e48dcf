from django.urls import path, re_path

from insights import views

app_name = "insights"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("members/", views.SegmentMembersView.as_view(), name="members"),
    path("clv/members/", views.ClvMembersView.as_view(), name="clv_members"),
    re_path(r"^export/(?P<table>[a-z]+)\.(?P<fmt>csv|xlsx)$", views.ExportView.as_view(), name="export"),
]
