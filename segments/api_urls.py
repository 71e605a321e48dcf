from django.urls import path

from segments import api

urlpatterns = [
    path("", api.SegmentListApi.as_view(), name="api-segments"),
    path("preview/", api.SegmentPreviewApi.as_view(), name="api-segments-preview"),
    path("<int:pk>/", api.SegmentDetailApi.as_view(), name="api-segment"),
    path("<int:pk>/count/", api.SegmentCountApi.as_view(), name="api-segment-count"),
    path("<int:pk>/members/", api.SegmentMembersApi.as_view(), name="api-segment-members"),
]
