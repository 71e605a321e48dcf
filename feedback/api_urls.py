from django.urls import path

from feedback import api

urlpatterns = [
    path("surveys/", api.SurveyListApi.as_view(), name="api-surveys"),
    path("surveys/<int:pk>/", api.SurveyDetailApi.as_view(), name="api-survey"),
    path("measures/", api.MeasuresApi.as_view(), name="api-feedback-measures"),
    path("followups/", api.FollowUpListApi.as_view(), name="api-followups"),
    path("followups/<int:pk>/", api.FollowUpDetailApi.as_view(), name="api-followup"),
    path("followups/<int:pk>/outcomes/", api.FollowUpOutcomeApi.as_view(), name="api-followup-outcomes"),
    path("recalls/", api.RecallOutcomeListApi.as_view(), name="api-feedback-recalls"),
]
