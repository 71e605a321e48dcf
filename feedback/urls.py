from django.urls import path

from feedback import recall_views, views

app_name = "feedback"

urlpatterns = [
    path("", views.FollowUpQueueView.as_view(), name="queue"),
    path("<int:pk>/", views.FollowUpDetailView.as_view(), name="task"),
    path("<int:pk>/assign/", views.FollowUpAssignView.as_view(), name="assign"),
    path("recalls/", recall_views.RecallListView.as_view(), name="recalls"),
    path("complaints/", views.ComplaintListView.as_view(), name="complaints"),
    path("complaints/<int:pk>/", views.ComplaintDetailView.as_view(), name="complaint"),
    path("members/<int:pk>/new/", views.FollowUpCreateView.as_view(), name="create"),
]
