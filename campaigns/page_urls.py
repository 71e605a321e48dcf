from django.urls import path

from campaigns import page_views

app_name = "campaigns"

urlpatterns = [
    path("", page_views.CampaignListView.as_view(), name="list"),
    path("calendar/", page_views.CampaignCalendarView.as_view(), name="calendar"),
    path("new/", page_views.CampaignFormView.as_view(), name="create"),
    path("<int:pk>/", page_views.CampaignDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", page_views.CampaignFormView.as_view(), name="edit"),
    path("<int:pk>/launch/", page_views.CampaignLaunchView.as_view(), name="launch"),
    path("<int:pk>/cancel/", page_views.CampaignCancelView.as_view(), name="cancel"),
]
