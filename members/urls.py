from django.urls import path

from members import api

urlpatterns = [
    path("", api.MemberListApi.as_view(), name="api-members"),
    path("<int:pk>/", api.MemberDetailApi.as_view(), name="api-member"),
    path("<int:pk>/status/", api.MemberArchiveApi.as_view(), name="api-member-status"),
    path("<int:pk>/consents/", api.MemberConsentApi.as_view(), name="api-member-consents"),
    path("<int:pk>/tags/", api.MemberTagsApi.as_view(), name="api-member-tags"),
    path("<int:pk>/medical/", api.MemberMedicalApi.as_view(), name="api-member-medical"),
    path("<int:pk>/export/", api.MemberExportApi.as_view(), name="api-member-export"),
    path("<int:pk>/merge/", api.MemberMergeApi.as_view(), name="api-member-merge"),
    path("<int:pk>/erase/", api.MemberEraseApi.as_view(), name="api-member-erase"),
]
