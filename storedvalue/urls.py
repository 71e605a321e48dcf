from django.urls import path

from storedvalue import api

urlpatterns = [
    path("settings/", api.StoredValueSettingsApi.as_view(), name="api-stored-value-settings"),
    path("plans/", api.PlanListApi.as_view(), name="api-stored-value-plans"),
    path("plans/<int:pk>/", api.PlanDetailApi.as_view(), name="api-stored-value-plan"),
    path("members/<int:pk>/", api.MemberCardApi.as_view(), name="api-stored-value-card"),
    path("members/<int:pk>/top-ups/", api.MemberTopUpsApi.as_view(), name="api-stored-value-top-ups"),
    path("members/<int:pk>/cash-out/", api.MemberCashOutApi.as_view(), name="api-stored-value-cash-out"),
    path("liability/", api.LiabilityApi.as_view(), name="api-stored-value-liability"),
]
