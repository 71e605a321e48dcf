from django.urls import path

from tiers import api

urlpatterns = [
    path("", api.TierListApi.as_view(), name="api-tiers"),
    path("<int:pk>/", api.TierDetailApi.as_view(), name="api-tier"),
    path("programme/", api.TierProgrammeDetailApi.as_view(), name="api-tier-programme"),
    path("members/<int:pk>/", api.MemberTierDetailApi.as_view(), name="api-member-tier"),
    path("members/<int:pk>/set/", api.MemberTierSetApi.as_view(), name="api-member-tier-set"),
]
