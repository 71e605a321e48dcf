from django.urls import path, re_path

from imports import api
from imports.models import ImportRun

urlpatterns = [
    path("", api.ImportRunListApi.as_view(), name="api-imports"),
    path("<int:pk>/", api.ImportRunDetailApi.as_view(), name="api-import"),
    re_path(rf"^(?P<kind>{'|'.join(ImportRun.Kind.values)})/$", api.ImportCreateApi.as_view(),
            name="api-import-create"),
]
