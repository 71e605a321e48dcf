from django.urls import path

from campaigns import api

urlpatterns = [
    path("birthday-offer/", api.BirthdayOfferApi.as_view(), name="api-birthday-offer"),
    path("settings/", api.CampaignSettingsApi.as_view(), name="api-campaign-settings"),
    path("sms-replies/", api.SmsReplyWebhookApi.as_view(), name="api-campaign-sms-replies"),
    path("", api.CampaignListApi.as_view(), name="api-campaigns"),
    path("<int:pk>/", api.CampaignDetailApi.as_view(), name="api-campaign"),
    path("<int:pk>/preview/", api.CampaignPreviewApi.as_view(), name="api-campaign-preview"),
    path("<int:pk>/launch/", api.CampaignLaunchApi.as_view(), name="api-campaign-launch"),
    path("<int:pk>/cancel/", api.CampaignCancelApi.as_view(), name="api-campaign-cancel"),
    path("<int:pk>/results/", api.CampaignResultsApi.as_view(), name="api-campaign-results"),
    path("members/<int:pk>/offers/", api.MemberCampaignOffersApi.as_view(), name="api-member-campaign-offers"),
]
