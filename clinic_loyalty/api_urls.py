"""/api/v1/: one router for every app's API."""

from django.urls import include, path

from accounts import api as accounts_api
from audit import api as audit_api
from points import api as points_api
from recommendations import api as recommendations_api
from visits import api as visits_api

urlpatterns = [
    path("auth/token/", accounts_api.TokenObtainApi.as_view(), name="api-token"),
    path("me/", accounts_api.MeApi.as_view(), name="api-me"),
    path("staff/", accounts_api.StaffListApi.as_view(), name="api-staff-list"),
    path("staff/<int:pk>/", accounts_api.StaffUpdateApi.as_view(), name="api-staff-detail"),
    path("members/", include("members.urls")),
    path("tiers/", include("tiers.urls")),
    path("members/<int:pk>/visits/", visits_api.MemberVisitsApi.as_view(), name="api-member-visits"),
    path("members/<int:pk>/referrals/", points_api.MemberReferralsApi.as_view(), name="api-member-referrals"),
    path("members/<int:pk>/recommendations/", recommendations_api.MemberRecommendationsApi.as_view(),
         name="api-member-recommendations"),
    path("catalogue/items/<int:pk>/related/", recommendations_api.ItemRelatedApi.as_view(), name="api-item-related"),
    path("catalogue/", include("visits.urls")),
    path("visits/", include("checkout.urls")),
    path("imports/", include("imports.urls")),
    path("points/", include("points.urls")),
    path("packages/", include("packages.urls")),
    path("stored-value/", include("storedvalue.urls")),
    path("appointments/", include("appointments.urls")),
    path("messaging/", include("messaging.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("kpis/", include("insights.urls")),
    path("feedback/", include("feedback.api_urls")),
    path("audit/settings-changes/", audit_api.SettingsChangeListApi.as_view(), name="api-audit-settings-changes"),
    path("segments/", include("segments.api_urls")),
]
