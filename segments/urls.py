from django.urls import path

from segments import views

app_name = "segments"

urlpatterns = [
    path("", views.SegmentListView.as_view(), name="list"),
    path("new/", views.SegmentEditView.as_view(), name="create"),
    path("row/", views.SegmentRowView.as_view(), name="row"),
    path("preview/", views.SegmentPreviewView.as_view(), name="preview"),
    path("<int:pk>/", views.SegmentEditView.as_view(), name="edit"),
    path("<int:pk>/count/", views.SegmentCountView.as_view(), name="count"),
    path("<int:pk>/archive/", views.SegmentArchiveView.as_view(), name="archive"),
    path("<int:pk>/export.csv", views.SegmentExportView.as_view(), name="export"),
]
