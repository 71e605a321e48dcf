from django.urls import path

from insights import api

urlpatterns = [
    path("summary/", api.SummaryApi.as_view(), name="api-kpi-summary"),
    path("series/", api.SeriesApi.as_view(), name="api-kpi-series"),
    path("cohorts/", api.CohortsApi.as_view(), name="api-kpi-cohorts"),
    path("rfm/", api.RfmApi.as_view(), name="api-kpi-rfm"),
    path("tiers/", api.TiersApi.as_view(), name="api-kpi-tiers"),
    path("points/", api.PointsApi.as_view(), name="api-kpi-points"),
    path("referrals/", api.ReferralsApi.as_view(), name="api-kpi-referrals"),
    path("appointments/", api.AppointmentsApi.as_view(), name="api-kpi-appointments"),
    path("satisfaction/", api.SatisfactionApi.as_view(), name="api-kpi-satisfaction"),
    path("campaigns/", api.CampaignsApi.as_view(), name="api-kpi-campaigns"),
    path("stored-value/", api.StoredValueApi.as_view(), name="api-kpi-stored-value"),
    path("members/", api.SegmentApi.as_view(), name="api-kpi-members"),
    path("clv/", api.PredictiveClvApi.as_view(), name="api-kpi-clv"),
    path("clv/members/", api.PredictiveClvMembersApi.as_view(), name="api-kpi-clv-members"),
]
